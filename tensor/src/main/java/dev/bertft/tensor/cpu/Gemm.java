package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Simd;

/**
 * Dense row-major matrix products, C = op(A)·op(B) + beta·C, the one entry point every CPU
 * kernel that multiplies matrices goes through. It checks the arguments once, then hands the work
 * to {@link SimdGemm} (Vector API, packed and register-blocked) when SIMD is available and to
 * {@link ScalarGemm} otherwise. Double precision always takes the scalar path: it only serves
 * float64 gradient checks on small matrices.
 *
 * <p>Each element of C is summed over k in a fixed order that depends only on the shapes, never on
 * the thread count or timing, so results are bit-identical run to run.
 */
public final class Gemm {

    private Gemm() {}

    /**
     * C = op(A)·op(B) + beta·C for one row-major matrix product. op(A) is m×k, op(B) is k×n.
     * transA: A is stored k×m (element (i,p) at a[aOff + p*lda + i]); otherwise at a[aOff + i*lda + p].
     * transB: B is stored n×k (element (p,j) at b[bOff + j*ldb + p]); otherwise b[bOff + p*ldb + j].
     * C element (i,j) at c[cOff + i*ldc + j]. beta is 0 (overwrite; C may hold garbage or NaN) or 1
     * (accumulate).
     */
    public static void sgemm(Parallel pool, boolean transA, boolean transB, int m, int n, int k,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float beta, float[] c, int cOff, int ldc) {
        sgemmBatched(pool, 1, transA, transB, m, n, k, a, aOff, lda, 0, b, bOff, ldb, 0, beta, c, cOff, ldc, 0);
    }

    /** {@code batch} products; product t uses offsets aOff + t*aStride, bOff + t*bStride, cOff + t*cStride. */
    public static void sgemmBatched(Parallel pool, int batch, boolean transA, boolean transB, int m, int n, int k,
                                    float[] a, int aOff, int lda, int aStride, float[] b, int bOff, int ldb, int bStride,
                                    float beta, float[] c, int cOff, int ldc, int cStride) {
        check(batch, transA, transB, m, n, k, a.length, aOff, lda, aStride, b.length, bOff, ldb, bStride,
                beta, c.length, cOff, ldc, cStride);
        if (batch == 0 || m == 0 || n == 0) return;
        if (Simd.AVAILABLE) {
            SimdGemm.sgemmBatched(pool, batch, transA, transB, m, n, k, a, aOff, lda, aStride,
                    b, bOff, ldb, bStride, beta != 0, c, cOff, ldc, cStride);
        } else {
            ScalarGemm.sgemmBatched(pool, batch, transA, transB, m, n, k, a, aOff, lda, aStride,
                    b, bOff, ldb, bStride, beta != 0, c, cOff, ldc, cStride);
        }
    }

    /**
     * C = op(A)·op(B) as {@link #sgemm} with beta 0, then the epilogue (a Linear layer's bias, or
     * bias and GELU, or GELU's derivative; null for none) over C: the bits of those two steps,
     * applied to each block of C while it is still in cache rather than in a second pass over C.
     */
    static void sgemm(Parallel pool, boolean transA, boolean transB, int m, int n, int k,
                      float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                      float[] c, int cOff, int ldc, Epilogue epilogue) {
        check(1, transA, transB, m, n, k, a.length, aOff, lda, 0, b.length, bOff, ldb, 0, 0, c.length, cOff, ldc, 0);
        if (m == 0 || n == 0) return;
        if (epilogue != null) epilogue.check(m, n);
        if (Simd.AVAILABLE) {
            SimdGemm.sgemm(pool, transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, epilogue);
            return;
        }
        sgemm(pool, transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, 0f, c, cOff, ldc);
        if (epilogue != null) epilogue.apply(c, cOff, ldc, 0, m, 0, n);
    }

    /**
     * C = op(A)·op(B) as {@link #sgemm} with beta 0, and the sum of each row of op(A) added into
     * aRowSums[0..m) in double precision, p = 0..k-1 in order: a Linear layer's dW = dYᵀ·x and
     * db = Σ_rows dY (op(A) = dYᵀ) from the one pass that packs dY for the product, instead of a
     * second pass over dY for db. The sums are those of that plain loop, for any thread count.
     */
    public static void sgemmWithRowSums(Parallel pool, boolean transA, boolean transB, int m, int n, int k,
                                        float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                        float[] c, int cOff, int ldc, double[] aRowSums) {
        check(1, transA, transB, m, n, k, a.length, aOff, lda, 0, b.length, bOff, ldb, 0, 0, c.length, cOff, ldc, 0);
        if (aRowSums.length < m) throw new IndexOutOfBoundsException("gemm: " + m + " row sums, array has " + aRowSums.length);
        if (m == 0) return;
        if (Simd.AVAILABLE && n > 0) {
            SimdGemm.sgemmWithRowSums(pool, transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc, aRowSums);
            return;
        }
        sgemm(pool, transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, 0f, c, cOff, ldc);
        // without SIMD (or with no columns to multiply) nothing packs A: a separate pass
        for (int p = 0; p < k; p++) {
            for (int i = 0; i < m; i++) aRowSums[i] += a[transA ? aOff + p * lda + i : aOff + i * lda + p];
        }
    }

    /** {@link #sgemm} in double precision. */
    public static void dgemm(Parallel pool, boolean transA, boolean transB, int m, int n, int k,
                             double[] a, int aOff, int lda, double[] b, int bOff, int ldb,
                             double beta, double[] c, int cOff, int ldc) {
        dgemmBatched(pool, 1, transA, transB, m, n, k, a, aOff, lda, 0, b, bOff, ldb, 0, beta, c, cOff, ldc, 0);
    }

    /** {@link #sgemmBatched} in double precision. */
    public static void dgemmBatched(Parallel pool, int batch, boolean transA, boolean transB, int m, int n, int k,
                                    double[] a, int aOff, int lda, int aStride, double[] b, int bOff, int ldb, int bStride,
                                    double beta, double[] c, int cOff, int ldc, int cStride) {
        check(batch, transA, transB, m, n, k, a.length, aOff, lda, aStride, b.length, bOff, ldb, bStride,
                beta, c.length, cOff, ldc, cStride);
        if (batch == 0 || m == 0 || n == 0) return;
        ScalarGemm.dgemmBatched(pool, batch, transA, transB, m, n, k, a, aOff, lda, aStride,
                b, bOff, ldb, bStride, beta != 0, c, cOff, ldc, cStride);
    }

    /**
     * Rejects shapes that would read or write outside the arrays, before anything is written, so a
     * bad call fails with a message instead of leaving C half updated.
     */
    private static void check(int batch, boolean transA, boolean transB, int m, int n, int k,
                              int aLen, int aOff, int lda, int aStride, int bLen, int bOff, int ldb, int bStride,
                              double beta, int cLen, int cOff, int ldc, int cStride) {
        if (batch < 0 || m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("gemm: negative size (batch=" + batch + ", m=" + m + ", n=" + n + ", k=" + k + ")");
        }
        if (beta != 0 && beta != 1) throw new IllegalArgumentException("gemm: beta must be 0 or 1, got " + beta);
        if (batch == 0 || m == 0 || n == 0) return;
        // stored shapes: A is m×k (k×m when transposed), B is k×n (n×k), C is m×n
        checkMatrix("A", batch, transA ? k : m, transA ? m : k, aLen, aOff, lda, aStride);
        checkMatrix("B", batch, transB ? n : k, transB ? k : n, bLen, bOff, ldb, bStride);
        checkMatrix("C", batch, m, n, cLen, cOff, ldc, cStride);
    }

    private static void checkMatrix(String name, int batch, int rows, int cols, int len, int off, int ld, int stride) {
        if (rows == 0 || cols == 0) return;
        if (ld < cols) throw new IllegalArgumentException("gemm: leading dimension of " + name + " is " + ld + ", below its width " + cols);
        if (off < 0 || stride < 0) throw new IllegalArgumentException("gemm: negative offset or batch stride for " + name);
        long last = off + (long) (batch - 1) * stride + (long) (rows - 1) * ld + cols - 1;
        if (last >= len) {
            throw new IndexOutOfBoundsException("gemm: " + name + " (" + batch + " x " + rows + "x" + cols + ", ld " + ld
                    + ", offset " + off + ", stride " + stride + ") needs " + (last + 1) + " elements, array has " + len);
        }
    }
}
