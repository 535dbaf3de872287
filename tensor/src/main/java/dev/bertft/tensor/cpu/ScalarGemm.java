package dev.bertft.tensor.cpu;

/**
 * Plain-loop matrix products: the fallback when the Vector API is off, and the double-precision
 * path for gradient checks. Arguments are those of {@link Gemm}, already checked; {@code accumulate}
 * is beta == 1.
 *
 * <p>Rows of C (over all products of the batch) are spread across threads; each element is summed
 * over p = 0..k-1 in order, so the thread count never changes a result.
 */
public final class ScalarGemm {

    /** Rows of C per parallel chunk are sized so a chunk does at least this many multiply-adds. */
    private static final long MIN_CHUNK_WORK = 1 << 16;

    private ScalarGemm() {}

    public static void sgemmBatched(Parallel pool, int batch, boolean transA, boolean transB, int m, int n, int k,
                                    float[] a, int aOff, int lda, int aStride, float[] b, int bOff, int ldb, int bStride,
                                    boolean accumulate, float[] c, int cOff, int ldc, int cStride) {
        // element (i,p) of op(A) is a[base + i*aRow + p*aCol]; likewise for op(B)
        int aRow = transA ? 1 : lda, aCol = transA ? lda : 1;
        pool.forRange(Math.multiplyExact(batch, m), grain(n, k), (from, to) -> {
            for (int row = from; row < to; row++) {
                int t = row / m, i = row % m;
                int aBase = aOff + t * aStride + i * aRow;
                int bBase = bOff + t * bStride;
                int cBase = cOff + t * cStride + i * ldc;
                if (transB) {
                    // C(i,j) = sum_p A(i,p)·B(j,p): both walk p, B contiguously
                    for (int j = 0; j < n; j++) {
                        int bj = bBase + j * ldb;
                        float s = 0;
                        for (int p = 0; p < k; p++) s += a[aBase + p * aCol] * b[bj + p];
                        c[cBase + j] = accumulate ? c[cBase + j] + s : s;
                    }
                } else {
                    // C(i,:) += A(i,p)·B(p,:) for p in order: the inner loop walks a row of B
                    if (!accumulate) java.util.Arrays.fill(c, cBase, cBase + n, 0f);
                    for (int p = 0; p < k; p++) {
                        float aip = a[aBase + p * aCol];
                        int bp = bBase + p * ldb;
                        for (int j = 0; j < n; j++) c[cBase + j] += aip * b[bp + j];
                    }
                }
            }
        });
    }

    public static void dgemmBatched(Parallel pool, int batch, boolean transA, boolean transB, int m, int n, int k,
                                    double[] a, int aOff, int lda, int aStride, double[] b, int bOff, int ldb, int bStride,
                                    boolean accumulate, double[] c, int cOff, int ldc, int cStride) {
        int aRow = transA ? 1 : lda, aCol = transA ? lda : 1;
        pool.forRange(Math.multiplyExact(batch, m), grain(n, k), (from, to) -> {
            for (int row = from; row < to; row++) {
                int t = row / m, i = row % m;
                int aBase = aOff + t * aStride + i * aRow;
                int bBase = bOff + t * bStride;
                int cBase = cOff + t * cStride + i * ldc;
                if (transB) {
                    for (int j = 0; j < n; j++) {
                        int bj = bBase + j * ldb;
                        double s = 0;
                        for (int p = 0; p < k; p++) s += a[aBase + p * aCol] * b[bj + p];
                        c[cBase + j] = accumulate ? c[cBase + j] + s : s;
                    }
                } else {
                    if (!accumulate) java.util.Arrays.fill(c, cBase, cBase + n, 0.0);
                    for (int p = 0; p < k; p++) {
                        double aip = a[aBase + p * aCol];
                        int bp = bBase + p * ldb;
                        for (int j = 0; j < n; j++) c[cBase + j] += aip * b[bp + j];
                    }
                }
            }
        });
    }

    private static int grain(int n, int k) {
        long perRow = Math.max(1, (long) n * Math.max(k, 1));
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, MIN_CHUNK_WORK / perRow));
    }
}
