package dev.bertft.cuda;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasMath;
import jcuda.jcublas.cublasOperation;
import jcuda.runtime.cudaStream_t;

import java.nio.file.Path;

/**
 * float32 GEMM through cuBLAS 12 (JCublas2), used when libcublas.so.12 can be found and loaded.
 * Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ, so the operands are passed swapped. TF32
 * tensor-op math is enabled, matching our own kernel's numerics.
 */
final class CublasGemm implements GemmEngine {
    private static final Pointer ONE = Pointer.to(new float[] {1f}), ZERO = Pointer.to(new float[] {0f});
    private final cublasHandle handle;
    private final Path library;

    private CublasGemm(cublasHandle handle, Path library) {
        this.handle = handle;
        this.library = library;
    }

    /**
     * Loads cuBLAS from {@code library}: its Lt companion first (from the same directory), then
     * the library itself with System.load, so JCublas's native finds it by soname.
     */
    static CublasGemm open(Path library, CUstream stream) {
        Path lt = library.resolveSibling(CublasLibrary.LT_FILE);
        if (lt.toFile().isFile()) System.load(lt.toString());
        System.load(library.toString());
        JCublas2.setExceptionsEnabled(true);
        cublasHandle handle = new cublasHandle();
        JCublas2.cublasCreate(handle);
        JCublas2.cublasSetStream(handle, new cudaStream_t(stream));
        JCublas2.cublasSetMathMode(handle, cublasMath.CUBLAS_TF32_TENSOR_OP_MATH);
        return new CublasGemm(handle, library);
    }

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, int batch,
                      CUdeviceptr a, long lda, long strideA, CUdeviceptr b, long ldb, long strideB,
                      CUdeviceptr c, long ldc, long strideC) {
        try {
            JCublas2.cublasSgemmStridedBatched(handle,
                    transB ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N,
                    transA ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N,
                    n, m, k, ONE, b, (int) ldb, strideB, a, (int) lda, strideA, ZERO, c, (int) ldc, strideC, batch);
        } catch (jcuda.CudaException e) {
            throw new CudaFailureException("cuBLAS sgemm " + m + "x" + n + "x" + k + " (batch " + batch + "): " + e.getMessage(), e);
        }
    }

    @Override
    public String describe() {
        return "cuBLAS (TF32 tensor-op math) from " + library;
    }
}
