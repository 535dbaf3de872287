package dev.bertft.tensor.cpu;

/** Placeholder reference GEMM (replaced by the blocked Vector API kernel). */
public final class Gemm {
    private Gemm() {}

    public static void sgemm(Parallel pool, boolean transA, boolean transB, int m, int n, int k,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float beta, float[] c, int cOff, int ldc) {
        sgemmBatched(pool, 1, transA, transB, m, n, k, a, aOff, lda, 0, b, bOff, ldb, 0, beta, c, cOff, ldc, 0);
    }

    public static void sgemmBatched(Parallel pool, int batch, boolean transA, boolean transB, int m, int n, int k,
                                    float[] a, int aOff, int lda, int aStride, float[] b, int bOff, int ldb, int bStride,
                                    float beta, float[] c, int cOff, int ldc, int cStride) {
        pool.forRange(batch * m, 1, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int t = r / m, i = r % m;
                for (int j = 0; j < n; j++) {
                    float acc = 0;
                    for (int p = 0; p < k; p++) {
                        float x = transA ? a[aOff + t * aStride + p * lda + i] : a[aOff + t * aStride + i * lda + p];
                        float y = transB ? b[bOff + t * bStride + j * ldb + p] : b[bOff + t * bStride + p * ldb + j];
                        acc += x * y;
                    }
                    int ci = cOff + t * cStride + i * ldc + j;
                    c[ci] = beta == 0 ? acc : c[ci] * beta + acc;
                }
            }
        });
    }

    public static void dgemm(Parallel pool, boolean transA, boolean transB, int m, int n, int k,
                             double[] a, int aOff, int lda, double[] b, int bOff, int ldb,
                             double beta, double[] c, int cOff, int ldc) {
        dgemmBatched(pool, 1, transA, transB, m, n, k, a, aOff, lda, 0, b, bOff, ldb, 0, beta, c, cOff, ldc, 0);
    }

    public static void dgemmBatched(Parallel pool, int batch, boolean transA, boolean transB, int m, int n, int k,
                                    double[] a, int aOff, int lda, int aStride, double[] b, int bOff, int ldb, int bStride,
                                    double beta, double[] c, int cOff, int ldc, int cStride) {
        pool.forRange(batch * m, 1, (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int t = r / m, i = r % m;
                for (int j = 0; j < n; j++) {
                    double acc = 0;
                    for (int p = 0; p < k; p++) {
                        double x = transA ? a[aOff + t * aStride + p * lda + i] : a[aOff + t * aStride + i * lda + p];
                        double y = transB ? b[bOff + t * bStride + j * ldb + p] : b[bOff + t * bStride + p * ldb + j];
                        acc += x * y;
                    }
                    int ci = cOff + t * cStride + i * ldc + j;
                    c[ci] = beta == 0 ? acc : c[ci] * beta + acc;
                }
            }
        });
    }
}
