package dev.bertft.nn;

import dev.bertft.autograd.Var;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
    void unscaleDividesEveryGradientAndReportsNonFiniteOnes() {
        GradScaler s = new GradScaler();
        Var a = Var.parameter(CPU.zeros(DType.F32, 3)), b = Var.parameter(CPU.zeros(DType.F32, 2));
        a.setGrad(CPU.fromHost(new float[] {65536, -131072, 3}, DType.F32, 3));
        b.setGrad(CPU.fromHost(new float[] {1, 0}, DType.F32, 2));
        assertTrue(s.unscale(List.of(a, b)));
        assertArrayEquals(new float[] {1, -2, 3 / 65536f}, a.grad().toFloatArray());
        b.setGrad(CPU.fromHost(new float[] {Float.POSITIVE_INFINITY, 0}, DType.F32, 2));
        assertFalse(s.unscale(List.of(a, b)));
        b.setGrad(CPU.fromHost(new float[] {Float.NaN, 0}, DType.F32, 2));
        assertFalse(s.unscale(List.of(a, b)));
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
