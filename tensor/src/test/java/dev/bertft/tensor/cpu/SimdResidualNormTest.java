package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Philox;
import dev.bertft.tensor.Simd;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The vector row kernels of dropout + residual + LayerNorm against the scalar ones (which run the
 * plain LayerNorm row kernel on the masked sum) on rows that are not a whole number of vectors,
 * and the packed kept bits against {@link Philox#kept}, element by element.
 */
class SimdResidualNormTest {
    private final Random random = new Random(7);

    private float[] randn(int n, double scale, double shift) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) (scale * random.nextGaussian() + shift);
        return f;
    }

    @Test
    void keptBitsAreDropoutsDecisions() {
        assumeTrue(Simd.AVAILABLE, "Vector API not enabled in this JVM");
        for (int n : new int[] {1, 31, 32, 33, 100, 768}) {
            int[] draws = new int[n], simd = new int[(n + 31) / 32 + 1], scalar = new int[simd.length];
            Philox.dropoutDraws(5, 9, 1000, draws, n);
            float p = 0.1f;
            int threshold = Philox.keepThreshold(p);
            SimdResidualNorm.packKept(draws, n, threshold, simd, 1);
            RowKernels.packKept(draws, n, threshold, scalar, 1);
            assertArrayEquals(scalar, simd, "n=" + n);
            for (int j = 0; j < n; j++) {
                assertEquals(Philox.kept(draws[j], p) ? 1.5f : 0f, RowKernels.factor(simd, 1, j, 1.5f), "n=" + n + " element " + j);
            }
        }
    }

    @Test
    void vectorRowsMatchScalarRows() {
        assumeTrue(Simd.AVAILABLE, "Vector API not enabled in this JVM");
        for (int n : new int[] {7, 33, 384, 1000}) {
            for (boolean drop : new boolean[] {false, true}) {
                int rows = 3, words = (n + 31) / 32;
                float[] x = randn(rows * n, 1, 0), res = randn(rows * n, 2, 3), gamma = randn(n, 0.2, 1), beta = randn(n, 0.5, 0);
                float[] dy = randn(rows * n, 1, 0);
                int[] kept = null;
                if (drop) {
                    kept = new int[rows * words];
                    int[] draws = new int[n];
                    for (int r = 0; r < rows; r++) {
                        Philox.dropoutDraws(1, 2, (long) r * n, draws, n);
                        RowKernels.packKept(draws, n, Philox.keepThreshold(0.1f), kept, r * words);
                    }
                }
                float scale = 1 / 0.9f;
                float[] s1 = new float[rows * n], y1 = new float[rows * n], m1 = new float[rows], v1 = new float[rows];
                float[] s2 = new float[rows * n], y2 = new float[rows * n], m2 = new float[rows], v2 = new float[rows];
                float[] dr1 = new float[rows * n], dx1 = new float[rows * n], dr2 = new float[rows * n], dx2 = new float[rows * n];
                float[] pg1 = new float[n], pb1 = new float[n], pg2 = new float[n], pb2 = new float[n];
                for (int r = 0; r < rows; r++) {
                    RowKernels.dropoutAddLayerNorm(x, res, kept, r * words, scale, gamma, beta, s1, y1, m1, v1, r, n, 1e-12f);
                    SimdResidualNorm.forward(x, res, kept, r * words, scale, gamma, beta, s2, y2, m2, v2, r, n, 1e-12f);
                    RowKernels.dropoutAddLayerNormBackward(dy, s1, gamma, m1[r], v1[r], kept, r * words, scale, dr1, dx1, r * n, n, pg1, pb1, 0);
                    SimdResidualNorm.backward(dy, s2, gamma, m2[r], v2[r], kept, r * words, scale, dr2, dx2, r * n, n, pg2, pb2, 0);
                }
                String what = "n=" + n + (drop ? " with dropout" : "");
                assertArrayEquals(s1, s2, what + ": the sum is exact in both");
                assertArrayEquals(m1, m2, 1e-5f, what + " mean");
                assertArrayEquals(v1, v2, 1e-5f * v1[0], what + " rstd");
                assertArrayEquals(y1, y2, 2e-5f, what + " y");
                assertArrayEquals(dr1, dr2, 2e-5f, what + " d residual");
                if (drop) assertArrayEquals(dx1, dx2, 4e-5f, what + " dx");
                assertArrayEquals(pg1, pg2, 1e-4f, what + " dgamma terms");
                assertArrayEquals(pb1, pb2, 1e-5f, what + " dbeta terms");
            }
        }
    }
}
