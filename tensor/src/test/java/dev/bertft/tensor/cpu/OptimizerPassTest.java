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

    @Test
    void theNormOfAllTensorsIsTheirFloat64SumOfSquares() {
        double expected = 0;
        {
            CpuBackend cpu = new CpuBackend(2);
            for (Tensor t : tensors(cpu, 1)) for (float x : (float[]) t.toHost()) expected += (double) x * x;
            double two = cpu.sumOfSquares(tensors(cpu, 1));
            assertEquals(expected, two, 1e-12 * expected);
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
        AdamWRule rule = AdamWRule.of(new Backend.AdamWStep(2e-5, 0.9, 0.999, 1e-8, 0.01, 7));
        int n = 1003;
        float[] g = values(n, 1), pv = values(n + 5, 2), mv = values(n + 9, 3), vv = values(n + 2, 4);
        for (int i = 0; i < vv.length; i++) vv[i] = Math.abs(vv[i]);
        float[] ps = pv.clone(), ms = mv.clone(), vs = vv.clone();
        SimdAdamW.update(rule, pv, 5, g, mv, 9, vv, 2, 0, n);
        rule.updateScalar(ps, 5, g, ms, 9, vs, 2, 0, n);
        assertArrayEquals(ps, pv);
        assertArrayEquals(ms, mv);
        assertArrayEquals(vs, vv);
    }

    private static List<float[]> host(List<Tensor> ts) {
        return ts.stream().map(t -> (float[]) t.toHost()).toList();
    }
}
