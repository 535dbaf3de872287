package dev.bertft.tensor;

/**
 * How the last two axes of a tensor sit in memory as the matrices of a (batched) GEMM: rows of
 * unit stride (plain) or columns of unit stride (transposed), a leading dimension, and the one
 * stride that steps from batch entry to batch entry. Every backend's matmul reads its operands
 * through this, so a transposed or sliced view is used in place instead of copied.
 *
 * @param t           the tensor to read: the input itself, or a contiguous copy when no layout fits
 * @param transposed  element (i, j) at offset + j·ld + i rather than offset + i·ld + j
 */
public record MatrixLayout(Tensor t, boolean transposed, int ld, int batchStride) {

    public static MatrixLayout of(Tensor t) {
        int rows = t.size(-2), cols = t.size(-1), s0 = t.stride(-2), s1 = t.stride(-1);
        int batch = 1;
        for (int d = 0; d < t.dim() - 2; d++) batch *= t.size(d);
        Integer batchStride = batch <= 1 ? Integer.valueOf(0) : uniformBatchStride(t);
        if (batchStride != null) {
            if ((s1 == 1 || cols == 1) && s0 >= cols) return new MatrixLayout(t, false, Math.max(s0, 1), batchStride);
            if ((s0 == 1 || rows == 1) && s1 >= rows) return new MatrixLayout(t, true, Math.max(s1, 1), batchStride);
        }
        return new MatrixLayout(t.copy(), false, Math.max(cols, 1), rows * cols);
    }

    /**
     * The one stride that steps through all batch entries in order, or null if there is none.
     * Size-1 batch axes are skipped: their stride is never stepped, and after a narrow or an
     * unsqueeze it says nothing about the distance between entries.
     */
    private static Integer uniformBatchStride(Tensor t) {
        Integer stride = null;
        int span = 1; // batch entries covered by the axes already seen (innermost first)
        for (int d = t.dim() - 3; d >= 0; d--) {
            if (t.size(d) == 1) continue;
            if (stride == null) stride = t.stride(d);
            else if (t.stride(d) != stride * span) return null;
            span *= t.size(d);
        }
        return stride;
    }
}
