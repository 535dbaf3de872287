package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Storage;

/** A Java array on the heap: float[] for F32, double[] for F64, int[] for I32, short[] (bit patterns) for BF16 and F16. */
final class CpuStorage implements Storage {
    final CpuBackend backend;
    final DType dtype;
    final Object array;

    CpuStorage(CpuBackend backend, DType dtype, Object array) {
        this.backend = backend;
        this.dtype = dtype;
        this.array = array;
    }

    static CpuStorage allocate(CpuBackend backend, DType dtype, int n) {
        Object a = switch (dtype) {
            case F32 -> new float[n];
            case F64 -> new double[n];
            case I32 -> new int[n];
            case BF16, F16 -> new short[n];
        };
        return new CpuStorage(backend, dtype, a);
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
        return switch (dtype) {
            case F32 -> ((float[]) array).length;
            case F64 -> ((double[]) array).length;
            case I32 -> ((int[]) array).length;
            case BF16, F16 -> ((short[]) array).length;
        };
    }
}
