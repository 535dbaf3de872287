package dev.bertft.cuda;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.TreeMap;

/**
 * Device memory for tensors without a driver call per op. Requests are rounded up to a size
 * bucket; a block whose tensor is gone goes back to its bucket's free list and the next request
 * of that bucket takes it. Blocks are returned to the driver only when an allocation fails, and
 * then the request is retried.
 *
 * <p>Buckets: multiples of 512 bytes below 1 MiB; above, four steps per power of two
 * (2ⁿ, 1.25·2ⁿ, 1.5·2ⁿ, 1.75·2ⁿ), so at most 25% of a large block is slack while the number of
 * distinct sizes stays small enough for reuse.
 *
 * <p>Tensors are freed by the garbage collector (a Cleaner returns their block), which knows
 * nothing of GPU memory. So when the device is full the allocator first returns its cached
 * blocks to the driver, then asks the JVM to collect ({@code reclaim}) and tries again a few
 * times before giving up with a {@link DeviceOutOfMemoryException} that says what was being
 * allocated and how memory stood.
 *
 * <p>Reuse is safe without waiting for the GPU: every kernel runs on the backend's one stream,
 * so work that read a freed block finishes before work that gets it next.
 *
 * @param <P> the handle of one device block
 */
public final class CachingAllocator<P> {
    static final long SMALL_LIMIT = 1L << 20;
    static final long SMALL_GRANULE = 512;
    static final int RECLAIM_ATTEMPTS = 3;

    /** One allocated block: its handle and its bucket size in bytes. */
    public record Block<P>(P handle, long bytes) {}

    /**
     * @param inUseBytes         bytes in blocks that tensors hold
     * @param cachedBytes        bytes in free blocks kept for reuse
     * @param peakInUseBytes     the most {@code inUseBytes} has been
     * @param driverAllocations  blocks obtained from the driver
     * @param reuses             requests served from the free lists
     * @param driverFrees        blocks returned to the driver
     */
    public record Stats(long inUseBytes, long cachedBytes, long peakInUseBytes, long driverAllocations, long reuses,
                        long driverFrees) {
        @Override
        public String toString() {
            return String.format("in use %s (peak %s), cached %s, %d driver allocations, %d reuses, %d driver frees",
                    mib(inUseBytes), mib(peakInUseBytes), mib(cachedBytes), driverAllocations, reuses, driverFrees);
        }
    }

    private final DeviceMemory<P> memory;
    private final Runnable reclaim;
    private final Map<Long, ArrayDeque<P>> free = new TreeMap<>();
    private long inUse, cached, peak, driverAllocations, reuses, driverFrees;

    /**
     * @param reclaim run (without the allocator's lock) when the device is full, to let freed
     *                tensors come back: the driver backend passes a garbage collection and a short wait
     */
    public CachingAllocator(DeviceMemory<P> memory, Runnable reclaim) {
        this.memory = memory;
        this.reclaim = reclaim;
    }

    /** The bucket a request of {@code bytes} is served from. */
    public static long bucket(long bytes) {
        if (bytes <= SMALL_GRANULE) return SMALL_GRANULE;
        if (bytes < SMALL_LIMIT) return roundUp(bytes, SMALL_GRANULE);
        long step = Long.highestOneBit(bytes) / 4;
        return roundUp(bytes, step);
    }

    private static long roundUp(long n, long step) {
        return (n + step - 1) / step * step;
    }

    /** A block of at least {@code bytes}; {@code what} names the request in an out-of-memory error. */
    public Block<P> allocate(long bytes, String what) {
        long size = bucket(bytes);
        Block<P> b = tryAllocate(size);
        for (int attempt = 0; b == null && attempt < RECLAIM_ATTEMPTS; attempt++) {
            reclaim.run();
            b = tryAllocate(size);
        }
        if (b == null) {
            throw new DeviceOutOfMemoryException("out of GPU memory allocating " + mib(size) + " for " + what
                    + " (" + stats() + ")");
        }
        return b;
    }

    private synchronized Block<P> tryAllocate(long size) {
        ArrayDeque<P> list = free.get(size);
        P handle;
        if (list != null && !list.isEmpty()) {
            handle = list.pop();
            cached -= size;
            reuses++;
        } else {
            handle = memory.allocate(size);
            if (handle == null && cached > 0) {
                releaseCached();
                handle = memory.allocate(size);
            }
            if (handle == null) return null;
            driverAllocations++;
        }
        inUse += size;
        peak = Math.max(peak, inUse);
        return new Block<>(handle, size);
    }

    /** Puts a block whose tensor is gone on its bucket's free list (any thread). */
    public synchronized void release(Block<P> block) {
        free.computeIfAbsent(block.bytes(), k -> new ArrayDeque<>()).push(block.handle());
        inUse -= block.bytes();
        cached += block.bytes();
    }

    /** Returns every cached block to the driver. */
    public synchronized void releaseCached() {
        for (Map.Entry<Long, ArrayDeque<P>> e : free.entrySet()) {
            for (P p : e.getValue()) {
                memory.free(p);
                driverFrees++;
                cached -= e.getKey();
            }
            e.getValue().clear();
        }
    }

    public synchronized Stats stats() {
        return new Stats(inUse, cached, peak, driverAllocations, reuses, driverFrees);
    }

    static String mib(long bytes) {
        return bytes < 1 << 20 ? bytes + " B" : String.format("%.1f MiB", bytes / (double) (1 << 20));
    }
}
