package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import jcuda.CudaException;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;

import static jcuda.driver.JCudaDriver.cuMemsetD8Async;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

/** {@link DeviceOps} on the real GPU: our loaded kernels, one stream, pinned staging for copies. */
class DriverOps implements DeviceOps {
    private final Kernels kernels;
    private final PinnedStaging staging;
    private final CUstream stream;

    DriverOps(Kernels kernels, PinnedStaging staging, CUstream stream) {
        this.kernels = kernels;
        this.staging = staging;
        this.stream = stream;
    }

    @Override
    public void launchShared(String kernel, int sharedBytes, int gridX, int gridY, int gridZ, int blockX, int blockY, Object... args) {
        kernels.launch(kernel, sharedBytes, gridX, gridY, gridZ, blockX, blockY, args);
    }

    @Override
    public void zero(CUdeviceptr p, long bytes) {
        try {
            cuMemsetD8Async(p, (byte) 0, bytes, stream);
        } catch (CudaException e) {
            throw new CudaFailureException("zeroing " + bytes + " bytes: " + e.getMessage(), e);
        }
    }

    @Override
    public void upload(Object array, DType dtype, int n, CUdeviceptr dst) {
        staging.upload(array, dtype, n, dst);
    }

    @Override
    public Object download(CUdeviceptr src, DType dtype, int n) {
        return staging.download(src, dtype, n);
    }

    @Override
    public void synchronize() {
        try {
            cuStreamSynchronize(stream);
        } catch (CudaException e) {
            throw new CudaFailureException("waiting for the GPU: " + e.getMessage(), e);
        }
    }
}
