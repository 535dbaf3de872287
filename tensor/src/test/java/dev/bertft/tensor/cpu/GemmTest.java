package dev.bertft.tensor.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.bertft.tensor.Simd;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Checks every GEMM path against a plain triple loop in double precision that reads the operands
 * straight from their stored layout.
 *
 * <p>Tolerance: a float sum of k products, in any order and with or without fused multiply-adds,
 * differs from the exact value by at most γ(k+1)·(Σ_p |A(i,p)·B(p,j)| + |C0(i,j)|), where
 * γ(n) = n·u/(1 - n·u) and u = 2^-24 (Higham, Accuracy and Stability of Numerical Algorithms, §3.1;
 * the +1 covers adding the old C). The double reference adds error far below that. So the test bound
 * is that worst case, per element: a wrong index or a missed block gives errors of order |A·B|,
 * thousands of times larger.
 */
class GemmTest {

    private static Parallel one, two;

    @BeforeAll
    static void pools() {
        one = new Parallel(1);
        two = new Parallel(2);
    }

    @AfterAll
    static void close() {
        one.close();
        two.close();
    }

    /** The float entry points under test share sgemmBatched's signature. */
    interface FloatGemm {
        void run(Parallel pool, int batch, boolean transA, boolean transB, int m, int n, int k,
                 float[] a, int aOff, int lda, int aStride, float[] b, int bOff, int ldb, int bStride,
                 float beta, float[] c, int cOff, int ldc, int cStride);
    }

    private static final FloatGemm DISPATCH = Gemm::sgemmBatched;
    private static final FloatGemm SCALAR = (pool, batch, tA, tB, m, n, k, a, aOff, lda, aS, b, bOff, ldb, bS, beta, c, cOff, ldc, cS) ->
            ScalarGemm.sgemmBatched(pool, batch, tA, tB, m, n, k, a, aOff, lda, aS, b, bOff, ldb, bS, beta != 0, c, cOff, ldc, cS);

    /**
     * m, n, k: single elements, odd sizes, k across several KC blocks, m across MC, n across NR panels
     * and NC; 200×100×600 is split over rows on two threads, 7×300×2000 over columns.
     */
    private static final int[][] SHAPES = {
            {1, 1, 1}, {1, 5, 3}, {3, 1, 17}, {3, 17, 5}, {17, 3, 33}, {6, 32, 8}, {7, 33, 1},
            {13, 70, 300}, {150, 40, 20}, {7, 300, 2000}, {200, 100, 600}, {64, 64, 64}, {150, 40, 1600}, {3, 1600, 4},
    };

    @Test
    void simdPathMatchesReference() {
        assertTrue(Simd.AVAILABLE, "tests run with --add-modules jdk.incubator.vector, so Gemm must take the SIMD path");
        checkAllShapes(DISPATCH);
    }

    @Test
    void scalarPathMatchesReference() {
        checkAllShapes(SCALAR);
    }

    private static void checkAllShapes(FloatGemm gemm) {
        Random rnd = new Random(42);
        for (int[] s : SHAPES) {
            for (int flags = 0; flags < 4; flags++) {
                for (float beta : new float[] {0, 1}) {
                    for (Parallel pool : new Parallel[] {one, two}) {
                        checkFloat(gemm, pool, rnd, 1, (flags & 1) != 0, (flags & 2) != 0, s[0], s[1], s[2], beta);
                    }
                }
            }
        }
    }

    @Test
    void batchedMatchesReference() {
        Random rnd = new Random(7);
        for (FloatGemm gemm : new FloatGemm[] {DISPATCH, SCALAR}) {
            for (Parallel pool : new Parallel[] {one, two}) {
                // attention-like: scores = Q·Kᵀ and context = P·V, plus odd sizes and a single product
                checkFloat(gemm, pool, rnd, 6, false, true, 32, 32, 16, 0);
                checkFloat(gemm, pool, rnd, 6, false, false, 32, 16, 32, 1);
                checkFloat(gemm, pool, rnd, 5, true, false, 7, 9, 11, 0);
                checkFloat(gemm, pool, rnd, 3, true, true, 19, 35, 40, 1);
                checkFloat(gemm, pool, rnd, 1, false, false, 70, 90, 300, 0);
            }
        }
    }

    /**
     * Runs one (batched) product with padded layouts: every matrix starts at a nonzero offset, rows
     * are longer than the matrix (lda/ldb/ldc above the width), and batch strides leave gaps. C
     * starts as NaN (beta 0) or random values (beta 1); everything outside C's elements must come back
     * untouched.
     */
    private static void checkFloat(FloatGemm gemm, Parallel pool, Random rnd, int batch, boolean transA, boolean transB,
                                   int m, int n, int k, float beta) {
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + 3, ldb = bCols + 1, ldc = n + 5;
        int aOff = 2, bOff = 5, cOff = 3;
        int aStride = aRows * lda + 4, bStride = bRows * ldb + 1, cStride = m * ldc + 7;
        float[] a = randomFloats(rnd, aOff + batch * aStride);
        float[] b = randomFloats(rnd, bOff + batch * bStride);
        float[] c0 = randomFloats(rnd, cOff + batch * cStride + 2);
        boolean[] inC = new boolean[c0.length];
        for (int t = 0; t < batch; t++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    int at = cOff + t * cStride + i * ldc + j;
                    inC[at] = true;
                    if (beta == 0) c0[at] = Float.NaN;
                }
            }
        }
        float[] c = c0.clone();
        gemm.run(pool, batch, transA, transB, m, n, k, a, aOff, lda, aStride, b, bOff, ldb, bStride, beta, c, cOff, ldc, cStride);

        String where = "batch=" + batch + " transA=" + transA + " transB=" + transB + " m=" + m + " n=" + n + " k=" + k
                + " beta=" + beta + " threads=" + pool.threads();
        double u = Math.ulp(1.0f) / 2;
        double gamma = (k + 1) * u / (1 - (k + 1) * u);
        for (int t = 0; t < batch; t++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double exact = 0, magnitude = 0;
                    for (int p = 0; p < k; p++) {
                        double aip = transA ? a[aOff + t * aStride + p * lda + i] : a[aOff + t * aStride + i * lda + p];
                        double bpj = transB ? b[bOff + t * bStride + j * ldb + p] : b[bOff + t * bStride + p * ldb + j];
                        exact += aip * bpj;
                        magnitude += Math.abs(aip * bpj);
                    }
                    int at = cOff + t * cStride + i * ldc + j;
                    if (beta != 0) {
                        exact += c0[at];
                        magnitude += Math.abs(c0[at]);
                    }
                    double err = Math.abs(c[at] - exact);
                    if (!(err <= gamma * magnitude)) {
                        fail(where + ": C[" + t + "][" + i + "][" + j + "] = " + c[at] + ", expected " + exact
                                + " (error " + err + " > bound " + gamma * magnitude + ")");
                    }
                }
            }
        }
        for (int x = 0; x < c.length; x++) {
            if (!inC[x] && Float.floatToRawIntBits(c[x]) != Float.floatToRawIntBits(c0[x])) {
                fail(where + ": wrote outside C at index " + x);
            }
        }
    }

    @Test
    void resultsAreBitIdenticalRunToRunAndAcrossThreadCounts() {
        Random rnd = new Random(3);
        int m = 301, n = 190, k = 700;
        float[] a = randomFloats(rnd, m * k), b = randomFloats(rnd, n * k);
        float[] first = new float[m * n], again = new float[m * n], single = new float[m * n];
        Gemm.sgemm(two, false, true, m, n, k, a, 0, k, b, 0, k, 0, first, 0, n);
        Gemm.sgemm(two, false, true, m, n, k, a, 0, k, b, 0, k, 0, again, 0, n);
        Gemm.sgemm(one, false, true, m, n, k, a, 0, k, b, 0, k, 0, single, 0, n);
        assertArrayEquals(first, again, "same inputs, same threads");
        // each element's summation order depends only on k, so the thread count does not matter either
        assertArrayEquals(first, single, "1 vs 2 threads");
    }

    /**
     * The SIMD path's summation order, bit for bit: each element of C is one float fused
     * multiply-add chain over p in order, started from 0 or from the old C, even when k spans
     * several KC blocks and for edge tiles. Checked against that chain written out with Math.fma,
     * for each transpose, both betas and one and two threads.
     */
    @Test
    void simdSumsEachElementAsOneFmaChainOverK() {
        assertTrue(Simd.AVAILABLE, "tests run with --add-modules jdk.incubator.vector, so Gemm must take the SIMD path");
        Random rnd = new Random(11);
        int m = 19, n = 37, k = 1700; // three KC blocks; 19 and 37 leave edge tiles in both directions
        for (int flags = 0; flags < 4; flags++) {
            boolean transA = (flags & 1) != 0, transB = (flags & 2) != 0;
            float[] a = randomFloats(rnd, m * k), b = randomFloats(rnd, k * n), c0 = randomFloats(rnd, m * n);
            for (float beta : new float[] {0, 1}) {
                float[] expected = fmaChains(transA, transB, m, n, k, a, b, beta == 0 ? null : c0);
                for (Parallel pool : new Parallel[] {one, two}) {
                    float[] c = c0.clone();
                    Gemm.sgemm(pool, transA, transB, m, n, k, a, 0, transA ? m : k, b, 0, transB ? k : n, beta, c, 0, n);
                    assertArrayEquals(expected, c, "transA=" + transA + " transB=" + transB + " beta=" + beta
                            + " threads=" + pool.threads());
                }
            }
        }
    }

    /**
     * The same FMA chains, bit for bit, on products large enough to be split across threads, for
     * 1, 2 and 3 threads: rows of C split with B packed once for all threads (40×70 without
     * transposed B) or, B being small, by each thread (150×37), columns split (20×300 without
     * transposed B), and op(A)·Bᵀ on few rows, where W is read in
     * place and C written transposed (40×70 and 20×300 with transposed B; 37 and 70 leave edge
     * rows of W and of the packed op(A)). k = 1700 and 1000 span two and three blocks of KC.
     * 520×64: two threads of 260 rows, each packing B for itself; 320×256 over k = 1600: taller
     * than wide but with three blocks of k, so its columns are split.
     */
    @Test
    void splitProductsSumEachElementAsOneFmaChainForAnyThreadCount() {
        Random rnd = new Random(12);
        try (Parallel three = new Parallel(3)) {
            for (int[] s : new int[][] {{150, 37, 1000}, {40, 70, 1700}, {20, 300, 800}, {520, 64, 1600}, {320, 256, 1600}}) {
                int m = s[0], n = s[1], k = s[2];
                for (int flags = 0; flags < 4; flags++) {
                    boolean transA = (flags & 1) != 0, transB = (flags & 2) != 0;
                    float[] a = randomFloats(rnd, m * k), b = randomFloats(rnd, k * n), c0 = randomFloats(rnd, m * n);
                    for (float beta : new float[] {0, 1}) {
                        float[] expected = fmaChains(transA, transB, m, n, k, a, b, beta == 0 ? null : c0);
                        for (Parallel pool : new Parallel[] {one, two, three}) {
                            float[] c = c0.clone();
                            Gemm.sgemm(pool, transA, transB, m, n, k, a, 0, transA ? m : k, b, 0, transB ? k : n, beta, c, 0, n);
                            assertArrayEquals(expected, c, m + "x" + n + "x" + k + " transA=" + transA + " transB=" + transB
                                    + " beta=" + beta + " threads=" + pool.threads());
                        }
                    }
                }
            }
        }
    }

    /**
     * Each epilogue on every path gives the bits of the product (each element's fused multiply-add
     * chain) followed by the separate step over whole rows: one float addition of the column's
     * bias; GELU of product + bias, into another matrix or over C, and GELU' of it over C beside
     * GELU; C times GELU' of another product + bias, taken there or saved by that product's GELU
     * (the same bits); another matrix plus C. Paths: one thread, rows split (shared and own B
     * packing), columns split, few rows (W read in place), k over several blocks, n over more than
     * one NC block and not a multiple of the vector length, and every matrix at an offset with a
     * row stride wider than n (whose padding must stay untouched).
     */
    @Test
    void epiloguesGiveTheBitsOfTheProductThenTheStepOnEveryPath() {
        Random rnd = new Random(13);
        try (Parallel three = new Parallel(3)) {
            int[][] shapes = {{150, 37, 1000}, {40, 70, 1700}, {20, 300, 800}, {520, 64, 1600}, {4096 / 8, 384, 384},
                              {96, 384, 1536}, {64, 1600, 40}, {7, 5, 3}, {30, 20, 0}};
            for (int[] s : shapes) {
                int m = s[0], n = s[1], k = s[2], ld = n + 3, off = 2, biasOff = 5;
                for (int flags = 0; flags < 4; flags++) {
                    boolean transA = (flags & 1) != 0, transB = (flags & 2) != 0;
                    float[] a = randomFloats(rnd, m * k), b = randomFloats(rnd, k * n), bias = randomFloats(rnd, biasOff + n);
                    float[] chains = fmaChains(transA, transB, m, n, k, a, b, null);
                    float[] other = randomFloats(rnd, off + m * ld); // the forward's product, for GELU's derivative
                    float[] biased = new float[m * n], gelu = new float[m * n], geluGrad = new float[m * n], arg = new float[n];
                    float[] sum = new float[m * n], ones = new float[m * n], derivative = new float[m * n];
                    float[] savedDerivative = padded(off + m * ld); // GELU' of other + bias, as other's GELU saves it
                    java.util.Arrays.fill(ones, 1f);
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < n; j++) {
                            biased[i * n + j] = chains[i * n + j] + bias[biasOff + j];
                            arg[j] = other[off + i * ld + j] + bias[biasOff + j];
                            sum[i * n + j] = other[off + i * ld + j] + chains[i * n + j];
                        }
                        geluRow(biased, i * n, gelu, n);
                        geluGradRow(arg, 0, chains, i * n, geluGrad, i * n, n);
                        geluGradRow(biased, i * n, ones, i * n, derivative, i * n, n);
                        geluGradRow(arg, 0, ones, i * n, savedDerivative, off + i * ld, n);
                    }
                    for (Parallel pool : new Parallel[] {one, two, three}) {
                        String where = m + "x" + n + "x" + k + " transA=" + transA + " transB=" + transB + " threads=" + pool.threads();
                        float[] c = product(pool, transA, transB, m, n, k, a, b, off, ld, new Epilogue.Bias(bias, biasOff));
                        assertMatrix(biased, c, off, ld, m, n, where + " bias");
                        float[] y = padded(off + m * ld);
                        c = product(pool, transA, transB, m, n, k, a, b, off, ld, new Epilogue.BiasGelu(bias, biasOff, y, off, ld, false));
                        assertMatrix(chains, c, off, ld, m, n, where + " C under bias and GELU");
                        assertMatrix(gelu, y, off, ld, m, n, where + " bias and GELU");
                        y = padded(off + m * ld);
                        c = product(pool, transA, transB, m, n, k, a, b, off, ld, new Epilogue.BiasGelu(bias, biasOff, y, off, ld, true));
                        assertMatrix(gelu, y, off, ld, m, n, where + " bias and GELU beside its derivative");
                        assertMatrix(derivative, c, off, ld, m, n, where + " GELU's derivative over C");
                        c = padded(off + m * ld);
                        Gemm.sgemm(pool, transA, transB, m, n, k, a, 0, transA ? m : k, b, 0, transB ? k : n, c, off, ld,
                                new Epilogue.BiasGelu(bias, biasOff, c, off, ld, false));
                        assertMatrix(gelu, c, off, ld, m, n, where + " bias and GELU over C");
                        float[] out = padded(off + m * ld);
                        c = product(pool, transA, transB, m, n, k, a, b, off, ld, new Epilogue.BiasGeluGrad(bias, biasOff, other, off, ld, out, off, ld));
                        assertMatrix(chains, c, off, ld, m, n, where + " C under GELU's derivative");
                        assertMatrix(geluGrad, out, off, ld, m, n, where + " GELU's derivative");
                        c = padded(off + m * ld);
                        Gemm.sgemm(pool, transA, transB, m, n, k, a, 0, transA ? m : k, b, 0, transB ? k : n, c, off, ld,
                                new Epilogue.BiasGeluGrad(bias, biasOff, other, off, ld, c, off, ld));
                        assertMatrix(geluGrad, c, off, ld, m, n, where + " GELU's derivative over C");
                        c = product(pool, transA, transB, m, n, k, a, b, off, ld, new Epilogue.Mul(savedDerivative, off, ld));
                        assertMatrix(geluGrad, c, off, ld, m, n, where + " times the saved GELU's derivative");
                        c = product(pool, transA, transB, m, n, k, a, b, off, ld, new Epilogue.Add(other, off, ld));
                        assertMatrix(sum, c, off, ld, m, n, where + " added");
                    }
                }
            }
        }
    }

    /** A product with an epilogue into a fresh NaN-filled C at offset off with row stride ld. */
    private static float[] product(Parallel pool, boolean transA, boolean transB, int m, int n, int k, float[] a, float[] b, int off, int ld,
                                   Epilogue epilogue) {
        float[] c = padded(off + m * ld);
        Gemm.sgemm(pool, transA, transB, m, n, k, a, 0, transA ? m : k, b, 0, transB ? k : n, c, off, ld, epilogue);
        return c;
    }

    private static float[] padded(int length) {
        float[] c = new float[length];
        java.util.Arrays.fill(c, Float.NaN);
        return c;
    }

    /** got's m×n matrix at off (row stride ld) has expected's bits, and its padding is still NaN. */
    private static void assertMatrix(float[] expected, float[] got, int off, int ld, int m, int n, String where) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) assertEquals(expected[i * n + j], got[off + i * ld + j], 0f, where + " (" + i + ", " + j + ")");
            for (int j = n; j < ld && off + i * ld + j < got.length; j++) assertTrue(Float.isNaN(got[off + i * ld + j]), where + " padding of row " + i);
        }
    }

    /** GELU of a whole row in one call, as the separate op runs it. */
    private static void geluRow(float[] x, int from, float[] y, int n) {
        if (Simd.AVAILABLE) SimdGelu.forward(x, from, y, from, n);
        else for (int j = 0; j < n; j++) y[from + j] = Special.geluFast(x[from + j]);
    }

    /** dy · GELU'(arg) of a whole row in one call, as the separate op runs it: arg's row from argFrom, dy's from dyFrom, into dx from dxFrom. */
    private static void geluGradRow(float[] arg, int argFrom, float[] dy, int dyFrom, float[] dx, int dxFrom, int n) {
        if (Simd.AVAILABLE) SimdGelu.backward(arg, argFrom, dy, dyFrom, dx, dxFrom, n);
        else for (int j = 0; j < n; j++) dx[dxFrom + j] = dy[dyFrom + j] * Special.geluGradFast(arg[argFrom + j]);
    }

    /** C(i,j) = fma(A(i,p), B(p,j), ...) over p in order, from C0 or from 0 when c0 is null. */
    private static float[] fmaChains(boolean transA, boolean transB, int m, int n, int k, float[] a, float[] b, float[] c0) {
        float[] c = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float sum = c0 == null ? 0f : c0[i * n + j];
                for (int p = 0; p < k; p++) {
                    sum = Math.fma(transA ? a[p * m + i] : a[i * k + p], transB ? b[j * k + p] : b[p * n + j], sum);
                }
                c[i * n + j] = sum;
            }
        }
        return c;
    }

    @Test
    void emptyInnerDimensionGivesZeroOrKeepsC() {
        float[] c = {Float.NaN, 2, 3, 4};
        Gemm.sgemm(two, false, false, 2, 2, 0, new float[0], 0, 1, new float[0], 0, 2, 1, c, 0, 2);
        assertArrayEquals(new float[] {Float.NaN, 2, 3, 4}, c);
        Gemm.sgemm(two, false, false, 2, 2, 0, new float[0], 0, 1, new float[0], 0, 2, 0, c, 0, 2);
        assertArrayEquals(new float[4], c);
        ScalarGemm.sgemmBatched(two, 1, false, false, 2, 2, 0, new float[0], 0, 1, 0, new float[0], 0, 2, 0, false, c = new float[] {1, 1, 1, 1}, 0, 2, 0);
        assertArrayEquals(new float[4], c);
    }

    @Test
    void doublePrecisionMatchesReference() {
        Random rnd = new Random(11);
        double u = Math.ulp(1.0) / 2;
        for (int[] s : new int[][] {{1, 1, 1}, {3, 17, 5}, {17, 3, 33}, {40, 30, 70}}) {
            int m = s[0], n = s[1], k = s[2];
            for (int flags = 0; flags < 4; flags++) {
                boolean transA = (flags & 1) != 0, transB = (flags & 2) != 0;
                for (double beta : new double[] {0, 1}) {
                    int batch = 3, lda = (transA ? m : k) + 2, ldb = (transB ? k : n) + 1, ldc = n + 3;
                    int aStride = (transA ? k : m) * lda, bStride = (transB ? n : k) * ldb, cStride = m * ldc + 1;
                    double[] a = rnd.doubles(1 + batch * aStride, -1, 1).toArray();
                    double[] b = rnd.doubles(batch * bStride, -1, 1).toArray();
                    double[] c0 = rnd.doubles(2 + batch * cStride, -1, 1).toArray();
                    if (beta == 0) java.util.Arrays.fill(c0, 2, c0.length, Double.NaN);
                    double[] c = c0.clone();
                    Gemm.dgemmBatched(two, batch, transA, transB, m, n, k, a, 1, lda, aStride, b, 0, ldb, bStride, beta, c, 2, ldc, cStride);
                    double gamma = (k + 1) * u / (1 - (k + 1) * u);
                    for (int t = 0; t < batch; t++) {
                        for (int i = 0; i < m; i++) {
                            for (int j = 0; j < n; j++) {
                                // exact enough: a compensated sum is not needed at this bound, the
                                // reference's own error is counted by doubling gamma below
                                double exact = 0, magnitude = 0;
                                for (int p = 0; p < k; p++) {
                                    double x = (transA ? a[1 + t * aStride + p * lda + i] : a[1 + t * aStride + i * lda + p])
                                            * (transB ? b[t * bStride + j * ldb + p] : b[t * bStride + p * ldb + j]);
                                    exact += x;
                                    magnitude += Math.abs(x);
                                }
                                int at = 2 + t * cStride + i * ldc + j;
                                if (beta != 0) {
                                    exact += c0[at];
                                    magnitude += Math.abs(c0[at]);
                                }
                                double err = Math.abs(c[at] - exact);
                                assertTrue(err <= 2 * gamma * magnitude, "dgemm " + m + "x" + n + "x" + k + " flags " + flags
                                        + " beta " + beta + " C[" + t + "][" + i + "][" + j + "] error " + err);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void badArgumentsFailBeforeWriting() {
        float[] c = new float[4];
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () ->
                Gemm.sgemm(one, false, false, 2, 2, 3, new float[5], 0, 3, new float[6], 0, 2, 0, c, 0, 2));
        assertTrue(e.getMessage().contains("A"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () ->
                Gemm.sgemm(one, false, false, 2, 2, 2, new float[4], 0, 2, new float[4], 0, 2, 0.5f, c, 0, 2));
        assertThrows(IllegalArgumentException.class, () ->
                Gemm.sgemm(one, false, false, 2, 2, 2, new float[4], 0, 1, new float[4], 0, 2, 0, c, 0, 2));
        assertThrows(IndexOutOfBoundsException.class, () ->
                Gemm.sgemmBatched(one, 2, true, true, 2, 2, 2, new float[8], 0, 2, 4, new float[8], 0, 2, 4, 0, c, 0, 2, 4));
        assertArrayEquals(new float[4], c);
        assertEquals(0, c[0]);
    }

    private static float[] randomFloats(Random rnd, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) x[i] = rnd.nextFloat() * 2 - 1;
        return x;
    }
}
