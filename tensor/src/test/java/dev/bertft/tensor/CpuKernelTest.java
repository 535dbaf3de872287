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

    /**
     * GELU(x) = x·Φ(x) and GELU'(x) = Φ(x) + x·φ(x) at x = ±z·√2 for z on both sides of the
     * switch between erf's series (|z| < 3) and continued-fraction (|z| ≥ 3) branches. Reference
     * values from mpmath at 40 digits: x/2·erfc(−x/√2) and erfc(−x/√2)/2 + x·e^{−x²/2}/√(2π).
     */
    @Test
    void geluAgainstHighPrecisionValues() {
        double[][] ref = {
            {0.3535533905932738, 2.2562476137382692e-1, 7.7066496125613276e-1},
            {-0.3535533905932738, -1.2792862921944687e-1, 2.2933503874386724e-1},
            {1.4142135623730951, 1.3029862263925718, 1.1289041451851548},
            {-1.4142135623730951, -1.1122733598052339e-1, -1.2890414518515479e-1},
            {2.8284271247461903, 2.8218118084948062, 1.0183281178635684},
            {-2.8284271247461903, -6.6153162513840925e-3, -1.8328117863568412e-2},
            {4.1012193308819755, 4.1011350551759157, 1.0003437068551053},
            {-4.1012193308819755, -8.4275706059865817e-5, -3.4370685510532793e-4},
            {4.384062043356595, 4.3840365091382851, 1.000111453734851},
            {-4.384062043356595, -2.553421830980293e-5, -1.1145373485104006e-4},
            {5.656854249492381, 5.6568542058857901, 1.0000002462560645},
            {-5.656854249492381, -4.3606590434359402e-8, -2.4625606448719064e-7},
            {7.0710678118654755, 7.0710678118600398, 1.0000000000384084},
            {-7.0710678118654755, -5.4357412322086839e-12, -3.8408436430329251e-11},
            {8.343860018001262, 8.3438600180012618, 1.0000000000000025},
            {-8.343860018001262, -2.9997886353005767e-16, -2.5020160577732782e-15},
            {9.19238815542512, 9.1923881554251192, 1.0},
            {-9.19238815542512, -1.7659259386804907e-19, -1.6228777593597381e-18},
        };
        double[] x = new double[ref.length];
        for (int i = 0; i < x.length; i++) x[i] = ref[i][0];
        for (DType dt : new DType[] {DType.F64, DType.F32}) {
            // F64: the erf series and continued fraction are good to ~1e-15 relative; in the far left
            // tail 1 + erf(x/√2) cancels, leaving an absolute error of a few ulps of 1, times |x|.
            // F32: float rounding of x and of the result.
            double rtol = dt == DType.F64 ? 1e-13 : 2e-6, atol = dt == DType.F64 ? 1e-14 : 1e-7;
            Tensor xt = Tensor.of(CPU, x, x.length).cast(dt);
            double[] y = xt.gelu().toDoubleArray();
            double[] dy = CPU.geluBackward(xt, Tensor.of(CPU, new double[x.length], x.length).add(1.0).cast(dt)).toDoubleArray();
            double[] xr = xt.toDoubleArray(); // x as the dtype holds it
            for (int i = 0; i < x.length; i++) {
                // in F32 the input itself is rounded: allow for GELU' · Δx
                double slack = Math.abs(xr[i] - x[i]) * 1.2;
                assertEquals(ref[i][1], y[i], atol + rtol * Math.abs(ref[i][1]) + slack, dt + " gelu(" + x[i] + ")");
                assertEquals(ref[i][2], dy[i], atol + rtol * Math.abs(ref[i][2]) + slack, dt + " gelu'(" + x[i] + ")");
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
        // fused attention with dropout, [B=2, NH=4, T=64, HS=16], the last 10 keys of batch 1 padded
        Tensor xs4 = x.reshape(-1).narrow(0, 0, 2 * 4 * 64 * 18).reshape(2, 4, 64, 18);
        Tensor dys4 = dy.reshape(-1).narrow(0, 0, 2 * 4 * 64 * 18).reshape(2, 4, 64, 18);
        Tensor q = xs4.narrow(-1, 0, 16), k = dys4.narrow(-1, 1, 16), v = xs4.narrow(-1, 2, 16), dOut = dys4.narrow(-1, 2, 16);
        float[] maskValues = new float[2 * 64];
        for (int j = 54; j < 64; j++) maskValues[64 + j] = -Float.MAX_VALUE;
        Tensor mask = Tensor.of(be, maskValues, 2, 64);
        Backend.AttentionOut att = be.attention(q, k, v, mask, 0.25, 0.1, 5, 9);
        Backend.AttentionGrads ag = be.attentionBackward(dOut, q, k, v, mask, att, 0.25, 0.1, 5, 9);
        return new double[][] {
            att.out().toDoubleArray(), att.logSumExp().toDoubleArray(),
            ag.dq().toDoubleArray(), ag.dk().toDoubleArray(), ag.dv().toDoubleArray(),
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

    /**
     * A vocabulary large enough to be shared out between threads, repeated ids, and the gradient's
     * array taken back from a closed memory scope still holding the previous step's sums: every row
     * is exactly the float sum of its tokens' rows in token order (zero for the others).
     */
    @Test
    void embeddingBackwardSumsEachRowsTokensInOrderOverAReusedArray() {
        int vocab = 3000, h = 48, tokens = 40;
        int[] ids = new int[tokens];
        for (int t = 0; t < tokens; t++) ids[t] = t % 3 == 0 ? 7 : (t * 977) % vocab; // 7 many times
        float[] dy = new float[tokens * h];
        for (int i = 0; i < dy.length; i++) dy[i] = (float) rng.nextGaussian();
        float[] expected = new float[vocab * h];
        for (int t = 0; t < tokens; t++) for (int c = 0; c < h; c++) expected[ids[t] * h + c] += dy[t * h + c];
        for (CpuBackend be : new CpuBackend[] {new CpuBackend(1), CPU, new CpuBackend(3)}) {
            Tensor idT = Tensor.of(be, ids, tokens), g = Tensor.of(be, dy, tokens, h);
            for (int step = 0; step < 2; step++) {
                try (Backend.Scope scope = be.openScope()) {
                    float[] dirty = new float[vocab * h];
                    java.util.Arrays.fill(dirty, step + 1f);
                    be.fromHost(dirty, DType.F32, vocab, h); // a step's tensor of the same size, given back below
                }
                try (Backend.Scope scope = be.openScope()) {
                    assertArrayEquals(expected, (float[]) be.embeddingBackward(idT, g, vocab).toHost(), be.threads() + " threads, step " + step);
                }
            }
        }
    }
}
