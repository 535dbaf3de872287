package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

/**
 * Host↔device copies through one page-locked buffer of {@link #CAPACITY} bytes, in chunks:
 * DMA runs at full speed from pinned memory, and a checkpoint of any size needs no more pinned
 * memory than this. Copies are synchronous for the caller (the stream is drained per chunk).
 */
final class PinnedStaging {
    static final long CAPACITY = 16L << 20;

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
        ByteBuffer b = buffer();
        for (int start = 0; start < n; start += per) {
            int len = Math.min(per, n - start);
            b.clear();
            switch (dtype) {
                case F32 -> b.asFloatBuffer().put((float[]) array, start, len);
                case F64 -> b.asDoubleBuffer().put((double[]) array, start, len);
                case I32 -> b.asIntBuffer().put((int[]) array, start, len);
                case BF16, F16 -> b.asShortBuffer().put((short[]) array, start, len);
            }
            long bytes = (long) len * dtype.bytes();
            try {
                cuMemcpyHtoDAsync(dst.withByteOffset((long) start * dtype.bytes()), host, bytes, stream);
                cuStreamSynchronize(stream);
            } catch (CudaException e) {
                throw new CudaFailureException("copying " + bytes + " bytes to the GPU: " + e.getMessage(), e);
            }
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
