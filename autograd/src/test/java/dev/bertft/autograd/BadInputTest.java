package dev.bertft.autograd;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Wrong shapes, dtypes and ids fail at once with an IllegalArgumentException whose one-line
 * message names the op and the offending shapes or values, before any kernel runs.
 */
class BadInputTest {
    private static final Backend CPU = new CpuBackend(2);

    private static Var param(int... shape) {
        return Var.parameter(CPU.zeros(DType.F32, shape));
    }

    /** Asserts the failure type and that the message contains every fragment, on one line. */
    private static void assertFails(Class<? extends Throwable> type, Executable call, String... fragments) {
        Throwable e = assertThrows(type, call);
        String m = e.getMessage();
        assertFalse(m == null || m.contains("\n"), "one-line message: " + m);
        for (String f : fragments) assertTrue(m.contains(f), "message '" + m + "' should mention '" + f + "'");
    }

    @Test
    void mismatchedShapes() {
        assertFails(IllegalArgumentException.class, () -> param(2, 3).add(param(4)), "add", "[2, 3]", "[4]", "broadcast");
        assertFails(IllegalArgumentException.class, () -> param(2, 3).mul(param(3, 3)), "mul", "[2, 3]", "[3, 3]");
        assertFails(IllegalArgumentException.class, () -> param(2, 3).matmul(param(4, 5)), "matmul", "[2, 3]", "[4, 5]");
        assertFails(IllegalArgumentException.class, () -> param(2, 3, 4).matmul(param(3, 4, 5)), "matmul", "[2, 3, 4]", "[3, 4, 5]");
        assertFails(IllegalArgumentException.class, () -> param(2, 3, 4).linear(param(5, 3), param(5)), "linear", "[2, 3, 4]", "[5, 3]");
        assertFails(IllegalArgumentException.class, () -> param(2, 4).linear(param(5, 4), param(4)), "linear", "[5, 4]", "[4]");
        assertFails(IllegalArgumentException.class, () -> param(6).reshape(4, -1), "reshape", "[6]", "[4, -1]");
        assertFails(IllegalArgumentException.class, () -> param(2, 3).narrow(1, 2, 2), "narrow", "[2, 3]");
        assertFails(IllegalArgumentException.class, () -> param(2, 3).permute(0, 0), "permute");
        assertFails(IllegalArgumentException.class, () -> param(2, 3).expand(4, 3), "expand", "[2, 3]", "[4, 3]");
        assertFails(IllegalArgumentException.class, () -> param(2, 3).transpose(0, 2), "axis 2", "[2, 3]");
        assertFails(IllegalArgumentException.class, () -> Var.concat(List.of(param(2, 3), param(3, 2)), 0), "concat", "[2, 3]", "[3, 2]");
        assertFails(IllegalArgumentException.class, () -> param(2, 5).split(1, 2, 2), "split", "5");
        assertFails(IllegalArgumentException.class, () -> param(2, 4).layerNorm(param(3), param(4), 1e-12),
                "layer_norm", "[3]", "[2, 4]");
        assertFails(IllegalArgumentException.class, () -> Tensor.of(CPU, new float[5], 2, 3), "5", "[2, 3]");
    }

    @Test
    void wrongDtypes() {
        Var f32 = param(2), f64 = Var.parameter(CPU.zeros(DType.F64, 2));
        Var ids = Var.constant(Tensor.of(CPU, new int[] {1, 2}, 2));
        assertFails(IllegalArgumentException.class, () -> f32.add(f64), "add", "F32", "F64");
        assertFails(IllegalArgumentException.class, () -> f32.unsqueeze(0).matmul(f64.unsqueeze(1)), "matmul", "F32", "F64");
        assertFails(IllegalArgumentException.class, () -> ids.exp(), "exp", "I32");
        assertFails(IllegalArgumentException.class, () -> ids.add(ids), "add", "I32");
        assertFails(IllegalArgumentException.class, () -> Var.embedding(param(5, 3), CPU.zeros(DType.F32, 2)), "embedding", "I32", "F32");
        assertFails(IllegalArgumentException.class, () -> param(2, 5).crossEntropy(CPU.zeros(DType.F32, 2), -100), "cross_entropy", "I32");
    }

    @Test
    void outOfRangeIdsAndLabels() {
        assertFails(IllegalArgumentException.class, () -> Var.embedding(param(5, 3), Tensor.of(CPU, new int[] {1, 4, 5}, 3)),
                "embedding", "id 5", "position 2", "[0, 5)");
        assertFails(IllegalArgumentException.class, () -> Var.embedding(param(5, 3), Tensor.of(CPU, new int[] {-1}, 1)),
                "embedding", "id -1");
        assertFails(IllegalArgumentException.class, () -> Var.embedding(param(5), Tensor.of(CPU, new int[] {0}, 1)), "embedding", "[5]");
        assertFails(IllegalArgumentException.class, () -> param(2, 5).crossEntropy(Tensor.of(CPU, new int[] {0, 7}, 2), -100),
                "cross_entropy", "label 7", "row 1", "[0, 5)");
        assertFails(IllegalArgumentException.class, () -> param(2, 5).crossEntropy(Tensor.of(CPU, new int[] {0, 1, 2}, 3), -100),
                "cross_entropy", "[2, 5]", "[3]");
    }

    @Test
    void backwardNeedsAScalarOrAMatchingSeed() {
        Var y = param(2, 3).matmul(param(3, 4));
        assertFails(IllegalArgumentException.class, y::backward, "backward", "matmul", "[2, 4]", "seed");
        assertFails(IllegalArgumentException.class, () -> y.backward(CPU.zeros(DType.F32, 4, 2)), "backward", "[4, 2]", "[2, 4]", "matmul");
        Var c = Var.constant(CPU.zeros(DType.F32, 1));
        assertFails(IllegalStateException.class, c::backward, "backward", "does not require a gradient");
        assertFails(IllegalArgumentException.class, () -> param(2).dropout(1.0, true, 1, 0), "dropout", "p");
    }

    @Test
    void aSecondBackwardThroughAFreedGraphFails() {
        Var x = Var.parameter(Tensor.of(CPU, new double[] {1, 2}, 2));
        Var loss = x.mul(x).sum();
        loss.backward();
        assertFails(IllegalStateException.class, loss::backward, "backward", "sum", "freed");
        // reusing a freed intermediate in a new graph would also cut x off from its gradient
        assertFails(IllegalStateException.class, () -> loss.mul(2.0).backward(), "backward", "freed");
        double[] g = x.grad().toDoubleArray();
        org.junit.jupiter.api.Assertions.assertArrayEquals(new double[] {2, 4}, g, 0.0, "the first backward's gradient is intact");
        // a fresh forward works as before and accumulates
        x.mul(x).sum().backward();
        org.junit.jupiter.api.Assertions.assertArrayEquals(new double[] {4, 8}, x.grad().toDoubleArray(), 0.0);
    }

    @Test
    void noGradModeRecordsNoGraph() {
        Var p = param(2, 2);
        Var y;
        try (GradMode off = GradMode.off()) {
            y = p.mul(p).sum();
        }
        assertTrue(GradMode.enabled(), "grad mode is restored on close");
        assertFalse(y.requiresGrad());
        assertFails(IllegalStateException.class, y::backward, "backward");
    }
}
