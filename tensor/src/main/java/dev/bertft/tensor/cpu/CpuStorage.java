package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Storage;

/**
 * A Java array on the heap: float[] for F32, double[] for F64, int[] for I32, short[] (bit patterns)
 * for BF16 and F16. A memory scope may take the array back for other tensors ({@link CpuMemory});
 * the storage then holds none, so a later use fails instead of reading another tensor's data.
 */
final class CpuStorage implements Storage {
    final CpuBackend backend;
    final DType dtype;
    private final int size;
    /**
     * The array as a Linear weight packed for X·Wᵀ, once {@link CpuBackend#holdLinearWeight} was
     * promised it never changes again; null otherwise.
     */
    SimdPackedWeight packedWeight;
    /** Null once the array went back to the pool. */
    private Object array;

    CpuStorage(CpuBackend backend, DType dtype, Object array, int size) {
        this.backend = backend;
        this.dtype = dtype;
        this.array = array;
        this.size = size;
    }

    Object array() {
        Object a = array;
        if (a == null) {
            throw new IllegalStateException("a " + dtype + " tensor of " + size
                    + " elements was used after the memory scope that made it closed; Scope.keep lets a tensor outlive its scope");
        }
        return a;
    }

    /** Gives up the array (null if it was given up already); any later use of this storage fails. */
    Object detach() {
        Object a = array;
        array = null;
        return a;
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
