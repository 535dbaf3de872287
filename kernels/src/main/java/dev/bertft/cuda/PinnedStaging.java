package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import jcuda.CudaException;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.List;
import java.util.function.Supplier;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

/**
 * Host↔device copies through page-locked memory: DMA runs at full speed from pinned memory, and a
 * checkpoint of any size needs no more pinned memory than {@link #CAPACITY} bytes.
 *
 * <ul>
 * <li>Uploads of up to {@link #QUEUED_MAX} bytes (a batch's ids, a step's host work) are staged in
 * the buffer, used as a ring, queued, and not waited for: the host goes on while the device still
 * runs the work before them. Each staged region is kept until an event recorded after its copy
 * says the copy is done; the ring waits for that only when it comes round to the region again.
 * <li>Larger uploads (weights) and downloads go in chunks through the buffer, the stream drained
 * per chunk: synchronous for the caller.
 * <li>{@link #downloadLater} copies into a small pinned block of its own, queued behind the work so
 * far, and waits only for that copy's event when its result is asked for.
 * </ul>
 */
final class PinnedStaging {
    static final long CAPACITY = 16L << 20;
    /** Uploads up to this many bytes are queued through the ring; larger ones wait. */
    static final long QUEUED_MAX = CAPACITY / 4;
    /** The pinned block of one later download; larger reads are made at once. */
    static final long LATER_BLOCK = 64 << 10;
    /** Places in the buffer start this many bytes apart at least. */
    private static final long ALIGN = 256;

    private final CUstream stream;
    private ByteBuffer buffer;
    private Pointer host;
    /** Where the ring's next region starts. */
    private long head;
    /** The ring's regions whose copies may not have run yet, oldest first. */
    private final ArrayDeque<Region> queued = new ArrayDeque<>();
    /** Pinned blocks of {@link #LATER_BLOCK} bytes that no later download holds. */
    private final ArrayDeque<Pointer> laterBlocks = new ArrayDeque<>();

    /** Bytes start .. end of the buffer, read by copies that end with {@code done}. */
    private record Region(long start, long end, CUevent done) {}

    PinnedStaging(CUstream stream) {
        this.stream = stream;
    }

    private ByteBuffer buffer() {
        if (buffer == null) {
            host = allocateHost(CAPACITY);
            buffer = host.getByteBuffer(0, CAPACITY).order(ByteOrder.nativeOrder());
        }
        return buffer;
    }

    private static Pointer allocateHost(long bytes) {
        Pointer p = new Pointer();
        try {
            cuMemAllocHost(p, bytes);
        } catch (CudaException e) {
            throw new CudaFailureException("allocating " + (bytes >> 10) + " KiB of pinned staging memory: " + e.getMessage(), e);
        }
        return p;
    }

    /** Copies n elements of a float[], double[], int[] or short[] (BF16, F16) to the device at dst (see {@link DeviceOps#upload}). */
    synchronized void upload(Object array, DType dtype, int n, CUdeviceptr dst) {
        uploadAll(List.of(new DeviceOps.Upload(array, dtype, n, dst)));
    }

    /**
     * The copies, staged side by side in the ring and queued, where they fit in {@link #QUEUED_MAX}
     * bytes together (a replayed step's host work: some thirty small arrays; a batch's ids); else one
     * by one, each waited for.
     */
    synchronized void uploadAll(List<DeviceOps.Upload> copies) {
        if (copies.isEmpty()) return;
        long total = 0;
        for (DeviceOps.Upload u : copies) total += aligned((long) u.n() * u.dtype().bytes());
        if (total > QUEUED_MAX) {
            for (DeviceOps.Upload u : copies) uploadWaiting(u.array(), u.dtype(), u.n(), u.dst());
            return;
        }
        long at = reserve(total), from = at;
        CUevent done = new CUevent();
        try {
            for (DeviceOps.Upload u : copies) {
                long bytes = (long) u.n() * u.dtype().bytes();
                stage(at, u.array(), u.dtype(), 0, u.n());
                cuMemcpyHtoDAsync(u.dst(), host.withByteOffset(at), bytes, stream);
                at += aligned(bytes);
            }
            cuEventCreate(done, CUevent_flags.CU_EVENT_DISABLE_TIMING);
            cuEventRecord(done, stream);
        } catch (CudaException e) {
            throw new CudaFailureException("copying " + copies.size() + " arrays to the GPU: " + e.getMessage(), e);
        }
        queued.addLast(new Region(from, from + total, done));
    }

    /**
     * The start of {@code bytes} of the ring, at its head or, where they would pass the end, at 0; waits
     * for the queued copies that still read any of them.
     */
    private long reserve(long bytes) {
        buffer();
        if (head + bytes > CAPACITY) head = 0;
        long start = head, end = start + bytes;
        Region last = null;
        for (Region r : queued) if (r.start() < end && start < r.end()) last = r;
        if (last != null) awaitThrough(last);
        head = end;
        return start;
    }

    /** Waits for region {@code r}'s copies; those queued before it have run too (stream order): all are released. */
    private void awaitThrough(Region r) {
        try {
            cuEventSynchronize(r.done());
        } catch (CudaException e) {
            throw new CudaFailureException("copying to the GPU (a failed kernel before it shows here too): " + e.getMessage(), e);
        }
        Region first;
        do {
            first = queued.removeFirst();
            cuEventDestroy(first.done());
        } while (first != r);
    }

    /** Before the buffer is written from its start by a waiting copy: every queued copy out of it has run. */
    private void drainRing() {
        if (!queued.isEmpty()) awaitThrough(queued.peekLast());
        head = 0;
    }

    private void uploadWaiting(Object array, DType dtype, int n, CUdeviceptr dst) {
        drainRing();
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

    /** Copies n elements from the device at src into a new float[], double[], int[] or short[], waiting for the work before. */
    synchronized Object download(CUdeviceptr src, DType dtype, int n) {
        drainRing();
        Object out = dtype.newArray(n);
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
            unstage(b, dtype, out, start, len);
        }
        return out;
    }

    /**
     * n elements at src, copied into a pinned block of their own behind the work queued so far; the
     * supplier waits for that copy's event alone (see {@link DeviceOps#downloadLater}). Reads larger
     * than a block (and empty ones) are made at once. A supplier never asked keeps its block.
     */
    synchronized Supplier<Object> downloadLater(CUdeviceptr src, DType dtype, int n) {
        long bytes = (long) n * dtype.bytes();
        if (bytes == 0 || bytes > LATER_BLOCK) {
            Object now = download(src, dtype, n);
            return () -> now;
        }
        Pointer block = laterBlocks.isEmpty() ? allocateHost(LATER_BLOCK) : laterBlocks.pop();
        CUevent done = new CUevent();
        try {
            cuMemcpyDtoHAsync(block, src, bytes, stream);
            cuEventCreate(done, CUevent_flags.CU_EVENT_DISABLE_TIMING);
            cuEventRecord(done, stream);
        } catch (CudaException e) {
            throw new CudaFailureException("copying " + bytes + " bytes from the GPU: " + e.getMessage(), e);
        }
        return new Supplier<>() {
            private Object values;

            /** Waits for the copy outside the staging's lock, so that other threads may queue meanwhile. */
            @Override
            public synchronized Object get() {
                if (values == null) {
                    try {
                        cuEventSynchronize(done);
                    } catch (CudaException e) {
                        throw new CudaFailureException("copying " + bytes + " bytes from the GPU (a failed kernel before it shows here too): "
                                + e.getMessage(), e);
                    }
                    Object out = dtype.newArray(n);
                    unstage(block.getByteBuffer(0, bytes).order(ByteOrder.nativeOrder()), dtype, out, 0, n);
                    synchronized (PinnedStaging.this) {
                        cuEventDestroy(done);
                        laterBlocks.push(block);
                    }
                    values = out;
                }
                return values;
            }
        };
    }

    /** Elements start .. start + len of out from the start of b. */
    private static void unstage(ByteBuffer b, DType dtype, Object out, int start, int len) {
        b.clear();
        switch (dtype) {
            case F32 -> b.asFloatBuffer().get((float[]) out, start, len);
            case F64 -> b.asDoubleBuffer().get((double[]) out, start, len);
            case I32 -> b.asIntBuffer().get((int[]) out, start, len);
            case BF16, F16 -> b.asShortBuffer().get((short[]) out, start, len);
        }
    }
}
