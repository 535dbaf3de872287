package dev.bertft.tensor;

import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * CPU kernels on strided layouts against plain double loops over the logical elements, and
 * the determinism the backend promises: identical bits from run to run, and for the sums it
 * orders explicitly, whatever the thread count.
 */
class CpuKernelTest {
    private static final CpuBackend CPU = new CpuBackend(2);
    private final Random rng = new Random(7);

    private Tensor randn(DType dtype, Backend be, int... shape) {
        double[] d = new double[Tensor.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = rng.nextGaussian();
        Tensor t = Tensor.of(be, d, shape);
        return t.cast(dtype);
    }

    /** out[b][i][j] = Σ_p a[b][i][p]·w[b][p][j], from the logical elements of any views. */
    private static double[] referenceMatmul(Tensor a, Tensor b) {
        int m = a.size(-2), k = a.size(-1), n = b.size(-1);
        int batch = a.numel() / (m * k);
        double[] av = a.toDoubleArray(), bv = b.toDoubleArray();
        boolean shared = b.dim() == 2;
        double[] out = new double[batch * m * n];
        for (int t = 0; t < batch; t++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double acc = 0;
                    for (int p = 0; p < k; p++) acc += av[t * m * k + i * k + p] * bv[(shared ? 0 : t * k * n) + p * n + j];
                    out[t * m * n + i * n + j] = acc;
                }
        return out;
    }

    private static void assertClose(double[] expected, double[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tol * (1 + Math.abs(expected[i])), what + " at " + i);
        }
    }

    @Test
    void matmulOnEveryLayout() {
        for (DType dt : new DType[] {DType.F64, DType.F32}) {
            double tol = dt == DType.F64 ? 1e-12 : 1e-5;
            Tensor a = randn(dt, CPU, 2, 3, 5, 4), b = randn(dt, CPU, 2, 3, 4, 6);
            Tensor[][] cases = {
                {a, b},
                {randn(dt, CPU, 2, 3, 4, 5).transpose(-1, -2), b},
                {a, randn(dt, CPU, 2, 3, 6, 4).transpose(-1, -2)},
                {randn(dt, CPU, 2, 5, 3, 4).permute(0, 2, 1, 3), randn(dt, CPU, 2, 4, 3, 6).permute(0, 2, 1, 3)},
                {a.narrow(1, 1, 2), b.narrow(1, 0, 2)},
                {a.narrow(-1, 1, 3), b.narrow(-2, 0, 3)},
                {a, randn(dt, CPU, 4, 6)},
                {a, randn(dt, CPU, 6, 4).transpose(0, 1)},
                {a.select(1, 2), b.select(1, 0)},
                // one batch axis of size 1 cut from a longer one: the step between batch entries
                // is the stride of axis 0, not of the size-1 axis
                {a.narrow(1, 1, 1), b.narrow(1, 2, 1)},
                {randn(dt, CPU, 3, 5, 4).unsqueeze(1), randn(dt, CPU, 3, 4, 6).unsqueeze(1)},
                // broadcast batch entries (stride 0), as Var.expand produces
                {randn(dt, CPU, 5, 4).expand(2, 3, 5, 4), randn(dt, CPU, 3, 4, 6).expand(2, 3, 4, 6)},
                {randn(dt, CPU, 2, 1, 5, 4).expand(2, 3, 5, 4), b},
            };
            for (int c = 0; c < cases.length; c++) {
                Tensor x = cases[c][0], y = cases[c][1];
                assertClose(referenceMatmul(x, y), x.matmul(y).toDoubleArray(), tol, dt + " case " + c);
            }
        }
    }

    @Test
    void reductionsSoftmaxAndLayerNormOnViews() {
        Tensor x = randn(DType.F64, CPU, 4, 5, 6).transpose(0, 2); // [6, 5, 4]
        double[] v = x.toDoubleArray();
        double[] sum1 = new double[6 * 4], max02 = new double[5];
        java.util.Arrays.fill(max02, Double.NEGATIVE_INFINITY);
        for (int i = 0; i < 6; i++)
            for (int j = 0; j < 5; j++)
                for (int k = 0; k < 4; k++) {
                    double e = v[i * 20 + j * 4 + k];
                    sum1[i * 4 + k] += e;
                    max02[j] = Math.max(max02[j], e);
                }
        assertClose(sum1, x.sum(1).toDoubleArray(), 1e-14, "sum over axis 1");
        assertClose(max02, x.max(0, 2).toDoubleArray(), 0, "max over axes 0, 2");
        double total = 0;
        for (double e : v) total += e;
        assertEquals(total / v.length, x.mean().item(), 1e-14);

        double[] sm = x.softmax().toDoubleArray(), ln = CPU.layerNorm(x, Tensor.of(CPU, new double[] {1, 2, 3, 4}, 4),
                Tensor.of(CPU, new double[] {0, 0, 1, 1}, 4), 1e-12).y().toDoubleArray();
        for (int r = 0; r < 30; r++) {
            double mx = Double.NEGATIVE_INFINITY, z = 0, mu = 0, var = 0;
            for (int k = 0; k < 4; k++) mx = Math.max(mx, v[r * 4 + k]);
            for (int k = 0; k < 4; k++) z += Math.exp(v[r * 4 + k] - mx);
            for (int k = 0; k < 4; k++) mu += v[r * 4 + k] / 4;
            for (int k = 0; k < 4; k++) var += (v[r * 4 + k] - mu) * (v[r * 4 + k] - mu) / 4;
            for (int k = 0; k < 4; k++) {
                assertEquals(Math.exp(v[r * 4 + k] - mx) / z, sm[r * 4 + k], 1e-15);
                double g = k + 1, b = k < 2 ? 0 : 1;
                assertEquals((v[r * 4 + k] - mu) / Math.sqrt(var + 1e-12) * g + b, ln[r * 4 + k], 1e-12);
            }
        }
    }

    /** Sizes past the parallel grain, so two threads really split every op. */
    private double[][] runAll(CpuBackend be, long seed) {
        Random r = new Random(seed);
        float[] xs = new float[96 * 384], ws = new float[384 * 200], dys = new float[96 * 384];
        for (int i = 0; i < xs.length; i++) xs[i] = (float) r.nextGaussian();
        for (int i = 0; i < ws.length; i++) ws[i] = (float) r.nextGaussian();
        for (int i = 0; i < dys.length; i++) dys[i] = (float) r.nextGaussian();
        Tensor x = Tensor.of(be, xs, 96, 384), w = Tensor.of(be, ws, 384, 200), dy = Tensor.of(be, dys, 96, 384);
        Tensor gamma = be.full(DType.F32, new int[] {384}, 1.5), beta = be.full(DType.F32, new int[] {384}, 0.25);
        Backend.LayerNormOut ln = be.layerNorm(x, gamma, beta, 1e-12);
        Backend.LayerNormGrads lg = be.layerNormBackward(dy, x, gamma, ln.mean(), ln.rstd());
        int[] ids = new int[96];
        for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(10);
        Tensor idT = Tensor.of(be, ids, 96);
        return new double[][] {
            x.matmul(w).toDoubleArray(),
            x.transpose(0, 1).matmul(dy).toDoubleArray(),
            x.softmax().toDoubleArray(),
            be.softmaxBackward(x.softmax(), dy).toDoubleArray(),
            ln.y().toDoubleArray(), lg.dx().toDoubleArray(), lg.dgamma().toDoubleArray(), lg.dbeta().toDoubleArray(),
            x.sum(0).toDoubleArray(), x.sum(1).toDoubleArray(), x.mean().toDoubleArray(), x.max(0).toDoubleArray(),
            be.embeddingBackward(idT, dy, 10).toDoubleArray(),
            new double[] {be.sumOfSquares(x)},
        };
    }

    @Test
    void sameThreadCountGivesIdenticalBits() {
        double[][] first = runAll(CPU, 11), second = runAll(CPU, 11);
        for (int i = 0; i < first.length; i++) assertArrayEquals(first[i], second[i], 0.0, "output " + i);
    }

    @Test
    void orderedSumsDoNotDependOnTheThreadCount() {
        double[][] one = runAll(new CpuBackend(1), 11), two = runAll(CPU, 11), three = runAll(new CpuBackend(3), 11);
        // every op splits work by output element, each element reduced in one fixed order
        for (int i = 0; i < one.length; i++) {
            assertArrayEquals(one[i], two[i], 0.0, "output " + i + " with 1 vs 2 threads");
            assertArrayEquals(one[i], three[i], 0.0, "output " + i + " with 1 vs 3 threads");
        }
    }
}
