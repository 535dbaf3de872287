package dev.bertft.cuda;

import jcuda.driver.CUdeviceptr;

/**
 * Batched float32 GEMM on device pointers, row-major: C[b] = A[b]·B[b] with A(m,k) read
 * transposed when transA (A[k·lda + m]) and B(k,n) when transB (B[n·ldb + k]); batch entry b at
 * b·stride. Two implementations: cuBLAS when its library loads, our tensor-core kernel otherwise.
 */
interface GemmEngine {
    void sgemm(boolean transA, boolean transB, int m, int n, int k, int batch,
               CUdeviceptr a, long lda, long strideA, CUdeviceptr b, long ldb, long strideB,
               CUdeviceptr c, long ldc, long strideC);

    /** Which GEMM runs, in words. */
    String describe();
}
