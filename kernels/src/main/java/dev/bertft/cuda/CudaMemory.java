package dev.bertft.cuda;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import jcuda.driver.CUdeviceptr;

import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
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
    /** The innermost open memory scope of each thread. */
    private final ThreadLocal<MemoryScope> openScope = new ThreadLocal<>();

    /** {@code backend}'s tensors in {@code memory}; dead activations may fill {@code collectAfter} bytes before a collection. */
    CudaMemory(CudaBackend backend, DeviceMemory<CUdeviceptr> memory, long collectAfter) {
        this.backend = backend;
        this.allocator = new CachingAllocator<>(memory, this::collectGarbage, collectAfter);
    }

    /**
     * A tensor storage's block, which goes back to the allocator exactly once: when the memory
     * scope that made it closes, or when the collector finds the storage unreachable, whichever
     * comes first ({@code tracked} holds the references not yet returned).
     */
    static final class Tracked extends PhantomReference<CudaStorage> {
        final CachingAllocator.Block<CUdeviceptr> block;
        /** The scope that frees it, or null when only the collector does. */
        MemoryScope scope;
        /** Returned by a scope while the storage was still reachable: any later use is an error. */
        volatile boolean freed;

        Tracked(CudaStorage storage, ReferenceQueue<CudaStorage> queue, CachingAllocator.Block<CUdeviceptr> block, MemoryScope scope) {
            super(storage, queue);
            this.block = block;
            this.scope = scope;
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
        return allocate(openScope.get(), dtype, shape, false);
    }

    /**
     * A new contiguous tensor no scope frees, only the collector; {@code untouched}: a block no work
     * of the capture in progress has used (see {@link CachingAllocator#allocate(long, String, boolean)}).
     */
    Tensor allocateUnscoped(DType dtype, int[] shape, boolean untouched) {
        return allocate(null, dtype, shape, untouched);
    }

    private Tensor allocate(MemoryScope scope, DType dtype, int[] shape, boolean untouched) {
        recycle();
        long n = Tensor.numel(shape);
        CachingAllocator.Block<CUdeviceptr> block = allocator.allocate(n * dtype.bytes(),
                "a " + dtype + " tensor of shape " + Arrays.toString(shape), untouched);
        CudaStorage s = new CudaStorage(backend, dtype, n, block.handle());
        s.tracked = new Tracked(s, unreachable, block, scope);
        tracked.add(s.tracked);
        if (scope != null) scope.made.add(s.tracked);
        return Tensor.contiguousView(s, shape);
    }

    Backend.Scope openScope() {
        MemoryScope s = new MemoryScope(openScope.get());
        openScope.set(s);
        return s;
    }

    /** A scope of {@link Backend#openScope}: the blocks of the tensors made while it is the innermost one on its thread. */
    final class MemoryScope implements Backend.Scope {
        private final MemoryScope parent;
        private final Thread thread = Thread.currentThread();
        private final List<Tracked> made = new ArrayList<>();
        private boolean closed;

        private MemoryScope(MemoryScope parent) {
            this.parent = parent;
        }

        @Override
        public void keep(Tensor t) {
            Tracked lease = backend.own(t).tracked;
            if (lease.scope != this) return; // made outside this scope, or kept already
            lease.scope = parent;
            if (parent != null) parent.made.add(lease);
        }

        @Override
        public void release(Tensor t) {
            Tracked lease = backend.own(t).tracked;
            for (MemoryScope s = lease.scope; s != null; s = s.parent) {
                if (s == this) {
                    free(lease);
                    return;
                }
            }
        }

        @Override
        public void close() {
            if (closed) return;
            if (Thread.currentThread() != thread || openScope.get() != this) {
                throw new IllegalStateException("memory scopes close innermost first, on the thread that opened them");
            }
            closed = true;
            openScope.set(parent);
            for (Tracked t : made) if (t.scope == this) free(t);
            made.clear();
        }
    }

    /** Scratch space for one op; released right after its launches (stream order keeps it safe). */
    CachingAllocator.Block<CUdeviceptr> scratch(long bytes, String what) {
        return allocator.allocate(bytes, what);
    }

    void release(CachingAllocator.Block<CUdeviceptr> scratch) {
        allocator.release(scratch);
    }
}
