package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

/**
 * Host↔device copies through one page-locked buffer of {@link #CAPACITY} bytes, in chunks:
 * DMA runs at full speed from pinned memory, and a checkpoint of any size needs no more pinned
 * memory than this. Copies are synchronous for the caller (the stream is drained per chunk, or
 * once for a list of copies that fit the buffer together).
 */
final class PinnedStaging {
    static final long CAPACITY = 16L << 20;
    /** Places of {@link #uploadAll}'s copies start this many bytes apart at least. */
    private static final long ALIGN = 256;

    private final CUstream stream;
    private ByteBuffer buffer;
    private Pointer host;

    PinnedStaging(CUstream stream) {
        this.stream = stream;
    }

    private ByteBuffer buffer() {
        if (buffer == null) {
            host = new Pointer();
            try {
                cuMemAllocHost(host, CAPACITY);
            } catch (CudaException e) {
                throw new CudaFailureException("allocating the " + (CAPACITY >> 20) + " MiB pinned staging buffer: " + e.getMessage(), e);
            }
            buffer = host.getByteBuffer(0, CAPACITY).order(ByteOrder.nativeOrder());
        }
        return buffer;
    }

    /** Copies n elements of a float[], double[], int[] or short[] (BF16, F16) to the device at dst. */
    synchronized void upload(Object array, DType dtype, int n, CUdeviceptr dst) {
        int per = (int) (CAPACITY / dtype.bytes());
        for (int start = 0; start < n; start += per) {
            int len = Math.min(per, n - start);
            stage(0, array, dtype, start, len);
            long bytes = (long) len * dtype.bytes();
            try {
                cuMemcpyHtoDAsync(dst.withByteOffset((long) start * dtype.bytes()), host, bytes, stream);
                cuStreamSynchronize(stream);
            } catch (CudaException e) {
                throw new CudaFailureException("copying " + bytes + " bytes to the GPU: " + e.getMessage(), e);
            }
        }
    }

    /**
     * The copies, each staged at its own place in the buffer (from a multiple of {@link #ALIGN}
     * bytes) and queued, then one wait for the stream, where they fit in the buffer together (a
     * replayed step's host work: some thirty small arrays); else one by one.
     */
    synchronized void uploadAll(List<DeviceOps.Upload> copies) {
        if (copies.isEmpty()) return;
        long total = 0;
        for (DeviceOps.Upload u : copies) total += aligned((long) u.n() * u.dtype().bytes());
        if (total > CAPACITY) {
            for (DeviceOps.Upload u : copies) upload(u.array(), u.dtype(), u.n(), u.dst());
            return;
        }
        long at = 0;
        try {
            for (DeviceOps.Upload u : copies) {
                long bytes = (long) u.n() * u.dtype().bytes();
                stage(at, u.array(), u.dtype(), 0, u.n());
                cuMemcpyHtoDAsync(u.dst(), host.withByteOffset(at), bytes, stream);
                at += aligned(bytes);
            }
            cuStreamSynchronize(stream);
        } catch (CudaException e) {
            throw new CudaFailureException("copying " + copies.size() + " arrays to the GPU: " + e.getMessage(), e);
        }
    }

    private static long aligned(long bytes) {
        return (bytes + ALIGN - 1) / ALIGN * ALIGN;
    }

    /** Elements start .. start + len of array into the buffer from byte {@code at}. */
    private void stage(long at, Object array, DType dtype, int start, int len) {
        ByteBuffer b = buffer();
        b.clear();
        b.position((int) at);
        ByteBuffer to = b.slice().order(ByteOrder.nativeOrder());
        switch (dtype) {
            case F32 -> to.asFloatBuffer().put((float[]) array, start, len);
            case F64 -> to.asDoubleBuffer().put((double[]) array, start, len);
            case I32 -> to.asIntBuffer().put((int[]) array, start, len);
            case BF16, F16 -> to.asShortBuffer().put((short[]) array, start, len);
        }
    }

    /** Copies n elements from the device at src into a new float[], double[], int[] or short[]. */
    synchronized Object download(CUdeviceptr src, DType dtype, int n) {
        Object out = switch (dtype) {
            case F32 -> new float[n];
            case F64 -> new double[n];
            case I32 -> new int[n];
            case BF16, F16 -> new short[n];
        };
        int per = (int) (CAPACITY / dtype.bytes());
        ByteBuffer b = buffer();
        for (int start = 0; start < n; start += per) {
            int len = Math.min(per, n - start);
            long bytes = (long) len * dtype.bytes();
            try {
                cuMemcpyDtoHAsync(host, src.withByteOffset((long) start * dtype.bytes()), bytes, stream);
                cuStreamSynchronize(stream);
            } catch (CudaException e) {
                throw new CudaFailureException("copying " + bytes + " bytes from the GPU (a failed kernel before it shows here too): "
                        + e.getMessage(), e);
            }
            b.clear();
            switch (dtype) {
                case F32 -> b.asFloatBuffer().get((float[]) out, start, len);
                case F64 -> b.asDoubleBuffer().get((double[]) out, start, len);
                case I32 -> b.asIntBuffer().get((int[]) out, start, len);
                case BF16, F16 -> b.asShortBuffer().get((short[]) out, start, len);
            }
        }
        return out;
    }
}
