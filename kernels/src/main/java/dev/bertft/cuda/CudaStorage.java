package dev.bertft.cuda;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Storage;
import jcuda.driver.CUdeviceptr;

/** A block of GPU memory holding {@code size} elements; {@code tracked} says when its block returns to the allocator. */
final class CudaStorage implements Storage {
    final CudaBackend backend;
    final DType dtype;
    final long size;
    final CUdeviceptr pointer;
    CudaMemory.Tracked tracked;
    /**
     * The values an I32 storage was uploaded with, until an in-place op writes it: token ids and
     * labels are checked on the host, and reading them back would make the host wait for the GPU
     * in the middle of a step.
     */
    int[] uploaded;

    CudaStorage(CudaBackend backend, DType dtype, long size, CUdeviceptr pointer) {
        this.backend = backend;
        this.dtype = dtype;
        this.size = size;
        this.pointer = pointer;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public DType dtype() {
        return dtype;
    }

    @Override
    public long size() {
        return size;
    }
}
