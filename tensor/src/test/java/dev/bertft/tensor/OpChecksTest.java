package dev.bertft.tensor;

import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The checks of {@link OpChecks} as a backend makes them: the same refusal from every op that reads the values. */
class OpChecksTest {
    private static final Backend CPU = new CpuBackend(1);

    @Test
    void crossEntropyAndItsBackwardRefuseTheSameLabel() {
        Tensor logits = CPU.zeros(DType.F32, 2, 5), labels = Tensor.of(CPU, new int[] {0, 5}, 2);
        String expected = "cross_entropy: label 5 at row 1 is outside [0, 5)";
        assertEquals(expected, assertThrows(IllegalArgumentException.class, () -> CPU.crossEntropy(logits, labels, -100, 0)).getMessage());
        assertEquals(expected, assertThrows(IllegalArgumentException.class,
                () -> CPU.crossEntropyBackward(logits, labels, -100, 0, CPU.full(DType.F32, new int[0], 1))).getMessage());
    }

    @Test
    void ignoredRowsDoNotCount() {
        assertEquals(2, OpChecks.countedLabels(new int[] {-100, 4, 0, -100}, 5, -100));
    }

    @Test
    void inPlaceDestinationsMustBeContiguousAndMatch() {
        Tensor dst = CPU.zeros(DType.F32, 3, 2).transpose(0, 1), src = CPU.zeros(DType.F32, 2, 3);
        assertThrows(IllegalArgumentException.class, () -> CPU.addInPlace(dst, src, 1));
        assertThrows(IllegalArgumentException.class, () -> CPU.copyInPlace(CPU.zeros(DType.F64, 2, 3), src));
    }
}
