package dev.bertft.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.bertft.tensor.DType;
import dev.bertft.tensor.Simd;
import dev.bertft.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A Linear weight packed once for prediction: X·Wᵀ against a float64 triple loop, within GemmTest's
 * worst-case bound γ(k)·Σ|X·W|, and with the bits of {@link Gemm#sgemm}, which it stands in for.
 */
class SimdPackedWeightTest {

    /**
     * m, n, k: single elements, ragged tiles (m not a multiple of MR, n not of NR), k over several KC
     * blocks and unevenly split, m over MC; on two threads, rows split (a bert-base-like 128×96×768,
     * 150×40×1600 and 400×64×200, whose bands cross MC blocks) and columns split (16×512×768).
     */
    private static final int[][] SHAPES = {
            {1, 1, 1}, {1, 2, 5}, {7, 33, 17}, {128, 96, 768}, {150, 40, 1600}, {9, 70, 769}, {300, 64, 40},
            {400, 64, 200}, {16, 512, 768},
    };

    @Test
    void productMatchesReferenceAndGemmBits() {
        assertTrue(Simd.AVAILABLE, "tests run with --add-modules jdk.incubator.vector");
        try (Parallel one = new Parallel(1); Parallel two = new Parallel(2)) {
            checkShapes(one, two);
        }
    }

    private static void checkShapes(Parallel one, Parallel two) {
        Random rnd = new Random(11);
        for (int[] s : SHAPES) {
            int m = s[0], n = s[1], k = s[2], wOff = 3, xOff = 2, ldx = k + 4, cOff = 1, ldc = n + 3;
            float[] w = randomFloats(rnd, wOff + n * k), x = randomFloats(rnd, xOff + m * ldx);
            SimdPackedWeight packed = SimdPackedWeight.pack(two, w, wOff, n, k);
            for (Parallel pool : new Parallel[] {one, two}) {
                String where = "m=" + m + " n=" + n + " k=" + k + " threads=" + pool.threads();
                float[] c = new float[cOff + m * ldc], expected = new float[c.length];
                java.util.Arrays.fill(c, Float.NaN);
                java.util.Arrays.fill(expected, Float.NaN);
                packed.product(pool, m, x, xOff, ldx, c, cOff, ldc, null);
                Gemm.sgemm(pool, false, true, m, n, k, x, xOff, ldx, w, wOff, k, 0f, expected, cOff, ldc);
                double u = Math.ulp(1.0f) / 2, gamma = k * u / (1 - k * u);
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double exact = 0, magnitude = 0;
                        for (int p = 0; p < k; p++) {
                            double term = (double) x[xOff + i * ldx + p] * w[wOff + j * k + p];
                            exact += term;
                            magnitude += Math.abs(term);
                        }
                        float got = c[cOff + i * ldc + j];
                        assertTrue(Math.abs(got - exact) <= gamma * magnitude, where + " (" + i + "," + j + "): " + got + " vs " + exact);
                    }
                }
                // the gaps between C's rows stay untouched (NaN in both)
                assertArrayEquals(expected, c, where);
                // with a bias: the product's bits, then one addition per element
                float[] bias = randomFloats(rnd, 4 + n), biased = new float[c.length];
                java.util.Arrays.fill(biased, Float.NaN);
                packed.product(pool, m, x, xOff, ldx, biased, cOff, ldc, new Epilogue.Bias(bias, 4));
                for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) expected[cOff + i * ldc + j] += bias[4 + j];
                assertArrayEquals(expected, biased, where + " with bias");
            }
        }
    }

    @Test
    void heldWeightGivesLinearTheSameBits() {
        CpuBackend cpu = new CpuBackend(2);
        {
            Random rnd = new Random(5);
            int n = 40, k = 300;
            Tensor w = cpu.fromHost(randomFloats(rnd, n * k), DType.F32, n, k);
            Tensor bias = cpu.fromHost(randomFloats(rnd, n), DType.F32, n);
            // x is a view starting inside its storage: [2, 70, k] rows 1.. of a [2, 71, k] tensor
            Tensor x = cpu.fromHost(randomFloats(rnd, 2 * 71 * k), DType.F32, 2, 71, k).narrow(1, 1, 70);
            float[] plain = (float[]) cpu.toHost(x.linear(w, bias));
            cpu.holdLinearWeight(w);
            assertNotNull(cpu.own(w).packedWeight, "a float32 weight is packed when held");
            Tensor y = x.linear(w, bias);
            assertArrayEquals(new int[] {2, 70, n}, y.shape());
            assertArrayEquals(plain, (float[]) cpu.toHost(y));
            // rows of the held weight: a view the packed copy does not describe, computed from the plain copy
            Tensor rows = w.narrow(0, 8, 16);
            assertArrayEquals((float[]) cpu.toHost(x.linear(rows, null).contiguous()),
                    (float[]) cpu.toHost(x.linear(w, null).narrow(2, 8, 16).contiguous()));
        }
    }

    private static float[] randomFloats(Random rnd, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) x[i] = rnd.nextFloat() * 2 - 1;
        return x;
    }
}
