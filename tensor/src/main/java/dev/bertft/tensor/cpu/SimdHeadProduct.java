package dev.bertft.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link HeadProduct#product} with the Vector API: tiles of 8 rows of C by 2 vectors of columns
 * (16 accumulators, the tile {@link SimdGemm} measured best), each step broadcasting 8 elements of
 * A against 2 vectors of a row of B. Rows past the last full tile, and columns past the last
 * full pair of vectors, go one row by one (masked) vector at a time.
 *
 * <p>Only loaded when {@link dev.bertft.tensor.Simd#AVAILABLE}.
 */
final class SimdHeadProduct {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int L = F.length();
    private static final int MR = 8;

    /** Each thread's gather index of one column: lane l reads the row l rows down (l·rowStride). */
    private static final ThreadLocal<int[]> ROWS_APART = ThreadLocal.withInitial(() -> new int[L]);

    private SimdHeadProduct() {}

    /**
     * dst[c·t + i] = a[from + i·rowStride + c] for i < t, c < hs: a head's [T, HS] rows, lying
     * rowStride apart, as the [HS, T] operand a product with the head transposed takes. Each
     * vector of dst is one gather down a column (the scalar loop cost 1.6 ns an element).
     */
    static void transpose(float[] a, int from, int rowStride, int t, int hs, float[] dst) {
        int[] index = ROWS_APART.get();
        if (index[1] != rowStride) {
            for (int l = 0; l < L; l++) index[l] = l * rowStride;
        }
        int bound = F.loopBound(t);
        for (int c = 0; c < hs; c++) {
            int i = 0;
            for (; i < bound; i += L) FloatVector.fromArray(F, a, from + i * rowStride + c, index, 0).intoArray(dst, c * t + i);
            for (; i < t; i++) dst[c * t + i] = a[from + i * rowStride + c];
        }
    }

    /** Arguments as {@link HeadProduct#product}. */
    static void product(int m, int n, int k, float[] a, int aOff, int lda, boolean transA,
                        float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
        int aRow = transA ? 1 : lda, aK = transA ? lda : 1;
        int i = 0;
        for (; i + MR <= m; i += MR) {
            int j = 0;
            for (; j + 2 * L <= n; j += 2 * L) {
                if (transA) tileOfColumns(k, a, aOff + i, lda, b, bOff + j, ldb, c, cOff + i * ldc + j, ldc);
                else tileOfRows(k, a, aOff + i * lda, lda, b, bOff + j, ldb, c, cOff + i * ldc + j, ldc);
            }
            for (int r = i; r < i + MR; r++) rowTail(j, n, k, a, aOff + r * aRow, aK, b, bOff, ldb, c, cOff + r * ldc);
        }
        for (; i < m; i++) rowTail(0, n, k, a, aOff + i * aRow, aK, b, bOff, ldb, c, cOff + i * ldc);
    }

    /** Columns [from, n) of one row of C, a vector at a time, the last one masked. */
    private static void rowTail(int from, int n, int k, float[] a, int aOff, int aK, float[] b, int bOff, int ldb,
                                float[] c, int cOff) {
        for (int j = from; j < n; j += L) {
            if (j + L <= n) vector(k, a, aOff, aK, b, bOff + j, ldb, c, cOff + j);
            else maskedVector(k, a, aOff, aK, b, bOff + j, ldb, c, cOff + j, F.indexInRange(j, n));
        }
    }

    private static void vector(int k, float[] a, int aOff, int aK, float[] b, int bOff, int ldb, float[] c, int cOff) {
        FloatVector acc = FloatVector.zero(F);
        for (int p = 0; p < k; p++) acc = FloatVector.broadcast(F, a[aOff + p * aK]).fma(FloatVector.fromArray(F, b, bOff + p * ldb), acc);
        acc.intoArray(c, cOff);
    }

    private static void maskedVector(int k, float[] a, int aOff, int aK, float[] b, int bOff, int ldb, float[] c, int cOff,
                                     VectorMask<Float> valid) {
        FloatVector acc = FloatVector.zero(F);
        for (int p = 0; p < k; p++) {
            acc = FloatVector.broadcast(F, a[aOff + p * aK]).fma(FloatVector.fromArray(F, b, bOff + p * ldb, valid), acc);
        }
        acc.intoArray(c, cOff, valid);
    }

    /*
     * The two MR×2L tiles below differ only in where A's eight values of step p lie. Each is its
     * own method so that a stride in A's indices is the constant 1: row-major, each of the eight
     * loads is a fixed row start plus p, and C2 removes a range check from a loop only where the
     * index is the loop variable times a constant; transposed, the eight loads are one index plus
     * 0..7, which one check covers. One tile for both layouts, both strides variables, kept a check
     * on every load and ran the head products 1.1–1.4 times slower (one-thread harness, session 12).
     */

    /** One MR×2L tile of C with A row-major: row r of the tile at a[aOff + r·lda + p]. */
    private static void tileOfRows(int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff,
                                   int ldc) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
                c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        int a0 = aOff, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda, a6 = a5 + lda, a7 = a6 + lda;
        for (int p = 0; p < k; p++) {
            int bp = bOff + p * ldb;
            FloatVector b0 = FloatVector.fromArray(F, b, bp), b1 = FloatVector.fromArray(F, b, bp + L);
            FloatVector x = FloatVector.broadcast(F, a[a0 + p]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, a[a1 + p]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, a[a2 + p]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, a[a3 + p]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, a[a4 + p]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, a[a5 + p]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(F, a[a6 + p]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(F, a[a7 + p]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
        }
        store(c00, c01, c, cOff);
        store(c10, c11, c, cOff + ldc);
        store(c20, c21, c, cOff + 2 * ldc);
        store(c30, c31, c, cOff + 3 * ldc);
        store(c40, c41, c, cOff + 4 * ldc);
        store(c50, c51, c, cOff + 5 * ldc);
        store(c60, c61, c, cOff + 6 * ldc);
        store(c70, c71, c, cOff + 7 * ldc);
    }

    /** One MR×2L tile of C with A transposed: the tile's eight values of step p at a[aOff + p·lda + 0..7]. */
    private static void tileOfColumns(int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] c, int cOff,
                                      int ldc) {
        FloatVector c00 = FloatVector.zero(F), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
                c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
        for (int p = 0; p < k; p++) {
            int ap = aOff + p * lda, bp = bOff + p * ldb;
            FloatVector b0 = FloatVector.fromArray(F, b, bp), b1 = FloatVector.fromArray(F, b, bp + L);
            FloatVector x = FloatVector.broadcast(F, a[ap]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(F, a[ap + 1]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(F, a[ap + 2]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(F, a[ap + 3]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(F, a[ap + 4]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(F, a[ap + 5]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(F, a[ap + 6]);
            c60 = x.fma(b0, c60);
            c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(F, a[ap + 7]);
            c70 = x.fma(b0, c70);
            c71 = x.fma(b1, c71);
        }
        store(c00, c01, c, cOff);
        store(c10, c11, c, cOff + ldc);
        store(c20, c21, c, cOff + 2 * ldc);
        store(c30, c31, c, cOff + 3 * ldc);
        store(c40, c41, c, cOff + 4 * ldc);
        store(c50, c51, c, cOff + 5 * ldc);
        store(c60, c61, c, cOff + 6 * ldc);
        store(c70, c71, c, cOff + 7 * ldc);
    }

    private static void store(FloatVector lo, FloatVector hi, float[] c, int at) {
        lo.intoArray(c, at);
        hi.intoArray(c, at + L);
    }
}
