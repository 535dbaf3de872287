package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.MemoryScopes;
import dev.bertft.tensor.Tensor;

import java.util.Arrays;

/**
 * The arrays of a {@link CpuBackend}'s tensors: those made inside a memory scope ({@link Backend#openScope})
 * go back to an {@link ArrayPool} when it closes, and the next step's tensors take them from there;
 * the others, and those a scope keeps past the outermost one, the garbage collector frees.
 */
final class CpuMemory {
    private final CpuBackend backend;
    private final ArrayPool pool = new ArrayPool();
    private final MemoryScopes<CpuStorage> scopes;

    CpuMemory(CpuBackend backend) {
        this.backend = backend;
        this.scopes = new MemoryScopes<>(backend::own, this::free, s -> pool.forget(s.array()));
    }

    /**
     * A new contiguous tensor, owned by the thread's innermost open scope if there is one;
     * {@code zeroed}: all zeros, otherwise whatever a reused array held (for ops that write every element).
     * A reused array may be longer than the tensor.
     */
    Tensor allocate(DType dtype, int[] shape, boolean zeroed) {
        int n = Tensor.numel(shape);
        Object array = pool.take(dtype, n);
        if (array == null) array = dtype.newArray(n);
        else if (zeroed) zero(array, n);
        CpuStorage s = new CpuStorage(backend, dtype, array, n);
        if (scopes.made(s)) pool.lent(array);
        return Tensor.contiguousView(s, shape);
    }


    private static void zero(Object array, int n) {
        if (array instanceof float[] f) Arrays.fill(f, 0, n, 0f);
        else if (array instanceof double[] d) Arrays.fill(d, 0, n, 0.0);
        else if (array instanceof int[] i) Arrays.fill(i, 0, n, 0);
        else Arrays.fill((short[]) array, 0, n, (short) 0);
    }

    /** Bytes of free arrays the pool holds for the next tensors. */
    long pooledBytes() {
        return pool.heldBytes();
    }

    /** Returns a storage's array to the pool unless it was returned already; any later use of the storage fails. */
    private void free(CpuStorage s) {
        Object array = s.detach();
        if (array != null) pool.give(array);
    }

    Backend.Scope openScope() {
        return scopes.open();
    }
}
