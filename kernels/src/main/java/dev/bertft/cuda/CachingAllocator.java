package dev.bertft.cuda;

import java.util.ArrayDeque;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Device memory for tensors without a driver call per op. Requests are rounded up to a size
 * bucket; a block whose tensor is gone goes back to its bucket's free list and the next request
 * of that bucket takes it. Blocks are returned to the driver only when an allocation fails, and
 * then the request is retried.
 *
 * <p>Once the shared free lists hold more than the most that was ever in use, a request of 1 MiB or more
 * that finds its own bucket empty takes the smallest free block up to twice its bucket before it
 * goes to the driver. Batches padded to lengths a few tokens apart (prediction sorted longest
 * first) then reuse the longer batches' blocks instead of caching a set per bucket. Before that
 * point a miss goes to the driver: a repeating training step would otherwise take a larger
 * bucket's block that a later request of the step needs, and send that one to the driver, step
 * after step. (The free blocks of captured graphs' pools, below, serve only their captures and
 * count for neither side.)
 *
 * <p>Buckets: multiples of 512 bytes below 1 MiB; above, four steps per power of two
 * (2ⁿ, 1.25·2ⁿ, 1.5·2ⁿ, 1.75·2ⁿ), so at most 25% of a large block is slack while the number of
 * distinct sizes stays small enough for reuse.
 *
 * <p>Blocks come back when a memory scope closes (the training and prediction loops open one per
 * step, see {@code Backend.openScope}), or else when the garbage collector finds their tensors
 * unreachable. The collector knows nothing of GPU memory and, with a large heap, may not run for
 * many steps, while each step outside a scope leaves gigabytes of dead activations on the device.
 * Left alone, each of those steps would get all its blocks from the driver. So once
 * {@code collectEvery} bytes have come from the driver since the last collection, a request the
 * free lists cannot serve first asks for one ({@code reclaim}) and takes the returned blocks;
 * in steady state a step is then served from the free lists, with a collection every few steps.
 * When the device is full the allocator returns its cached blocks to the driver, then collects
 * and tries again a few times before giving up with a {@link DeviceOutOfMemoryException} that
 * says what was being allocated and how memory stood.
 *
 * <p>Reuse is safe without waiting for the GPU: every kernel runs on the backend's one stream,
 * so work that read a freed block finishes before work that gets it next.
 *
 * <p>A captured graph replays its kernels on the addresses they had when it was captured, long
 * after the tensors there are gone. So the blocks handed out while a {@link Pool} is open belong
 * to it: freed, they go to the pool's own free lists, which serve only its capture, and they come
 * back to everyone only when the pool is {@linkplain Pool#close closed} (the graph dropped).
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
     * @param collections        garbage collections asked for
     */
    public record Stats(long inUseBytes, long cachedBytes, long peakInUseBytes, long driverAllocations, long reuses,
                        long driverFrees, long collections) {
        @Override
        public String toString() {
            return String.format("in use %s (peak %s), cached %s, %d driver allocations, %d reuses, %d driver frees, %d collections",
                    mib(inUseBytes), mib(peakInUseBytes), mib(cachedBytes), driverAllocations, reuses, driverFrees, collections);
        }
    }

    private final DeviceMemory<P> memory;
    private final Runnable reclaim;
    private final long collectEvery;
    private final TreeMap<Long, ArrayDeque<P>> free = new TreeMap<>(); // bucket → its free blocks, never an empty list
    private long inUse, cached, peak, driverAllocations, reuses, driverFrees, collections;
    private long pooled; // of cached: the bytes in pools' free lists, which only their own captures take
    private long sinceCollection; // bytes from the driver since the last reclaim
    /** The pool that owns each of its blocks (by handle identity: a block's handle object is reused as it is). */
    private final Map<P, Pool> owners = new IdentityHashMap<>();
    /** The pool new blocks go to, or null. */
    private Pool open;

    /** Blocks reserved for one captured graph (see the class comment). */
    public final class Pool {
        private final TreeMap<Long, ArrayDeque<P>> free = new TreeMap<>();
        private boolean closed;

        /** Stops handing out blocks to this pool; what it has stays reserved. */
        public void endCapture() {
            synchronized (CachingAllocator.this) {
                if (open == this) open = null;
            }
        }

        /** Gives the pool's blocks back: the free ones now, the others when their tensors are freed. */
        public void close() {
            synchronized (CachingAllocator.this) {
                endCapture();
                if (closed) return;
                closed = true;
                owners.values().removeIf(p -> p == this);
                for (Map.Entry<Long, ArrayDeque<P>> e : free.entrySet()) {
                    for (P p : e.getValue()) CachingAllocator.this.free.computeIfAbsent(e.getKey(), k -> new ArrayDeque<>()).push(p);
                    pooled -= e.getKey() * e.getValue().size();
                }
                free.clear();
            }
        }
    }

    /** Opens a pool that owns every block handed out until its {@link Pool#endCapture}. */
    public synchronized Pool openPool() {
        if (open != null) throw new IllegalStateException("a memory pool is open already: captures do not nest");
        open = new Pool();
        return open;
    }

    /**
     * @param reclaim      run (without the allocator's lock) to let freed tensors come back: the
     *                     driver backend runs a garbage collection and takes what it finds
     * @param collectEvery driver bytes between two reclaims on the way to the driver
     */
    public CachingAllocator(DeviceMemory<P> memory, Runnable reclaim, long collectEvery) {
        this.memory = memory;
        this.reclaim = reclaim;
        this.collectEvery = collectEvery;
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
        return allocate(bytes, what, false);
    }

    /**
     * The same; {@code untouched}: not one of the open pool's free blocks, so no work of its
     * capture has used it (for data the host writes before each launch, ahead of all that work).
     */
    public Block<P> allocate(long bytes, String what, boolean untouched) {
        long size = bucket(bytes);
        Block<P> b = untouched ? null : fromPool(size);
        if (b == null) b = fromFreeList(size);
        if (b == null && dueForCollection(size)) {
            collect();
            b = fromFreeList(size);
        }
        if (b == null) b = fromDriver(size);
        for (int attempt = 0; b == null && attempt < RECLAIM_ATTEMPTS; attempt++) {
            collect();
            b = fromFreeList(size);
            if (b == null) b = fromDriver(size);
        }
        if (b == null) {
            throw new DeviceOutOfMemoryException("out of GPU memory allocating " + mib(size) + " for " + what
                    + " (" + stats() + ")");
        }
        synchronized (this) {
            if (open != null) owners.put(b.handle(), open);
        }
        return b;
    }

    /** A block the open pool freed earlier in its capture. */
    private synchronized Block<P> fromPool(long size) {
        return open == null ? null : reuse(open.free, size);
    }

    private synchronized boolean dueForCollection(long size) {
        return sinceCollection + size > collectEvery;
    }

    private void collect() {
        reclaim.run();
        synchronized (this) {
            sinceCollection = 0;
            collections++;
        }
    }

    private synchronized Block<P> fromFreeList(long size) {
        return reuse(free, size);
    }

    /**
     * A block of bucket {@code size} from {@code lists} (the shared free lists or a pool's), or from the shared
     * ones a larger block (see the class comment), taken off its list.
     */
    private Block<P> reuse(TreeMap<Long, ArrayDeque<P>> lists, long size) {
        boolean shared = lists == free;
        Map.Entry<Long, ArrayDeque<P>> fit = lists.ceilingEntry(size);
        long largest = shared && size >= SMALL_LIMIT && cached - pooled > peak ? 2 * size : size;
        if (fit == null || fit.getKey() > largest) return null;
        long bytes = fit.getKey();
        P handle = fit.getValue().pop();
        if (fit.getValue().isEmpty()) lists.remove(bytes);
        cached -= bytes;
        if (!shared) pooled -= bytes;
        reuses++;
        return handOut(handle, bytes);
    }

    /** A new block from the driver, after returning the cached ones if the device is full. */
    private synchronized Block<P> fromDriver(long size) {
        P handle = memory.allocate(size);
        if (handle == null && cached > 0) {
            releaseCached();
            handle = memory.allocate(size);
        }
        if (handle == null) return null;
        driverAllocations++;
        sinceCollection += size;
        return handOut(handle, size);
    }

    private Block<P> handOut(P handle, long size) {
        inUse += size;
        peak = Math.max(peak, inUse);
        return new Block<>(handle, size);
    }

    /** Puts a block whose tensor is gone on its bucket's free list (any thread). */
    public synchronized void release(Block<P> block) {
        Pool owner = owners.get(block.handle());
        (owner == null ? free : owner.free).computeIfAbsent(block.bytes(), k -> new ArrayDeque<>()).push(block.handle());
        inUse -= block.bytes();
        cached += block.bytes();
        if (owner != null) pooled += block.bytes();
    }

    /** Returns every cached block to the driver. */
    public synchronized void releaseCached() {
        for (Map.Entry<Long, ArrayDeque<P>> e : free.entrySet()) {
            for (P p : e.getValue()) {
                memory.free(p);
                driverFrees++;
                cached -= e.getKey();
            }
        }
        free.clear();
    }

    public synchronized Stats stats() {
        return new Stats(inUse, cached, peak, driverAllocations, reuses, driverFrees, collections);
    }

    static String mib(long bytes) {
        return bytes < 1 << 20 ? bytes + " B" : String.format("%.1f MiB", bytes / (double) (1 << 20));
    }
}
