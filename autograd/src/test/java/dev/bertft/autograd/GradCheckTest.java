package dev.bertft.autograd;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every differentiable Var op against central differences in float64 (torch.autograd.gradcheck's
 * eps 1e-6, atol 1e-5, rtol 1e-3), on contiguous inputs and on strided views: transposed,
 * narrowed and permuted slices of bigger tensors, and broadcast operands.
 */
class GradCheckTest {
    private static final Backend CPU = new CpuBackend(2);
    private final Random rng = new Random(1234);

    // ---- inputs -----------------------------------------------------------------------------

    /** Uniform in [lo, hi), contiguous. */
    private Tensor randIn(double lo, double hi, int... shape) {
        double[] d = new double[Tensor.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * rng.nextDouble();
        return Tensor.of(CPU, d, shape);
    }

    private Tensor rand(int... shape) {
        return randIn(-1, 1, shape);
    }

    /** A [.., a, b] view that is the transpose of a contiguous [.., b, a] tensor. */
    private Tensor transposedIn(double lo, double hi, int... shape) {
        int r = shape.length;
        int[] swapped = shape.clone();
        swapped[r - 1] = shape[r - 2];
        swapped[r - 2] = shape[r - 1];
        Tensor t = randIn(lo, hi, swapped).transpose(-1, -2);
        assertTrue(!t.isContiguous() || Tensor.numel(shape) <= 1);
        return t;
    }

    private Tensor transposed(int... shape) {
        return transposedIn(-1, 1, shape);
    }

    /** A view of the given shape cut from the middle of a tensor twice as long on every axis (1-D: a column). */
    private Tensor slicedIn(double lo, double hi, int... shape) {
        if (shape.length == 1) return randIn(lo, hi, shape[0], 2).select(1, 1); // every other element
        int[] big = new int[shape.length];
        for (int d = 0; d < shape.length; d++) big[d] = 2 * shape[d] + 1;
        Tensor t = randIn(lo, hi, big);
        for (int d = 0; d < shape.length; d++) t = t.narrow(d, 1, shape[d]);
        assertTrue(!t.isContiguous());
        return t;
    }

    private Tensor sliced(int... shape) {
        return slicedIn(-1, 1, shape);
    }

    /** Distinct values spaced 0.1 apart in a shuffled order: max has no ties within ±ε. */
    private Tensor distinct(int... shape) {
        int n = Tensor.numel(shape);
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = 0.1 * (i - n / 2);
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            double t = d[i];
            d[i] = d[j];
            d[j] = t;
        }
        return Tensor.of(CPU, d, shape);
    }

    private static Var unary(List<Var> v, java.util.function.UnaryOperator<Var> op) {
        return op.apply(v.get(0));
    }

    // ---- the checker itself -------------------------------------------------------------------

    @Test
    void checkerCatchesAMissingGradient() {
        // y = x + 2x where the 2x term is cut from the graph: analytic dy/dx = 1, numerical = 3.
        AssertionError e = assertThrows(AssertionError.class, () -> GradCheck.check("cut",
                v -> Var.constant(v.get(0).value().mul(2)).add(v.get(0)), rand(2, 3)));
        assertTrue(e.getMessage().contains("analytic 1.0"), e.getMessage());
    }

    @Test
    void checkerRefusesFloatAndRepeatedInputs() {
        assertThrows(IllegalArgumentException.class, () -> GradCheck.check("f32", v -> v.get(0),
                Tensor.of(CPU, new float[] {1, 2}, 2)));
        assertThrows(IllegalArgumentException.class, () -> GradCheck.check("expanded", v -> v.get(0), rand(1, 3).expand(4, 3)));
    }

    // ---- pointwise ----------------------------------------------------------------------------

    @Test
    void binaryOpsWithBroadcasting() {
        Tensor[][] pairs = {
            {rand(2, 3, 4), rand(2, 3, 4)},
            {rand(2, 3, 4), rand(3, 1)},
            {rand(4), transposed(3, 4)},
            {sliced(2, 1, 4), rand(2, 3, 1)},
            {transposed(2, 3, 4), rand(1, 1, 4)},
        };
        for (Tensor[] p : pairs) {
            GradCheck.check("add", v -> v.get(0).add(v.get(1)), p);
            GradCheck.check("sub", v -> v.get(0).sub(v.get(1)), p);
            GradCheck.check("mul", v -> v.get(0).mul(v.get(1)), p);
        }
        GradCheck.check("div", v -> v.get(0).div(v.get(1)), rand(2, 3, 4), randIn(0.5, 1.5, 3, 1));
        GradCheck.check("div", v -> v.get(0).div(v.get(1)), transposed(3, 4), slicedIn(0.5, 1.5, 3, 4));
        GradCheck.check("div", v -> v.get(0).div(v.get(1)), randIn(0.5, 1.5, 4), randIn(-1.5, -0.5, 2, 1));
        // The same Var on both sides: gradients from two uses must add up.
        GradCheck.check("x*x+x", v -> v.get(0).mul(v.get(0)).add(v.get(0)), sliced(3, 2));
    }

    @Test
    void scalarOps() {
        for (Tensor x : new Tensor[] {randIn(0.2, 2, 2, 3), transposedIn(0.2, 2, 3, 2), slicedIn(0.2, 2, 2, 3)}) {
            GradCheck.check("add_scalar", v -> v.get(0).add(0.7), x);
            GradCheck.check("mul_scalar", v -> v.get(0).mul(-1.3), x);
            GradCheck.check("rsub", v -> v.get(0).rsub(2.0), x);
            GradCheck.check("pow 3", v -> v.get(0).pow(3.0), x);
            GradCheck.check("pow 0.5", v -> v.get(0).pow(0.5), x);
            GradCheck.check("pow -2", v -> v.get(0).pow(-2.0), x);
        }
        GradCheck.check("pow 2 of signed", v -> v.get(0).pow(2.0), rand(3, 4));
    }

    @Test
    void unaryOps() {
        for (Tensor x : new Tensor[] {randIn(-3, 3, 3, 4), transposedIn(-3, 3, 2, 3, 4), slicedIn(-3, 3, 3, 4)}) {
            GradCheck.check("neg", v -> unary(v, Var::neg), x);
            GradCheck.check("exp", v -> unary(v, Var::exp), x);
            GradCheck.check("tanh", v -> unary(v, Var::tanh), x);
            GradCheck.check("gelu", v -> unary(v, Var::gelu), x);
        }
        for (Tensor x : new Tensor[] {randIn(0.1, 3, 3, 4), transposedIn(0.1, 3, 3, 4), slicedIn(0.1, 3, 3, 4)}) {
            GradCheck.check("log", v -> unary(v, Var::log), x);
            GradCheck.check("sqrt", v -> unary(v, Var::sqrt), x);
        }
        // GELU far in both tails, where erf's continued-fraction branch runs.
        GradCheck.check("gelu tails", v -> unary(v, Var::gelu), Tensor.of(CPU, new double[] {-7, -4.5, -3.2, 3.2, 4.5, 7}, 6));
    }

    // ---- reductions ---------------------------------------------------------------------------

    @Test
    void reductions() {
        for (Tensor x : new Tensor[] {rand(2, 3, 4), transposed(2, 3, 4), sliced(2, 3, 4)}) {
            GradCheck.check("sum 1", v -> v.get(0).sum(1), x);
            GradCheck.check("sum 0,2", v -> v.get(0).sum(0, 2), x);
            GradCheck.check("sum 0", v -> v.get(0).sum(0), x);
            GradCheck.check("sum all", v -> v.get(0).sum(), x);
            GradCheck.check("mean -1", v -> v.get(0).mean(-1), x);
            GradCheck.check("mean 0,1", v -> v.get(0).mean(0, 1), x);
            GradCheck.check("mean all", v -> v.get(0).mean(), x);
            GradCheck.check("keepdims", v -> v.get(0).reduceOp(dev.bertft.tensor.Ops.Reduce.SUM, true, 1), x);
        }
        Tensor d = distinct(3, 4, 5);
        GradCheck.check("max 1", v -> v.get(0).max(1), d);
        GradCheck.check("max -1", v -> v.get(0).max(-1), d.transpose(0, 2));
        GradCheck.check("max 0,2", v -> v.get(0).max(0, 2), d.narrow(1, 1, 2));
        GradCheck.check("max all", v -> v.get(0).max(), d);
    }

    @Test
    void maxSplitsTheGradientBetweenTies() {
        // torch.amax: each of the k tied maxima receives 1/k of the gradient.
        Var x = Var.parameter(Tensor.of(CPU, new double[] {1, 3, 3, 0, 2, 2, 2, -1}, 2, 4));
        x.max(1).sum().backward();
        assertArrayEquals(new double[] {0, 0.5, 0.5, 0, 1 / 3.0, 1 / 3.0, 1 / 3.0, 0}, x.grad().toDoubleArray(), 1e-15);
    }

    // ---- matmul -------------------------------------------------------------------------------

    @Test
    void matmul2d() {
        GradCheck.check("matmul", v -> v.get(0).matmul(v.get(1)), rand(3, 4), rand(4, 5));
        GradCheck.check("matmul aT", v -> v.get(0).matmul(v.get(1)), transposed(3, 4), rand(4, 5));
        GradCheck.check("matmul bT", v -> v.get(0).matmul(v.get(1)), rand(3, 4), transposed(4, 5));
        GradCheck.check("matmul aT bT", v -> v.get(0).matmul(v.get(1)), transposed(3, 4), transposed(4, 5));
        GradCheck.check("matmul sliced", v -> v.get(0).matmul(v.get(1)), sliced(3, 4), sliced(4, 2));
        GradCheck.check("matmul vector-like", v -> v.get(0).matmul(v.get(1)), rand(1, 4), rand(4, 1));
    }

    @Test
    void batchedMatmul() {
        GradCheck.check("bmm", v -> v.get(0).matmul(v.get(1)), rand(2, 3, 4), rand(2, 4, 5));
        GradCheck.check("bmm aT", v -> v.get(0).matmul(v.get(1)), transposed(2, 3, 4), rand(2, 4, 5));
        GradCheck.check("bmm bT", v -> v.get(0).matmul(v.get(1)), rand(2, 3, 4), transposed(2, 4, 5));
        GradCheck.check("bmm sliced", v -> v.get(0).matmul(v.get(1)), sliced(2, 3, 4), sliced(2, 4, 2));
        GradCheck.check("bmm shared b", v -> v.get(0).matmul(v.get(1)), rand(2, 3, 4), rand(4, 5));
        GradCheck.check("bmm shared bT", v -> v.get(0).matmul(v.get(1)), transposed(2, 3, 4), transposed(4, 5));
        GradCheck.check("4-d shared b", v -> v.get(0).matmul(v.get(1)), sliced(2, 2, 3, 4), rand(4, 3));
        // Attention's layout: [B, T, heads, d] permuted to [B, heads, T, d], times its own transpose.
        GradCheck.check("attention scores", v -> v.get(0).permute(0, 2, 1, 3).matmul(v.get(1).permute(0, 2, 3, 1)),
                rand(2, 3, 2, 4), rand(2, 3, 2, 4));
        GradCheck.check("permuted views", v -> v.get(0).matmul(v.get(1)),
                rand(2, 3, 2, 4).permute(0, 2, 1, 3), rand(2, 4, 2, 3).permute(2, 0, 1, 3));
    }

    @Test
    void linear() {
        GradCheck.check("linear", v -> v.get(0).linear(v.get(1), v.get(2)), rand(2, 3, 4), rand(5, 4), rand(5));
        GradCheck.check("linear no bias", v -> v.get(0).linear(v.get(1), null), transposed(3, 4), sliced(5, 4));
    }

    // ---- views --------------------------------------------------------------------------------

    @Test
    void viewOps() {
        for (Tensor x : new Tensor[] {rand(2, 3, 4), transposed(2, 3, 4), sliced(2, 3, 4)}) {
            GradCheck.check("reshape", v -> v.get(0).reshape(4, -1), x);
            GradCheck.check("transpose", v -> v.get(0).transpose(0, 2), x);
            GradCheck.check("permute", v -> v.get(0).permute(2, 0, 1), x);
            GradCheck.check("narrow", v -> v.get(0).narrow(2, 1, 2), x);
            GradCheck.check("select", v -> v.get(0).select(1, 2), x);
            GradCheck.check("unsqueeze", v -> v.get(0).unsqueeze(1), x);
            GradCheck.check("contiguous", v -> v.get(0).contiguous(), x);
            GradCheck.check("split", v -> {
                List<Var> parts = v.get(0).split(-1, 1, 3);
                return parts.get(0).mul(parts.get(1).reduceOp(dev.bertft.tensor.Ops.Reduce.SUM, true, -1));
            }, x);
        }
        GradCheck.check("expand", v -> v.get(0).expand(2, 3, 4), rand(3, 1));
        GradCheck.check("expand sliced", v -> v.get(0).unsqueeze(1).expand(2, 3, 4), sliced(2, 4));
        GradCheck.check("concat", v -> Var.concat(List.of(v.get(0), v.get(1), v.get(2)), 1),
                rand(2, 1, 3), transposed(2, 3, 3), sliced(2, 2, 3));
        GradCheck.check("concat last", v -> Var.concat(List.of(v.get(0), v.get(1)), -1), transposed(3, 2), rand(3, 4));
        // A view feeding two consumers, so partial gradients add at the view.
        GradCheck.check("view reused", v -> {
            Var t = v.get(0).transpose(0, 1);
            return t.mul(t.narrow(1, 0, 1));
        }, rand(3, 2));
    }

    // ---- normalisation and losses -----------------------------------------------------------

    @Test
    void softmaxAndLogSoftmax() {
        for (Tensor x : new Tensor[] {randIn(-3, 3, 3, 5), transposedIn(-3, 3, 2, 3, 5), slicedIn(-3, 3, 3, 5)}) {
            GradCheck.check("softmax", v -> v.get(0).softmax(), x);
            GradCheck.check("logSoftmax", v -> v.get(0).logSoftmax(), x);
        }
    }

    @Test
    void layerNorm() {
        for (Tensor x : new Tensor[] {randIn(-2, 2, 3, 6), transposedIn(-2, 2, 2, 3, 6), slicedIn(-2, 2, 3, 6)}) {
            GradCheck.check("layerNorm", v -> v.get(0).layerNorm(v.get(1), v.get(2), 1e-5), x, randIn(0.5, 1.5, 6), rand(6));
        }
        GradCheck.check("layerNorm strided params", v -> v.get(0).layerNorm(v.get(1), v.get(2), 1e-12),
                rand(2, 4), sliced(4), sliced(4));
    }

    @Test
    void embedding() {
        Tensor ids = Tensor.of(CPU, new int[] {3, 0, 3, 4, 1, 3}, 2, 3);
        GradCheck.check("embedding", v -> Var.embedding(v.get(0), ids), rand(5, 4));
        GradCheck.check("embedding sliced ids", v -> Var.embedding(v.get(0), ids.transpose(0, 1)), rand(5, 4));
        GradCheck.check("embedding of a view", v -> Var.embedding(v.get(0), ids), sliced(5, 4));
    }

    @Test
    void dropoutGradientIsTheMask() {
        Tensor x = sliced(4, 6);
        GradCheck.check("dropout", v -> v.get(0).dropout(0.3, true, 42, 7), x);
        Var p = Var.parameter(x);
        p.dropout(0.3, true, 42, 7).sum().backward();
        double[] mask = CPU.dropoutMask(DType.F64, new int[] {4, 6}, 0.3, 42, 7).toDoubleArray();
        assertArrayEquals(mask, p.grad().toDoubleArray(), 0.0);
        int kept = 0;
        for (double m : mask) {
            assertTrue(m == 0 || m == 1 / 0.7, "mask value " + m);
            if (m != 0) kept++;
        }
        assertTrue(kept > 0 && kept < mask.length, "a 24-element mask at p=0.3 both keeps and drops");
        // Evaluation mode (or p = 0) is the identity, gradient included.
        Var q = Var.parameter(x);
        q.dropout(0.3, false, 42, 7).sum().backward();
        for (double g : q.grad().toDoubleArray()) assertEquals(1.0, g, 0.0);
    }

    @Test
    void crossEntropyWithAnIgnoredRow() {
        Tensor labels = Tensor.of(CPU, new int[] {2, -100, 0, 4}, 4);
        GradCheck.check("crossEntropy", v -> v.get(0).crossEntropy(labels, -100), randIn(-2, 2, 4, 5));
        GradCheck.check("crossEntropy transposed", v -> v.get(0).crossEntropy(labels, -100), transposedIn(-2, 2, 4, 5));
        // Composed with log-softmax and a scale, so the upstream gradient is not 1.
        GradCheck.check("3·crossEntropy", v -> v.get(0).crossEntropy(labels, -100).mul(3), slicedIn(-2, 2, 4, 5));
        // The ignored row gets exactly zero gradient.
        Var logits = Var.parameter(rand(4, 5));
        logits.crossEntropy(labels, -100).backward();
        double[] g = logits.grad().toDoubleArray();
        for (int c = 0; c < 5; c++) assertEquals(0.0, g[5 + c], 0.0);
    }

    @Test
    void regressionAndMultiLabelLosses() {
        Tensor scores = randIn(-1, 5, 6, 1);
        GradCheck.check("mseLoss", v -> v.get(0).mseLoss(scores), rand(6, 1));
        GradCheck.check("mseLoss transposed", v -> v.get(0).mseLoss(scores.reshape(2, 3)), transposed(2, 3));
        Tensor multiHot = Tensor.of(CPU, new double[] {1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1}, 3, 4);
        GradCheck.check("bceWithLogits", v -> v.get(0).bceWithLogits(multiHot), randIn(-4, 4, 3, 4));
        Tensor soft = randIn(0, 1, 3, 4);
        GradCheck.check("bceWithLogits soft targets", v -> v.get(0).bceWithLogits(soft), sliced(3, 4));
        GradCheck.check("2·bceWithLogits", v -> v.get(0).bceWithLogits(multiHot).mul(2), transposedIn(-4, 4, 3, 4));
        // Far in the tails the loss is |x| or 0 and the gradient ±1/n or 0, not NaN.
        Var wide = Var.parameter(Tensor.of(CPU, new double[] {200, -200, 200, -200}, 2, 2));
        Var loss = wide.bceWithLogits(Tensor.of(CPU, new double[] {0, 1, 1, 0}, 2, 2));
        assertEquals(100.0, loss.value().item(), 1e-9);
        loss.backward();
        assertArrayEquals(new double[] {0.25, -0.25, 0, 0}, wide.grad().toDoubleArray(), 1e-12);
    }

    @Test
    void attentionMaskAddition() {
        // Scores [B, heads, T, T] plus a padding mask [B, 1, 1, T] of (1 − m)·float32 min, as HF BERT.
        double min = -Float.MAX_VALUE;
        Tensor mask = Tensor.of(CPU, new double[] {0, 0, 0, 0, 0, min, min, 0}, 2, 1, 1, 4);
        GradCheck.check("scores + mask → softmax · v", v -> v.get(0).add(Var.constant(mask)).softmax().matmul(v.get(1)),
                randIn(-2, 2, 2, 2, 4, 4), transposed(2, 2, 4, 3));
        Var s = Var.parameter(rand(2, 2, 4, 4));
        Var p = s.add(Var.constant(mask)).softmax();
        double[] probs = p.value().toDoubleArray();
        for (int r = 8; r < 16; r++) {
            assertEquals(0.0, probs[r * 4 + 1], 0.0, "masked key gets no weight");
            assertEquals(0.0, probs[r * 4 + 2], 0.0, "masked key gets no weight");
        }
    }
}
