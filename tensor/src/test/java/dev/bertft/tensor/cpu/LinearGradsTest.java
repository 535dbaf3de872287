package dev.bertft.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Simd;
import dev.bertft.tensor.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A Linear layer's dW = dYᵀ·x and db = Σ_rows dY with db summed while the product packs dYᵀ
 * ({@link Gemm#sgemmWithRowSums}, {@link CpuBackend#linearGrads}), against float64 sums of the
 * same float inputs.
 *
 * <p>Bounds: dW as {@link GemmTest} (γ(T+1)·Σ|dY·x| per element, T rows). db is a double-precision
 * sum rounded once to float, so its error is at most half an ulp of the result plus T·2⁻⁵³·Σ|dY| (the
 * double sum's own error, far below an ulp of a float); a float32 running sum would exceed it.
 */
class LinearGradsTest {

    /**
     * Every m (the Linear's outputs: one row, a ragged 7, MiniLM's 384 and 1152) with every k (its
     * inputs) and every row count T, on 1 and 2 threads; 384 and 1152 split into bands over the two
     * threads, 7 rows of dYᵀ split by columns (each thread packs all of dYᵀ), 4096 rows cross k blocks.
     * dW is checked against float64 up to {@link #WEIGHT_REFERENCE_MAX} multiply-adds (1152×384×4096
     * would take seconds) and everywhere against the bits of the product without sums.
     */
    private static final long WEIGHT_REFERENCE_MAX = 1L << 30;

    @Test
    void sumsAndProductMatchFloat64ForEveryShape() {
        assertTrue(Simd.AVAILABLE, "tests run with --add-modules jdk.incubator.vector, so the sums must come from SimdGemm's packing");
        Random rnd = new Random(19);
        try (Parallel one = new Parallel(1); Parallel two = new Parallel(2)) {
            checkShapes(rnd, one, two);
        }
    }

    private static void checkShapes(Random rnd, Parallel one, Parallel two) {
        for (int m : new int[] {1, 7, 384, 1152}) {
            for (int k : new int[] {1, 33, 384}) {
                for (int rows : new int[] {1, 5, 4096}) {
                    float[] dy = randomFloats(rnd, rows * m), x = randomFloats(rnd, rows * k);
                    Reference ref = new Reference(dy, x, rows, m, k, (long) m * k * rows <= WEIGHT_REFERENCE_MAX);
                    for (Parallel pool : new Parallel[] {one, two}) {
                        String where = "m=" + m + " k=" + k + " rows=" + rows + " threads=" + pool.threads();
                        float[] dw = new float[m * k];
                        double[] sums = new double[m];
                        Gemm.sgemmWithRowSums(pool, true, false, m, k, rows, dy, 0, m, x, 0, k, dw, 0, k, sums);
                        ref.checkWeight(dw, where);
                        ref.checkBias(sums, where);
                        float[] plain = new float[m * k];
                        Gemm.sgemm(pool, true, false, m, k, rows, dy, 0, m, x, 0, k, 0f, plain, 0, k);
                        assertArrayEquals(plain, dw, where + ": dW must keep the bits of the product without sums");
                    }
                }
            }
        }
    }

    /**
     * Operands inside larger arrays, with rows longer than the matrices, and sums added to what is
     * there (m = 45: five full panels of dYᵀ and a ragged one).
     */
    @Test
    void sumsAddToTheTargetWithPaddedLayouts() {
        Random rnd = new Random(5);
        int m = 45, k = 70, rows = 900, lda = m + 3, ldb = k + 2, ldc = k + 5, aOff = 4, bOff = 1, cOff = 6;
        float[] a = randomFloats(rnd, aOff + rows * lda), b = randomFloats(rnd, bOff + rows * ldb);
        for (int threads = 1; threads <= 2; threads++) {
            try (Parallel pool = new Parallel(threads)) {
                double[] sums = new double[m + 1];
                java.util.Arrays.fill(sums, 0.25);
                float[] c = new float[cOff + m * ldc];
                Gemm.sgemmWithRowSums(pool, true, false, m, k, rows, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, sums);
                for (int i = 0; i < m; i++) {
                    double exact = 0.25;
                    for (int p = 0; p < rows; p++) exact += a[aOff + p * lda + i];
                    assertEquals(exact, sums[i], 1e-9, "row sum " + i + ", threads=" + pool.threads());
                }
                assertEquals(0.25, sums[m], "past the m sums nothing is written");
                float[] plain = new float[c.length];
                Gemm.sgemm(pool, true, false, m, k, rows, a, aOff, lda, b, bOff, ldb, 0f, plain, cOff, ldc);
                assertArrayEquals(plain, c, "the product keeps its bits, threads=" + pool.threads());
            }
        }
    }

    /**
     * The backend's linearGrads: dW with the bits of dYᵀ·x, db with the bits of dY.sum(0) (the
     * separate pass it replaces: the same double sum in the same order), the same on 1 and 2 threads,
     * and db taken in the product (the counter), not by a second pass over dY.
     */
    @Test
    void backendTakesBiasGradientFromTheProduct() {
        Random rnd = new Random(11);
        int rows = 300, n = 384, k = 200;
        float[] dyValues = randomFloats(rnd, rows * (n + 2)), xValues = randomFloats(rnd, rows * k);
        float[][] weights = new float[2][], biases = new float[2][];
        for (int threads = 1; threads <= 2; threads++) {
            CpuBackend cpu = new CpuBackend(threads);
            // dY as a view with an offset, as a slice of a wider gradient would be
            Tensor dy = cpu.fromHost(dyValues, DType.F32, rows, n + 2).narrow(1, 1, n);
            Tensor x = cpu.fromHost(xValues, DType.F32, rows, k);
            long before = cpu.biasSumsInProduct();
            Backend.LinearGrads got = cpu.linearGrads(dy, x, DType.F32);
            assertEquals(before + 1, cpu.biasSumsInProduct(), "db must come from the product's packing of dY, not a second pass");
            assertArrayEquals(new int[] {n, k}, got.weight().shape());
            assertArrayEquals(new int[] {n}, got.bias().shape());
            assertArrayEquals(dy.transpose(0, 1).matmul(x).toFloatArray(), got.weight().toFloatArray(), "dW, threads=" + threads);
            assertArrayEquals(dy.sum(0).toFloatArray(), got.bias().toFloatArray(), "db, threads=" + threads);
            weights[threads - 1] = got.weight().toFloatArray();
            biases[threads - 1] = got.bias().toFloatArray();
        }
        assertArrayEquals(weights[0], weights[1], "dW on 1 and 2 threads");
        assertArrayEquals(biases[0], biases[1], "db on 1 and 2 threads");
    }

    /** Float64 gradients (the gradient checks) keep the default way, and its values. */
    @Test
    void doublePrecisionTakesTheDefaultWay() {
        CpuBackend cpu = new CpuBackend(1);
        Tensor dy = cpu.fromHost(new double[] {1, 2, 3, 4, 5, 6}, DType.F64, 3, 2);
        Tensor x = cpu.fromHost(new double[] {1, -1, 0.5, 2, 0, 1}, DType.F64, 3, 2);
        Backend.LinearGrads got = cpu.linearGrads(dy, x, DType.F64);
        assertEquals(0, cpu.biasSumsInProduct());
        // dW[i][j] = Σ_t dY[t][i]·x[t][j], db[i] = Σ_t dY[t][i], worked by hand
        assertArrayEquals(new double[] {1 + 1.5, -1 + 6 + 5, 2 + 2, -2 + 8 + 6}, got.weight().toDoubleArray());
        assertArrayEquals(new double[] {9, 12}, got.bias().toDoubleArray());
    }

    /** float64 dW and db of one shape, with the magnitudes the error bounds need. */
    private static final class Reference {
        final double[] dw, dwMagnitude, db, dbMagnitude;
        final int rows, m, k;

        /** withWeight false: db only, and {@link #checkWeight} checks nothing. */
        Reference(float[] dy, float[] x, int rows, int m, int k, boolean withWeight) {
            this.rows = rows;
            this.m = m;
            this.k = withWeight ? k : 0;
            dw = new double[m * this.k];
            dwMagnitude = new double[m * this.k];
            db = new double[m];
            dbMagnitude = new double[m];
            for (int t = 0; t < rows; t++) {
                for (int i = 0; i < m; i++) {
                    double g = dy[t * m + i];
                    db[i] += g;
                    dbMagnitude[i] += Math.abs(g);
                    for (int j = 0; j < this.k; j++) {
                        double product = g * x[t * k + j];
                        dw[i * k + j] += product;
                        dwMagnitude[i * k + j] += Math.abs(product);
                    }
                }
            }
        }

        void checkWeight(float[] got, String where) {
            double u = Math.ulp(1.0f) / 2, gamma = (rows + 1) * u / (1 - (rows + 1) * u);
            for (int e = 0; e < dw.length; e++) {
                double err = Math.abs(got[e] - dw[e]);
                if (!(err <= gamma * dwMagnitude[e])) {
                    fail(where + ": dW[" + e / k + "][" + e % k + "] = " + got[e] + ", expected " + dw[e] + " (error " + err + ")");
                }
            }
        }

        /**
         * db within the bound of the class comment, and each double sum equal to this class's own
         * loop over the rows in order: the order reduce used, whichever thread packed which rows.
         */
        void checkBias(double[] sums, String where) {
            for (int i = 0; i < m; i++) {
                if (sums[i] != db[i]) fail(where + ": sum of row " + i + " is " + sums[i] + ", the rows in order give " + db[i]);
                float got = (float) sums[i];
                double bound = Math.ulp(got) / 2 + rows * Math.ulp(1.0) / 2 * dbMagnitude[i];
                double err = Math.abs(got - db[i]);
                if (!(err <= bound)) {
                    fail(where + ": db[" + i + "] = " + got + ", expected " + db[i] + " (error " + err + " > " + bound + ")");
                }
            }
        }
    }

    private static float[] randomFloats(Random rnd, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }
}
