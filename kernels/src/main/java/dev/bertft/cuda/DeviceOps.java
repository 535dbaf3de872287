package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import jcuda.driver.CUdeviceptr;

import java.util.List;
import java.util.function.Supplier;

/**
 * What {@link CudaBackend} asks of the GPU besides memory: kernel launches, zero fills and
 * host↔device copies, all in stream order. {@link DriverOps} does it through the driver; the
 * dry-run test checks every launch against the PTX instead, without a GPU.
 */
interface DeviceOps {
    /** Launches a kernel of our modules by name (see {@link Kernels#launch} for argument types). */
    default void launch(String kernel, int gridX, int gridY, int gridZ, int blockX, int blockY, Object... args) {
        launchShared(kernel, 0, gridX, gridY, gridZ, blockX, blockY, args);
    }

    /** The same with {@code sharedBytes} of dynamic shared memory per block. */
    void launchShared(String kernel, int sharedBytes, int gridX, int gridY, int gridZ, int blockX, int blockY, Object... args);

    void zero(CUdeviceptr p, long bytes);

    /**
     * Copies the first n elements of {@code array} (of dtype's Java type) to dst, in stream order:
     * work queued after this call reads them. The array may change once this returns; the copy
     * itself may still be queued (the driver stages small copies in pinned memory and does not wait
     * for them), so the host does not wait here for the work queued before it.
     */
    void upload(Object array, DType dtype, int n, CUdeviceptr dst);

    /** A copy from the host: the first n elements of {@code array} (of dtype's Java type) to dst. */
    record Upload(Object array, DType dtype, int n, CUdeviceptr dst) {}

    /** The copies, in order, as {@link #upload} makes each; a device may stage and queue them together. */
    default void uploadAll(List<Upload> copies) {
        for (Upload u : copies) upload(u.array(), u.dtype(), u.n(), u.dst());
    }

    /** n elements at src, once the work queued so far has run: waits for it. */
    Object download(CUdeviceptr src, DType dtype, int n);

    /**
     * n elements at src as they are once the work queued so far has run, copied to the host in stream
     * order without waiting: the supplier waits for that copy alone (work queued after this call may
     * still run) and returns the array. The default downloads at once.
     */
    default Supplier<Object> downloadLater(CUdeviceptr src, DType dtype, int n) {
        Object values = download(src, dtype, n);
        return () -> values;
    }

    /** Waits for queued work; a kernel fault surfaces here. */
    void synchronize();

    /**
     * The GPU time of each of {@code calls} runs of {@code call}, in milliseconds: the time between
     * events recorded on the stream before and after each, as torch.cuda.Event times a product.
     * Waits for the last; not inside a capture.
     */
    default float[] deviceMillis(int calls, Runnable call) {
        throw new UnsupportedOperationException("no device clock here");
    }

    /** Which image of our kernels runs, in words (see {@link Kernels}). */
    default String kernelImage() {
        return Kernels.PTX_TARGET;
    }

    /** Whether {@link #beginCapture} works here. */
    default boolean canCapture() {
        return false;
    }

    /**
     * From now until {@link #endCapture}, launches and fills are recorded into a graph instead of
     * run; copies to or from the host and waits are errors (a graph cannot hold them).
     */
    default void beginCapture() {
        throw new UnsupportedOperationException("no graph capture on this device");
    }

    /** Ends the capture; the graph runs nothing until {@link DeviceGraph#launch}. */
    default DeviceGraph endCapture() {
        throw new UnsupportedOperationException("no graph capture on this device");
    }

    /** Ends a capture that failed, dropping what it recorded. */
    default void abortCapture() {}

    /**
     * The check every capturing implementation makes before a copy to or from the host or a wait:
     * a graph cannot hold them (and a pinned staging copy would be captured as a read of a buffer
     * the next copy overwrites).
     */
    static void refuseWhileCapturing(boolean capturing, String what) {
        if (capturing) throw new IllegalStateException(what + " inside a captured step");
    }
}
