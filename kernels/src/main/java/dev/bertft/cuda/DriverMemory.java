package dev.bertft.cuda;

import jcuda.CudaException;
import jcuda.driver.CUdeviceptr;

import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;

/**
 * cuMemAlloc / cuMemFree; an out-of-memory result becomes null for the allocator to handle.
 * A cached block may still be read by a kernel queued before its tensor died, so the device is
 * drained before a block goes back to the driver (only when the allocator empties its cache).
 */
final class DriverMemory implements DeviceMemory<CUdeviceptr> {
    @Override
    public CUdeviceptr allocate(long bytes) {
        CUdeviceptr p = new CUdeviceptr();
        try {
            cuMemAlloc(p, bytes);
            return p;
        } catch (CudaException e) {
            if (String.valueOf(e.getMessage()).contains("OUT_OF_MEMORY")) return null;
            throw new CudaFailureException("cuMemAlloc of " + bytes + " bytes: " + e.getMessage(), e);
        }
    }

    @Override
    public void free(CUdeviceptr block) {
        try {
            cuCtxSynchronize();
            cuMemFree(block);
        } catch (CudaException e) {
            throw new CudaFailureException("cuMemFree: " + e.getMessage(), e);
        }
    }
}
