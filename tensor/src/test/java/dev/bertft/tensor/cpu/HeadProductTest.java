package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Simd;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The attention head products against a double-precision triple loop reading the same strided
 * layouts, and the vector kernel against the scalar fused multiply-add chain bit for bit (the
 * promise that lets it replace {@link Gemm} without changing a result). Shapes cover the full
 * 8-row × 2-vector tiles (head sizes 32 and 64), the row and masked-column tails, and A read
 * transposed, as dv = P̃ᵀ·dout and dk = dSᵀ·q read it.
 */
class HeadProductTest {
    /** m, n, k: S = q·kᵀ and P̃·v at T = 128 and 70, head sizes 32, 64 and 20. */
    private static final int[][] SHAPES = {{128, 128, 32}, {128, 32, 128}, {128, 64, 128}, {70, 70, 64}, {70, 20, 70}, {5, 37, 9}};

    private final Random random = new Random(5);

    @Test
    void matchesFloat64Reference() {
        for (int[] s : SHAPES) {
            for (boolean transA : new boolean[] {false, true}) {
                Case c = new Case(s[0], s[1], s[2], transA);
                HeadProduct.product(c.m, c.n, c.k, c.a, c.aOff, c.lda, c.transA, c.b, c.bOff, c.ldb, c.c, c.cOff, c.ldc);
                c.assertNearReference();
            }
        }
    }

    @Test
    void vectorKernelGivesTheScalarChainsBits() {
        assumeTrue(Simd.AVAILABLE, "Vector API not enabled in this JVM");
        for (int[] s : SHAPES) {
            for (boolean transA : new boolean[] {false, true}) {
                Case c = new Case(s[0], s[1], s[2], transA);
                float[] scalar = c.c.clone();
                SimdHeadProduct.product(c.m, c.n, c.k, c.a, c.aOff, c.lda, c.transA, c.b, c.bOff, c.ldb, c.c, c.cOff, c.ldc);
                HeadProduct.scalarProduct(c.m, c.n, c.k, c.a, c.aOff, c.lda, c.transA, c.b, c.bOff, c.ldb, scalar, c.cOff, c.ldc);
                for (int i = 0; i < scalar.length; i++) {
                    assertEquals(Float.floatToRawIntBits(scalar[i]), Float.floatToRawIntBits(c.c[i]),
                            c + " element " + i + ": " + scalar[i] + " vs " + c.c[i]);
                }
            }
        }
    }

    /** One product with operands at offsets and strides wider than their rows, C pre-filled with NaN. */
    private final class Case {
        final int m, n, k, lda, aRow, aK, ldb, ldc, aOff = 3, bOff = 5, cOff = 7;
        final boolean transA;
        final float[] a, b, c;

        Case(int m, int n, int k, boolean transA) {
            this.m = m;
            this.n = n;
            this.k = k;
            this.transA = transA;
            lda = (transA ? m : k) + 4;
            aRow = transA ? 1 : lda;
            aK = transA ? lda : 1;
            ldb = n + 3;
            ldc = n + 2;
            a = fill(aOff + (transA ? k : m) * lda);
            b = fill(bOff + k * ldb);
            c = new float[cOff + m * ldc + 1];
            java.util.Arrays.fill(c, Float.NaN);
        }

        private float[] fill(int len) {
            float[] x = new float[len];
            for (int i = 0; i < len; i++) x[i] = (float) random.nextGaussian();
            return x;
        }

        /** Within γ(k)·Σ|a·b| of the exact sum (Higham §3.1), and C untouched outside the product. */
        void assertNearReference() {
            double u = Math.ulp(1.0f) / 2, gamma = k * u / (1 - k * u);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double exact = 0, magnitude = 0;
                    for (int p = 0; p < k; p++) {
                        double x = (double) a[aOff + i * aRow + p * aK] * b[bOff + p * ldb + j];
                        exact += x;
                        magnitude += Math.abs(x);
                    }
                    assertEquals(exact, c[cOff + i * ldc + j], gamma * magnitude, this + " C(" + i + ", " + j + ")");
                }
                for (int j = n; j < ldc && i < m - 1; j++) assertEquals(Float.NaN, c[cOff + i * ldc + j], this + " padding");
            }
        }

        @Override
        public String toString() {
            return m + "x" + n + "x" + k + (transA ? " (A transposed)" : "");
        }
    }
}
