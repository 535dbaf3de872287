package dev.bertft.nn;

import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** torch.cuda.amp.GradScaler's documented defaults: init_scale 2¹⁶, growth ×2 every 2,000 clean steps, backoff ×0.5 on inf/NaN. */
class GradScalerTest {
    private static final CpuBackend CPU = new CpuBackend(1);

    @Test
    void growsAfterTwoThousandCleanStepsAndBacksOffOnOverflow() {
        GradScaler s = new GradScaler();
        assertEquals(65536.0, s.scale());
        for (int i = 0; i < 1999; i++) s.update(true);
        assertEquals(65536.0, s.scale());
        s.update(true);
        assertEquals(131072.0, s.scale());
        assertEquals(0, s.state().growthTracker());
        for (int i = 0; i < 1500; i++) s.update(true);
        s.update(false);
        assertEquals(new GradScaler.State(65536.0, 0), s.state(), "backoff halves and restarts the count");
    }

    @Test
    void unscaleDividesEveryGradientExactlyAndKeepsAnOverflowNonFinite() {
        GradScaler s = new GradScaler();
        Tensor a = CPU.fromHost(new float[] {65536, -131072, 3, 0x1p-100f}, DType.F32, 4);
        Tensor b = CPU.fromHost(new float[] {Float.POSITIVE_INFINITY, Float.NaN}, DType.F32, 2);
        s.unscale(List.of(a, b));
        assertArrayEquals(new float[] {1, -2, 3 / 65536f, 0x1p-116f}, a.toFloatArray());
        assertEquals(Float.POSITIVE_INFINITY, b.toFloatArray()[0]);
        assertTrue(Float.isNaN(b.toFloatArray()[1]));
    }

    @Test
    void aRestoredStateMustBeAPositiveFiniteScale() {
        GradScaler s = new GradScaler();
        s.restore(new GradScaler.State(1024, 17));
        assertEquals(new GradScaler.State(1024, 17), s.state());
        assertThrows(IllegalArgumentException.class, () -> s.restore(new GradScaler.State(0, 0)));
        assertThrows(IllegalArgumentException.class, () -> s.restore(new GradScaler.State(Double.POSITIVE_INFINITY, 0)));
        assertThrows(IllegalArgumentException.class, () -> s.restore(new GradScaler.State(1, -1)));
    }
}
