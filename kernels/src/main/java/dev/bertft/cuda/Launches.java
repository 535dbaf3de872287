package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import jcuda.driver.CUdeviceptr;

import java.util.function.Function;

/**
 * What every kernel family's launcher shares: the device's {@link DeviceOps}, the grid sizes of
 * the grid-stride and row kernels (which cap grids at a multiple of the GPU's SMs), the kernels'
 * dtype suffixes, and the device address of a tensor the backend has checked.
 */
final class Launches {
    /** Threads per block of the grid-stride kernels, and the most a row kernel takes. */
    static final int THREADS = 256;
    /** The null device address, a kernel's "none" for an optional operand. */
    static final CUdeviceptr NULL = new CUdeviceptr();

    final DeviceOps ops;
    private final int multiprocessors;
    private final Function<Tensor, CUdeviceptr> address;

    Launches(DeviceOps ops, int multiprocessors, Function<Tensor, CUdeviceptr> address) {
        this.ops = ops;
        this.multiprocessors = multiprocessors;
        this.address = address;
    }

    /** The device address of a tensor's first element. */
    CUdeviceptr ptr(Tensor t) {
        return address.apply(t);
    }

    /** {@link #ptr}, or the null address for a kernel's optional operand when {@code t} is null. */
    CUdeviceptr ptrOrNull(Tensor t) {
        return t == null ? NULL : ptr(t);
    }

    /** The GPU's streaming multiprocessors. */
    int multiprocessors() {
        return multiprocessors;
    }

    /** Blocks of {@link #THREADS} for {@code n} elements, at most 16 per SM (the kernels stride over the rest). */
    int grid(long n) {
        return (int) Math.max(1, Math.min((n + THREADS - 1) / THREADS, (long) multiprocessors * 16));
    }

    /** Threads per block for a row of {@code len}: a multiple of 32 up to 256. */
    static int rowThreads(int len) {
        return Math.min(THREADS, Math.max(32, (len + 31) / 32 * 32));
    }

    /** One block per row, at most 32 per SM. */
    int rowGrid(long rows) {
        return (int) Math.max(1, Math.min(rows, (long) multiprocessors * 32));
    }

    /** The suffix of a kernel's name for its element type. */
    static String suffix(DType d) {
        return switch (d) {
            case F32 -> "f32";
            case F64 -> "f64";
            case I32 -> "i32";
            case BF16 -> "bf16";
            case F16 -> "f16";
        };
    }
}
