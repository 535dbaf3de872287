package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Ops;
import dev.bertft.tensor.Simd;
import dev.bertft.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The whole-model passes of an update (the gradient norm, the clip, AdamW over a group) against
 * float64 sums and torch.optim.AdamW's formula computed here, over tensors of sizes around the
 * block size and one view that starts past its storage's first element.
 */
class OptimizerPassTest {
    private static final int[] SIZES = {3, TensorBlocks.BLOCK, 40_001, 1, TensorBlocks.BLOCK + 5};

    private static float[] values(int n, int seed) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) Math.sin(0.37 * i + seed) * (1 + seed % 3);
        return a;
    }

    /** The tensors of SIZES on cpu, the last a view at offset 7 of a larger storage. */
    private static List<Tensor> tensors(CpuBackend cpu, int seed) {
        List<Tensor> out = new ArrayList<>();
        for (int i = 0; i < SIZES.length - 1; i++) out.add(cpu.fromHost(values(SIZES[i], seed + i), DType.F32, SIZES[i]));
        int last = SIZES[SIZES.length - 1];
        out.add(cpu.fromHost(values(last + 7, seed + 9), DType.F32, last + 7).narrow(0, 7, last));
        return out;
    }

    /** The sum of squares over a list of tensors, within SimdSquares' bound of the float64 sum, and the same bits on one thread as on two. */
    @Test
    void theNormOfAllTensorsIsTheirSumOfSquares() {
        double expected = 0;
        {
            CpuBackend cpu = new CpuBackend(2);
            for (Tensor t : tensors(cpu, 1)) for (float x : (float[]) t.toHost()) expected += (double) x * x;
            double two = cpu.sumOfSquares(tensors(cpu, 1));
            assertEquals(expected, two, 0x1p-18 * expected);
            {
                CpuBackend one = new CpuBackend(1);
                assertEquals(two, one.sumOfSquares(tensors(one, 1)), 0.0, "the same bits on one thread");
            }
        }
    }

    @Test
    void theClipScalesInPlaceAsMulRounds() {
        {
            CpuBackend cpu = new CpuBackend(2);
            List<Tensor> ts = tensors(cpu, 2);
            List<float[]> before = ts.stream().map(t -> (float[]) t.toHost()).toList();
            cpu.scaleInPlace(ts, 0.3);
            for (int i = 0; i < ts.size(); i++) {
                float[] b = before.get(i), after = (float[]) ts.get(i).toHost();
                for (int j = 0; j < b.length; j++) assertEquals((float) (b[j] * 0.3), after[j], 0f);
            }
        }
    }

    @Test
    void adamWOverAGroupFollowsTorchsFormula() {
        Backend.AdamWStep st = new Backend.AdamWStep(1e-3, 0.9, 0.999, 1e-8, 0.01, 3);
        {
            CpuBackend cpu = new CpuBackend(2);
            List<Tensor> p = tensors(cpu, 3), g = tensors(cpu, 4), m = tensors(cpu, 5), v = tensors(cpu, 6);
            for (Tensor t : v) cpu.copyInPlace(t, cpu.unary(Ops.Unary.ABS, t));
            List<float[]> p0 = host(p), g0 = host(g), m0 = host(m), v0 = host(v);
            cpu.adamW(p, g, m, v, st);
            double bc1 = 1 - Math.pow(0.9, 3), bc2 = 1 - Math.pow(0.999, 3);
            for (int i = 0; i < p.size(); i++) {
                float[] pa = (float[]) p.get(i).toHost(), ma = (float[]) m.get(i).toHost(), va = (float[]) v.get(i).toHost();
                for (int j = 0; j < pa.length; j++) {
                    double gj = g0.get(i)[j];
                    double mj = 0.9 * m0.get(i)[j] + 0.1 * gj, vj = 0.999 * v0.get(i)[j] + 0.001 * gj * gj;
                    double pj = p0.get(i)[j] * (1 - 1e-3 * 0.01) - 1e-3 / bc1 * mj / (Math.sqrt(vj / bc2) + 1e-8);
                    assertEquals(mj, ma[j], 1e-6 * Math.max(1, Math.abs(mj)), "m");
                    assertEquals(vj, va[j], 1e-6 * Math.max(1, Math.abs(vj)), "v");
                    assertEquals(pj, pa[j], 2e-6 * Math.max(1, Math.abs(pj)), "p of tensor " + i + " at " + j);
                }
            }
        }
    }

    @Test
    void theVectorUpdateHasTheScalarLoopsBits() {
        assumeTrue(Simd.AVAILABLE, "Vector API not enabled in this JVM");
        assertVectorUpdateHasTheScalarLoopsBits(AdamWRule.of(new Backend.AdamWStep(2e-5, 0.9, 0.999, 1e-8, 0.01, 7)));
    }

    /**
     * AdamW given the guard's clipping coefficient reads each gradient element as the clip would
     * have left it: the parameters and moments have the bits of clip-in-place-then-update (and so
     * not those of an update that ignored the coefficient).
     */
    @Test
    void theClipInsideAdamWHasTheBitsOfClipThenUpdate() {
        Backend.AdamWStep st = new Backend.AdamWStep(1e-3, 0.9, 0.999, 1e-8, 0.01, 2);
        double coef = 0.3713;
        CpuBackend cpu = new CpuBackend(2);
        List<Tensor> p = tensors(cpu, 3), g = tensors(cpu, 4), m = tensors(cpu, 5), v = tensors(cpu, 6);
        List<Tensor> p2 = tensors(cpu, 3), g2 = tensors(cpu, 4), m2 = tensors(cpu, 5), v2 = tensors(cpu, 6);
        for (List<Tensor> vs : List.of(v, v2)) for (Tensor t : vs) cpu.copyInPlace(t, cpu.unary(Ops.Unary.ABS, t));
        cpu.adamW(p, g, m, v, st, cpu.fromHost(new double[] {0, 0, coef, 0}, DType.F64, 4));
        cpu.scaleInPlace(g2, coef);
        cpu.adamW(p2, g2, m2, v2, st);
        for (int i = 0; i < p.size(); i++) {
            assertArrayEquals((float[]) p2.get(i).toHost(), (float[]) p.get(i).toHost(), "p of tensor " + i);
            assertArrayEquals((float[]) m2.get(i).toHost(), (float[]) m.get(i).toHost(), "m of tensor " + i);
            assertArrayEquals((float[]) v2.get(i).toHost(), (float[]) v.get(i).toHost(), "v of tensor " + i);
        }
    }

    /**
     * Both ways the vector update clips: a float32 coefficient (what the guard holds) scales each
     * vector as it is read, in float; any other scales the run in place first, in double.
     */
    @Test
    void theVectorUpdateOfClippedGradientsHasTheScalarLoopsBits() {
        assumeTrue(Simd.AVAILABLE, "Vector API not enabled in this JVM");
        AdamWRule rule = AdamWRule.of(new Backend.AdamWStep(2e-5, 0.9, 0.999, 1e-8, 0.01, 7));
        assertVectorUpdateHasTheScalarLoopsBits(rule.clipped(0.123456789));
        assertVectorUpdateHasTheScalarLoopsBits(rule.clipped(Backend.clipCoefficient(1.0, 1 / 0.123456789)));
    }

    /** SimdAdamW against the scalar loop on 1003 elements at odd offsets (the vector part may clip its gradients in place: a copy). */
    private static void assertVectorUpdateHasTheScalarLoopsBits(AdamWRule rule) {
        int n = 1003;
        float[] g = values(n, 1), pv = values(n + 5, 2), mv = values(n + 9, 3), vv = values(n + 2, 4);
        for (int i = 0; i < vv.length; i++) vv[i] = Math.abs(vv[i]);
        float[] ps = pv.clone(), ms = mv.clone(), vs = vv.clone();
        SimdAdamW.update(rule, pv, 5, g.clone(), mv, 9, vv, 2, 0, n);
        rule.updateScalar(ps, 5, g, ms, 9, vs, 2, 0, n);
        assertArrayEquals(ps, pv);
        assertArrayEquals(ms, mv);
        assertArrayEquals(vs, vv);
    }

    /**
     * The vector sum of squares against the exact sum (BigDecimal), on values spread over six
     * orders of magnitude, from an odd offset with a tail: within RUN·2⁻²⁴ of it, relative (the
     * bound SimdSquares states), and far closer than float32 summed in order would be.
     */
    @Test
    void theVectorSumOfSquaresIsWithinItsBoundOfTheExactSum() {
        assumeTrue(Simd.AVAILABLE, "Vector API not enabled in this JVM");
        float[] a = values(200_003, 8);
        for (int i = 0; i < a.length; i += 7) a[i] *= 1e3f;
        java.math.BigDecimal exact = java.math.BigDecimal.ZERO;
        float inOrder = 0;
        for (int i = 3; i < a.length; i++) {
            exact = exact.add(new java.math.BigDecimal((double) a[i] * a[i]));
            inOrder += a[i] * a[i];
        }
        double sum = exact.doubleValue(), vector = SimdSquares.sum(a, 3, a.length - 3);
        double error = Math.abs(vector - sum) / sum, inOrderError = Math.abs(inOrder - sum) / sum;
        assertTrue(error <= SimdSquares.RUN * 0x1p-24, "relative error " + error);
        assertTrue(error < inOrderError / 10, "relative error " + error + ", float32 in order " + inOrderError);
    }

    /**
     * A square past float32's range makes its run summed again in double: finite (and right) while
     * every element is finite, infinite or NaN when one is not, as GradScaler's test relies on.
     */
    @Test
    void aSumOfSquaresOverflowingFloat32IsFiniteExactlyWhenEveryElementIs() {
        assumeTrue(Simd.AVAILABLE, "Vector API not enabled in this JVM");
        float[] a = values(5000, 9);
        a[1234] = 3e20f;
        double expected = 0;
        for (float x : a) expected += (double) x * x;
        assertEquals(expected, SimdSquares.sum(a, 0, a.length), 1e-12 * expected, "a finite element whose square overflows float32");
        a[4321] = Float.POSITIVE_INFINITY;
        assertEquals(Double.POSITIVE_INFINITY, SimdSquares.sum(a, 0, a.length));
        a[4321] = Float.NaN;
        assertTrue(Double.isNaN(SimdSquares.sum(a, 0, a.length)));
    }

    private static List<float[]> host(List<Tensor> ts) {
        return ts.stream().map(t -> (float[]) t.toHost()).toList();
    }
}
