package dev.bertft.autograd;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Ops;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The fused float32 ops against their compositions from the plain ops (themselves checked by
 * finite differences and against PyTorch): dropout + residual + LayerNorm with and without
 * dropout, and Linear + bias + GELU, output and every gradient, on BERT's widths and odd ones.
 * Their math in float64 is checked by finite differences in {@link GradCheckTest}.
 */
class FusedOpsTest {
    private static final Backend CPU = new CpuBackend(3);
    private final Random random = new Random(99);

    private Tensor randn(double scale, double shift, int... shape) {
        float[] f = new float[Tensor.numel(shape)];
        for (int i = 0; i < f.length; i++) f[i] = (float) (scale * random.nextGaussian() + shift);
        return CPU.fromHost(f, DType.F32, shape);
    }

    @Test
    void fusedEqualsTheCompositionForwardAndBackward() {
        for (int[] shape : new int[][] {{2, 9, 384}, {5, 33}, {4, 7}, {3, 1}, {6, 100}}) {
            for (double p : new double[] {0, 0.1, 0.5}) {
                int h = shape[shape.length - 1];
                Tensor x = randn(1, 0, shape), res = randn(2, 0.5, shape), gamma = randn(0.2, 1, h), beta = randn(0.5, 0, h);
                Tensor dy = randn(1, 0, shape);
                String what = Arrays.toString(shape) + " p=" + p;
                long seed = 1234, offset = 17;

                Var fx = Var.parameter(x), fr = Var.parameter(res), fg = Var.parameter(gamma), fb = Var.parameter(beta);
                Var fused = fx.dropoutAddLayerNorm(fr, fg, fb, 1e-12, p, seed, offset);
                fused.backward(dy);

                Var cx = Var.parameter(x), cr = Var.parameter(res), cg = Var.parameter(gamma), cb = Var.parameter(beta);
                Var dropped = p > 0 ? cx.dropout(p, true, seed, offset) : cx;
                Var composed = dropped.add(cr).layerNorm(cg, cb, 1e-12);
                composed.backward(dy);

                assertClose(composed.value(), fused.value(), 1e-5, what + " y");
                assertClose(cr.grad(), fr.grad(), 1e-4, what + " d residual");
                assertClose(cx.grad(), fx.grad(), 1e-4, what + " dx");
                assertClose(cg.grad(), fg.grad(), 1e-4, what + " d gamma");
                assertClose(cb.grad(), fb.grad(), 1e-4, what + " d beta");
                // the mask itself is the one dropout draws: x's gradient is zero exactly where it drops
                double[] mask = p > 0 ? CPU.dropoutMask(DType.F32, shape, p, seed, offset).toDoubleArray() : null;
                double[] dx = fx.grad().toDoubleArray(), dres = fr.grad().toDoubleArray();
                for (int i = 0; i < dx.length; i++) {
                    double expected = mask == null ? dres[i] : (float) (dres[i] * mask[i]);
                    if (dx[i] != expected) fail(what + ": dx[" + i + "] " + dx[i] + " is not d residual times the mask, " + expected);
                }
            }
        }
    }

    @Test
    void linearGeluEqualsLinearThenGelu() {
        for (int[] shape : new int[][] {{2, 9, 48}, {5, 33}, {3, 7}}) {
            int in = shape[shape.length - 1], out = 3 * in + 1;
            Tensor x = randn(1, 0, shape), w = randn(0.3, 0, out, in), b = randn(1, 0, out);
            int[] outShape = shape.clone();
            outShape[shape.length - 1] = out;
            Tensor dy = randn(1, 0, outShape);
            String what = Arrays.toString(shape) + " -> " + out;

            Var fx = Var.parameter(x), fw = Var.parameter(w), fb = Var.parameter(b);
            Var fused = fx.linearGelu(fw, fb);
            fused.backward(dy);
            Var cx = Var.parameter(x), cw = Var.parameter(w), cb = Var.parameter(b);
            Var composed = cx.linear(cw, cb).gelu();
            composed.backward(dy);

            assertClose(composed.value(), fused.value(), 1e-6, what + " y");
            assertClose(cx.grad(), fx.grad(), 1e-5, what + " dx");
            assertClose(cw.grad(), fw.grad(), 1e-5, what + " dW");
            assertClose(cb.grad(), fb.grad(), 1e-5, what + " db");
        }
    }

    /**
     * A Linear layer reading GELU's output sends its gradient through the product that makes it,
     * GELU's derivative applied there: the same gradients as Linear, GELU, Linear composed, with
     * GELU's output also read by a second op (whose gradient arrives on its own) and without.
     */
    @Test
    void linearGeluFeedingALinearMatchesTheComposition() {
        for (boolean secondReader : new boolean[] {false, true}) {
            for (int[] shape : new int[][] {{2, 9, 48}, {5, 33}}) {
                int in = shape[shape.length - 1], mid = 2 * in + 16, out = in + 3;
                Tensor x = randn(1, 0, shape), w1 = randn(0.3, 0, mid, in), b1 = randn(1, 0, mid);
                Tensor w2 = randn(0.2, 0, out, mid), b2 = randn(1, 0, out);
                int[] outShape = shape.clone(), midShape = shape.clone();
                outShape[shape.length - 1] = out;
                midShape[shape.length - 1] = mid;
                Tensor dz = randn(1, 0, outShape), other = randn(1, 0, midShape);
                String what = Arrays.toString(shape) + " -> " + mid + " -> " + out + (secondReader ? ", GELU read twice" : "");
                Var[] f = {Var.parameter(x), Var.parameter(w1), Var.parameter(b1), Var.parameter(w2), Var.parameter(b2)};
                Var[] c = {Var.parameter(x), Var.parameter(w1), Var.parameter(b1), Var.parameter(w2), Var.parameter(b2)};
                Var fy = f[0].linearGelu(f[1], f[2]), cy = c[0].linear(c[1], c[2]).gelu();
                Var fused = fy.linear(f[3], f[4]), composed = cy.linear(c[3], c[4]);
                if (secondReader) {
                    fused = fused.add(fy.mul(Var.constant(other)).reduceOp(Ops.Reduce.SUM, true, -1).mul(Var.constant(dz)));
                    composed = composed.add(cy.mul(Var.constant(other)).reduceOp(Ops.Reduce.SUM, true, -1).mul(Var.constant(dz)));
                }
                fused.backward(dz);
                composed.backward(dz);
                assertClose(composed.value(), fused.value(), 1e-5, what + " z");
                String[] names = {"dx", "dW1", "db1", "dW2", "db2"};
                for (int i = 0; i < f.length; i++) assertClose(c[i].grad(), f[i].grad(), 1e-4, what + " " + names[i]);
            }
        }
    }

    /**
     * A value read by a Linear and by a residual add collects the residual's gradient first; the
     * Linear's dY·W is then added to it inside the product: the bits of dY + dY·W computed apart.
     */
    @Test
    void aLinearsInputGradientAddedInsideTheProductHasTheBitsOfTheSum() {
        for (int[] shape : new int[][] {{2, 9, 48}, {5, 33}}) {
            int in = shape[shape.length - 1];
            Tensor w = randn(0.3, 0, in, in), b = randn(1, 0, in), dz = randn(1, 0, shape);
            Var x = Var.parameter(randn(1, 0, shape));
            Var z = x.linear(Var.parameter(w), Var.parameter(b)).add(x);
            z.backward(dz);
            assertArrayEquals(dz.add(dz.matmul(w)).toDoubleArray(), x.grad().toDoubleArray(), Arrays.toString(shape));
        }
    }

    /**
     * The residual block's end as one node gives the bits of Linear then dropout + residual +
     * LayerNorm, in float32 and under bf16 autocast, where the Linear's product is rounded to BF16
     * as torch.autocast's ({@link Var#linearOperand}) and the LayerNorm reads it so.
     */
    @Test
    void linearDropoutAddLayerNormEqualsLinearThenTheResidualNorm() {
        for (DType autocast : new DType[] {null, DType.BF16}) {
            for (int[] shape : new int[][] {{2, 9, 48}, {5, 33}}) {
                int in = shape[shape.length - 1], h = in + 7;
                int[] outShape = shape.clone();
                outShape[shape.length - 1] = h;
                Tensor x = randn(1, 0, shape), w = randn(0.3, 0, h, in), b = randn(1, 0, h), res = randn(2, 0.5, outShape);
                Tensor gamma = randn(0.2, 1, h), beta = randn(0.5, 0, h), dy = randn(1, 0, outShape);
                String what = Arrays.toString(shape) + " -> " + h + " autocast " + autocast;
                Var[] f = {Var.parameter(x), Var.parameter(w), Var.parameter(b), Var.parameter(res), Var.parameter(gamma), Var.parameter(beta)};
                Var[] c = {Var.parameter(x), Var.parameter(w), Var.parameter(b), Var.parameter(res), Var.parameter(gamma), Var.parameter(beta)};
                Var fused, composed;
                try (Autocast products = Autocast.to(autocast)) {
                    fused = f[0].linearDropoutAddLayerNorm(f[1], f[2], f[3], f[4], f[5], 1e-12, 0.1, 1234, 17);
                    composed = c[0].linearOperand(c[1], c[2]).dropoutAddLayerNorm(c[3], c[4], c[5], 1e-12, 0.1, 1234, 17);
                    fused.backward(dy);
                    composed.backward(dy);
                }
                assertArrayEquals(composed.value().toFloatArray(), fused.value().toFloatArray(), what + " y");
                String[] names = {"dx", "dW", "db", "d residual", "d gamma", "d beta"};
                for (int i = 0; i < names.length; i++) assertArrayEquals(c[i].grad().toFloatArray(), f[i].grad().toFloatArray(), what + " " + names[i]);
            }
        }
    }

    @Test
    void sameBitsOnOneThreadAndOnThree() {
        Backend one = new CpuBackend(1);
        Tensor x = randn(1, 0, 100, 384), res = randn(1, 0, 100, 384), gamma = randn(0.2, 1, 384), beta = randn(0.5, 0, 384);
        Tensor dy = randn(1, 0, 100, 384);
        Backend.ResidualNormOut a = CPU.dropoutAddLayerNorm(x, res, gamma, beta, 1e-12, 0.1, 3, 4);
        Backend.ResidualNormOut b = one.dropoutAddLayerNorm(x.to(one), res.to(one), gamma.to(one), beta.to(one), 1e-12, 0.1, 3, 4);
        assertArrayEquals((float[]) a.y().toHost(), (float[]) b.y().toHost());
        Backend.ResidualNormGrads ga = CPU.dropoutAddLayerNormBackward(dy, a, gamma, 0.1, 3, 4);
        Backend.ResidualNormGrads gb = one.dropoutAddLayerNormBackward(dy.to(one), b, gamma.to(one), 0.1, 3, 4);
        assertArrayEquals((float[]) ga.dbeta().toHost(), (float[]) gb.dbeta().toHost());
        assertArrayEquals((float[]) ga.dgamma().toHost(), (float[]) gb.dgamma().toHost());
        assertArrayEquals((float[]) ga.dx().toHost(), (float[]) gb.dx().toHost());
        assertTrue(a.dropoutBits() != null, "the CPU keeps the mask as bits for the backward");
    }

    /** |a − e| ≤ tol·(|e| + 1) elementwise, same shape. */
    private static void assertClose(Tensor expected, Tensor actual, double tol, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        double[] e = expected.toDoubleArray(), a = actual.toDoubleArray();
        for (int i = 0; i < e.length; i++) {
            if (!(Math.abs(e[i] - a[i]) <= tol * (Math.abs(e[i]) + 1))) fail(what + ": element " + i + " expected " + e[i] + ", got " + a[i]);
        }
    }
}
