package dev.bertft.cuda;

import jcuda.driver.CUdeviceptr;

/**
 * Our GEMM kernels (gemm.cu): TF32 tensor cores (mma.sync m16n8k8, 128×128 tiles) for float32,
 * and a plain tiled kernel for float64, which only gradient checks use.
 */
final class TensorCoreGemm implements GemmEngine {
    private static final int TILE = 128, THREADS = 256, D_TILE = 16, MAX_GRID_Z = 65535;
    private final DeviceOps kernels;
    private final String reason;

    TensorCoreGemm(DeviceOps kernels, String reason) {
        this.kernels = kernels;
        this.reason = reason;
    }

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, int batch,
                      CUdeviceptr a, long lda, long strideA, CUdeviceptr b, long ldb, long strideB,
                      CUdeviceptr c, long ldc, long strideC) {
        kernels.launch("sgemm_tf32", (n + TILE - 1) / TILE, (m + TILE - 1) / TILE, Math.min(batch, MAX_GRID_Z), THREADS, 1,
                transA ? 1 : 0, transB ? 1 : 0, m, n, k, batch, a, lda, strideA, b, ldb, strideB, c, ldc, strideC);
    }

    void dgemm(boolean transA, boolean transB, int m, int n, int k, int batch,
               CUdeviceptr a, long lda, long strideA, CUdeviceptr b, long ldb, long strideB,
               CUdeviceptr c, long ldc, long strideC) {
        kernels.launch("dgemm_tiled", (n + D_TILE - 1) / D_TILE, (m + D_TILE - 1) / D_TILE, Math.min(batch, MAX_GRID_Z), D_TILE, D_TILE,
                transA ? 1 : 0, transB ? 1 : 0, m, n, k, batch, a, lda, strideA, b, ldb, strideB, c, ldc, strideC);
    }

    @Override
    public String describe() {
        return "own TF32 tensor-core kernel (mma.sync m16n8k8): " + reason;
    }
}
