package dev.bertft.autograd;

import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * A gradient checker in the manner of torch.autograd.gradcheck: the full Jacobian of a function
 * of F64 tensors is built twice, once by central differences
 * J[j][i] ≈ (f(x + ε·eᵢ)[j] − f(x − ε·eᵢ)[j]) / 2ε, once by backpropagating each one-hot output
 * seed eⱼ through the graph, and the two must agree elementwise within |a − n| ≤ atol + rtol·|n|.
 *
 * <p>Inputs may be strided views (transposed, narrowed, permuted): a perturbation is written into
 * a copy of the view's storage and the view is rebuilt with the same shape, strides and offset,
 * so the function sees exactly the layout under test. Views that repeat an element (stride 0 on
 * an axis longer than 1) are refused, as torch refuses overlapping inputs: perturbing one stored
 * value would move several inputs at once.
 */
public final class GradCheck {
    /** torch.autograd.gradcheck's defaults. */
    public static final double EPS = 1e-6, ATOL = 1e-5, RTOL = 1e-3;

    private GradCheck() {}

    /** Checks {@code f} at {@code inputs} with torch's default eps, atol and rtol. */
    public static void check(String name, Function<List<Var>, Var> f, Tensor... inputs) {
        check(name, f, EPS, ATOL, RTOL, inputs);
    }

    /**
     * Throws an AssertionError naming the function, input, element and both values at the first
     * Jacobian entry where analytic and numerical gradients disagree. {@code f} receives one
     * parameter Var per input (in order) and may close over constants such as labels or masks.
     */
    public static void check(String name, Function<List<Var>, Var> f, double eps, double atol, double rtol, Tensor... inputs) {
        for (int i = 0; i < inputs.length; i++) requireCheckable(name, i, inputs[i]);
        double[] y0 = evaluate(f, inputs).value().toDoubleArray();
        int outputs = y0.length;

        for (int i = 0; i < inputs.length; i++) {
            double[][] numeric = numericalJacobian(f, inputs, i, outputs, eps);
            double[][] analytic = analyticalJacobian(f, inputs, i, outputs);
            int[] shape = inputs[i].shape();
            for (int e = 0; e < numeric.length; e++) {
                for (int j = 0; j < outputs; j++) {
                    double n = numeric[e][j], a = analytic[e][j];
                    if (!(Math.abs(a - n) <= atol + rtol * Math.abs(n))) {
                        throw new AssertionError(name + ": d output[" + j + "] / d input" + i + Arrays.toString(unravel(e, shape))
                                + " (input shape " + Arrays.toString(shape) + ", strides " + Arrays.toString(inputs[i].strides())
                                + "): analytic " + a + " vs numerical " + n);
                    }
                }
            }
        }
    }

    private static void requireCheckable(String name, int i, Tensor t) {
        if (t.dtype() != DType.F64) throw new IllegalArgumentException(name + ": input " + i + " must be F64 for a gradient check, got " + t);
        int[] shape = t.shape(), strides = t.strides();
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] > 1 && strides[d] == 0) {
                throw new IllegalArgumentException(name + ": input " + i + " repeats elements (stride 0 on axis " + d + " of "
                        + Arrays.toString(shape) + "); pass the unexpanded tensor");
            }
        }
    }

    private static Var evaluate(Function<List<Var>, Var> f, Tensor[] inputs) {
        List<Var> vars = new ArrayList<>();
        for (Tensor t : inputs) vars.add(Var.parameter(t));
        return f.apply(vars);
    }

    /** numeric[e][j] = ∂y[j]/∂x_i[e] by central differences, e in row-major order of the view. */
    private static double[][] numericalJacobian(Function<List<Var>, Var> f, Tensor[] inputs, int i, int outputs, double eps) {
        Tensor x = inputs[i];
        int[] shape = x.shape(), strides = x.strides();
        double[] storage = storageOf(x);
        double[][] out = new double[x.numel()][];
        Tensor[] probe = inputs.clone();
        for (int e = 0; e < out.length; e++) {
            int at = x.offset();
            int[] idx = unravel(e, shape);
            for (int d = 0; d < idx.length; d++) at += idx[d] * strides[d];
            double saved = storage[at];
            storage[at] = saved + eps;
            probe[i] = rebuild(x, storage);
            double[] plus = evaluate(f, probe).value().toDoubleArray();
            storage[at] = saved - eps;
            probe[i] = rebuild(x, storage);
            double[] minus = evaluate(f, probe).value().toDoubleArray();
            storage[at] = saved;
            out[e] = new double[outputs];
            for (int j = 0; j < outputs; j++) out[e][j] = (plus[j] - minus[j]) / (2 * eps);
        }
        return out;
    }

    /** analytic[e][j] = ∂y[j]/∂x_i[e] by one backward pass per output element j. */
    private static double[][] analyticalJacobian(Function<List<Var>, Var> f, Tensor[] inputs, int i, int outputs) {
        double[][] out = new double[inputs[i].numel()][outputs];
        for (int j = 0; j < outputs; j++) {
            List<Var> vars = new ArrayList<>();
            for (Tensor t : inputs) vars.add(Var.parameter(t));
            Var y = f.apply(vars);
            if (!y.requiresGrad()) continue; // y does not depend on any input: every gradient is 0
            double[] seed = new double[outputs];
            seed[j] = 1;
            y.backward(Tensor.of(y.backend(), seed, y.shape()));
            Tensor g = vars.get(i).grad();
            if (g == null) continue;
            if (!g.sameShape(inputs[i]) || g.dtype() != DType.F64) {
                throw new AssertionError("gradient " + g + " does not match input " + i + " " + inputs[i]);
            }
            double[] gv = g.toDoubleArray();
            for (int e = 0; e < gv.length; e++) out[e][j] = gv[e];
        }
        return out;
    }

    /** Every element of the view's storage, as the view's backend holds it. */
    private static double[] storageOf(Tensor x) {
        return Tensor.contiguousView(x.storage(), (int) x.storage().size()).toDoubleArray();
    }

    /** The same view (shape, strides, offset) over a fresh storage holding {@code data}. */
    private static Tensor rebuild(Tensor x, double[] data) {
        Tensor base = Tensor.of(x.backend(), data, data.length);
        return new Tensor(base.storage(), x.shape(), x.strides(), x.offset());
    }

    private static int[] unravel(int flat, int[] shape) {
        int[] idx = new int[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
        return idx;
    }
}
