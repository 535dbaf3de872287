package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The arrays of a {@link CpuBackend}'s tensors: those made inside a memory scope ({@link Backend#openScope})
 * go back to an {@link ArrayPool} when it closes, and the next step's tensors take them from there;
 * the others, and those a scope keeps past the outermost one, the garbage collector frees.
 */
final class CpuMemory {
    private final CpuBackend backend;
    private final ArrayPool pool = new ArrayPool();
    /** The innermost open memory scope of each thread. */
    private final ThreadLocal<MemoryScope> openScope = new ThreadLocal<>();

    CpuMemory(CpuBackend backend) {
        this.backend = backend;
    }

    /**
     * A new contiguous tensor, owned by the thread's innermost open scope if there is one;
     * {@code zeroed}: all zeros, otherwise whatever a reused array held (for ops that write every element).
     */
    Tensor allocate(DType dtype, int[] shape, boolean zeroed) {
        int n = Tensor.numel(shape);
        Object array = pool.take(dtype, n);
        if (array == null) array = newArray(dtype, n);
        else if (zeroed) zero(array);
        CpuStorage s = new CpuStorage(backend, dtype, array, n);
        MemoryScope scope = openScope.get();
        if (scope != null) {
            s.scope = scope;
            scope.made.add(s);
            pool.lent((long) n * dtype.bytes());
        }
        return Tensor.contiguousView(s, shape);
    }

    private static Object newArray(DType dtype, int n) {
        return switch (dtype) {
            case F32 -> new float[n];
            case F64 -> new double[n];
            case I32 -> new int[n];
            case BF16, F16 -> new short[n];
        };
    }

    private static void zero(Object array) {
        if (array instanceof float[] f) Arrays.fill(f, 0f);
        else if (array instanceof double[] d) Arrays.fill(d, 0.0);
        else if (array instanceof int[] i) Arrays.fill(i, 0);
        else Arrays.fill((short[]) array, (short) 0);
    }

    /** Bytes of free arrays the pool holds for the next tensors. */
    long pooledBytes() {
        return pool.heldBytes();
    }

    /** Returns a storage's array to the pool unless it was returned already; any later use of the storage fails. */
    private void free(CpuStorage s) {
        Object array = s.detach();
        if (array != null) pool.give(array, s.dtype, (int) s.size());
    }

    Backend.Scope openScope() {
        MemoryScope s = new MemoryScope(openScope.get());
        openScope.set(s);
        return s;
    }

    /** A scope of {@link Backend#openScope}: the arrays of the tensors made while it is the innermost one on its thread. */
    final class MemoryScope implements Backend.Scope {
        private final MemoryScope parent;
        private final Thread thread = Thread.currentThread();
        private final List<CpuStorage> made = new ArrayList<>();
        private boolean closed;

        private MemoryScope(MemoryScope parent) {
            this.parent = parent;
        }

        @Override
        public void keep(Tensor t) {
            CpuStorage s = backend.own(t);
            if (s.scope != this) return; // made outside this scope, or kept already
            s.scope = parent;
            if (parent != null) parent.made.add(s);
            else pool.forget(s.size() * s.dtype.bytes());
        }

        @Override
        public void release(Tensor t) {
            CpuStorage s = backend.own(t);
            for (MemoryScope owner = s.scope; owner != null; owner = owner.parent) {
                if (owner == this) {
                    s.scope = null;
                    free(s);
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
            for (CpuStorage s : made) {
                if (s.scope == this) {
                    s.scope = null;
                    free(s);
                }
            }
            made.clear();
        }
    }
}
