package dev.bertft.cuda;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.MemoryScopes;
import dev.bertft.tensor.Tensor;
import jcuda.driver.CUdeviceptr;

import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The lifetime of a {@link CudaBackend}'s tensors: blocks from a {@link CachingAllocator}, which go
 * back when the memory scope that made them closes ({@link Backend#openScope}) or when the garbage
 * collector finds their storage unreachable, whichever comes first; and scratch blocks for one op.
 */
final class CudaMemory {
    /** How long a collection waits for the collector's last unreachable storages. */
    private static final long QUIET_MILLIS = 20;

    private final CudaBackend backend;
    final CachingAllocator<CUdeviceptr> allocator;
    /** Storages the garbage collector found unreachable, whose blocks go back to the allocator. */
    private final ReferenceQueue<CudaStorage> unreachable = new ReferenceQueue<>();
    private final Set<Tracked> tracked = ConcurrentHashMap.newKeySet();
    private final MemoryScopes<Tracked> scopes;

    /** {@code backend}'s tensors in {@code memory}; dead activations may fill {@code collectAfter} bytes before a collection. */
    CudaMemory(CudaBackend backend, DeviceMemory<CUdeviceptr> memory, long collectAfter) {
        this.backend = backend;
        this.allocator = new CachingAllocator<>(memory, this::collectGarbage, collectAfter);
        this.scopes = new MemoryScopes<>(t -> backend.own(t).tracked, this::free, t -> {});
    }

    /**
     * A tensor storage's block, which goes back to the allocator exactly once: when the memory
     * scope that made it closes, or when the collector finds the storage unreachable, whichever
     * comes first ({@code tracked} holds the references not yet returned).
     */
    static final class Tracked extends PhantomReference<CudaStorage> {
        final CachingAllocator.Block<CUdeviceptr> block;
        /** Returned by a scope while the storage was still reachable: any later use is an error. */
        volatile boolean freed;

        Tracked(CudaStorage storage, ReferenceQueue<CudaStorage> queue, CachingAllocator.Block<CUdeviceptr> block) {
            super(storage, queue);
            this.block = block;
        }
    }

    /**
     * Returns a storage's block to the allocator unless it was returned already. A scope may free a
     * storage that is still reachable, so the storage is marked: any later use of it fails.
     */
    private void free(Tracked t) {
        if (tracked.remove(t)) {
            t.freed = true;
            t.clear();
            allocator.release(t.block);
        }
    }

    /** Returns the blocks of storages found unreachable since the last look, without waiting. */
    private void recycle() {
        for (Reference<? extends CudaStorage> r; (r = unreachable.poll()) != null; ) free((Tracked) r);
    }

    /**
     * Runs the garbage collector and takes back the blocks of the storages it finds unreachable;
     * the JVM queues them from another thread, so this waits until none has come for a moment.
     */
    private void collectGarbage() {
        System.gc();
        try {
            for (Reference<? extends CudaStorage> r; (r = unreachable.remove(QUIET_MILLIS)) != null; ) free((Tracked) r);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A new contiguous tensor, owned by the thread's innermost open scope if there is one. */
    Tensor allocate(DType dtype, int... shape) {
        return allocate(true, dtype, shape, false);
    }

    /**
     * A new contiguous tensor no scope frees, only the collector; {@code untouched}: a block no work
     * of the capture in progress has used (see {@link CachingAllocator#allocate(long, String, boolean)}).
     */
    Tensor allocateUnscoped(DType dtype, int[] shape, boolean untouched) {
        return allocate(false, dtype, shape, untouched);
    }

    private Tensor allocate(boolean scoped, DType dtype, int[] shape, boolean untouched) {
        recycle();
        long n = Tensor.numel(shape);
        CachingAllocator.Block<CUdeviceptr> block = allocator.allocate(n * dtype.bytes(),
                "a " + dtype + " tensor of shape " + Arrays.toString(shape), untouched);
        CudaStorage s = new CudaStorage(backend, dtype, n, block.handle());
        s.tracked = new Tracked(s, unreachable, block);
        tracked.add(s.tracked);
        if (scoped) scopes.made(s.tracked);
        return Tensor.contiguousView(s, shape);
    }

    Backend.Scope openScope() {
        return scopes.open();
    }

    /** Takes {@code t} out of its memory scope, as {@link #allocateUnscoped} would have made it. */
    void detach(CudaStorage t) {
        scopes.detach(t.tracked);
    }

    /** Scratch space for one op; released right after its launches (stream order keeps it safe). */
    CachingAllocator.Block<CUdeviceptr> scratch(long bytes, String what) {
        return allocator.allocate(bytes, what);
    }

    void release(CachingAllocator.Block<CUdeviceptr> scratch) {
        allocator.release(scratch);
    }
}
