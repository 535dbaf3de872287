package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Simd;

/**
 * The five matrix products of one attention head, C = op(A)·B, read where {@link Attention} already
 * has the operands instead of packed as the general {@link Gemm} packs them: at head size 32–64
 * packing cost as much as the multiplications. op(A) element (i, p) is {@code a[aOff + i·lda + p]},
 * or {@code a[aOff + p·lda + i]} with transA (dv = P̃ᵀ·dout and dk = dSᵀ·q read P̃ and dS down their
 * columns). B is row-major, element (p, j) at {@code b[bOff + p·ldb + j]}, its rows the vector
 * operand; C element (i, j) at {@code c[cOff + i·ldc + j]}, overwritten.
 *
 * <p>Every element of C is one fused multiply-add chain over p = 0..k−1 in order, started from 0,
 * the order {@link Gemm} uses below its KC, so a head's results are the same bits as through Gemm.
 */
final class HeadProduct {
    private HeadProduct() {}

    static void product(int m, int n, int k, float[] a, int aOff, int lda, boolean transA,
                        float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
        if (Simd.AVAILABLE) SimdHeadProduct.product(m, n, k, a, aOff, lda, transA, b, bOff, ldb, c, cOff, ldc);
        else scalarProduct(m, n, k, a, aOff, lda, transA, b, bOff, ldb, c, cOff, ldc);
    }

    /** {@link #product} one element at a time: the reference the vector kernel matches bit for bit. */
    static void scalarProduct(int m, int n, int k, float[] a, int aOff, int lda, boolean transA,
                              float[] b, int bOff, int ldb, float[] c, int cOff, int ldc) {
        int aRow = transA ? 1 : lda, aK = transA ? lda : 1;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float acc = 0f;
                for (int p = 0; p < k; p++) acc = Math.fma(a[aOff + i * aRow + p * aK], b[bOff + p * ldb + j], acc);
                c[cOff + i * ldc + j] = acc;
            }
        }
    }
}
