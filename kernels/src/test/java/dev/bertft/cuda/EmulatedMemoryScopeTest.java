package dev.bertft.cuda;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Memory scopes on an emulated 64 MiB device (collections after 16 MiB from the driver): closing
 * one gives back exactly the blocks of the tensors made inside it, so a loop of scoped
 * iterations runs from the free lists with no collection; kept tensors live on; a freed tensor
 * is an error, never a read of memory someone else now owns.
 */
class EmulatedMemoryScopeTest {
    private static final long DEVICE_BYTES = 64L << 20;

    @Test
    void closingAScopeFreesWhatItMadeAndTheNextIterationReusesIt() {
        CudaBackend gpu = KernelEmulator.freshBackend(DEVICE_BYTES);
        Tensor w = gpu.full(DType.F32, new int[] {64, 64}, 0.5);
        long base = gpu.memoryStats().inUseBytes(), afterFirst = 0;
        Tensor kept = null;
        for (int i = 0; i < 6; i++) {
            try (Backend.Scope iteration = gpu.openScope()) {
                Tensor x = gpu.full(DType.F32, new int[] {32, 64}, i);
                Tensor y = x.matmul(w).add(1.0).transpose(0, 1).contiguous(); // temporaries of several sizes
                if (i == 5) {
                    iteration.keep(y);
                    kept = y;
                }
            }
            if (i == 0) afterFirst = gpu.memoryStats().driverAllocations();
            if (i < 5) assertEquals(base, gpu.memoryStats().inUseBytes(), "iteration " + i + " gave back all it made");
        }
        var stats = gpu.memoryStats();
        assertEquals(afterFirst, stats.driverAllocations(), "later iterations are served from the free lists: " + stats);
        assertEquals(0, stats.collections(), stats.toString());
        assertEquals(base + CachingAllocator.bucket(32 * 64 * 4), stats.inUseBytes(), "only the kept tensor stays");
        float[] expected = new float[64 * 32];
        Arrays.fill(expected, 5 * 0.5f * 64 + 1);
        assertArrayEquals(expected, kept.toFloatArray(), "a kept tensor keeps its values");
    }

    @Test
    void aTensorUsedAfterItsScopeClosedIsAnError() {
        CudaBackend gpu = KernelEmulator.freshBackend(DEVICE_BYTES);
        Tensor t;
        try (Backend.Scope s = gpu.openScope()) {
            t = gpu.full(DType.F32, new int[] {2, 3}, 1.0);
        }
        Tensor view = t.reshape(3, 2);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> view.add(1.0));
        assertTrue(e.getMessage().startsWith("a F32 tensor of shape [3, 2] was used after the memory scope that made it closed"),
                e.getMessage());
        assertThrows(IllegalStateException.class, t::toFloatArray, "reading it back is refused too");
    }

    @Test
    void keptInANestedScopeATensorLivesUntilTheEnclosingOneCloses() {
        CudaBackend gpu = KernelEmulator.freshBackend(DEVICE_BYTES);
        long base = gpu.memoryStats().inUseBytes();
        Tensor t;
        try (Backend.Scope outer = gpu.openScope()) {
            try (Backend.Scope inner = gpu.openScope()) {
                t = gpu.full(DType.F32, new int[] {100}, 2.0);
                inner.keep(t);
                gpu.full(DType.F32, new int[] {100}, 3.0);
            }
            assertEquals(base + CachingAllocator.bucket(400), gpu.memoryStats().inUseBytes(), "the inner scope freed the other one");
            assertEquals(200.0, t.sum().item(), 1e-6);
        }
        assertEquals(base, gpu.memoryStats().inUseBytes());
        assertThrows(IllegalStateException.class, t::toFloatArray);
    }

    @Test
    void scopesCloseInnermostFirst() {
        CudaBackend gpu = KernelEmulator.freshBackend(DEVICE_BYTES);
        Backend.Scope outer = gpu.openScope(), inner = gpu.openScope();
        IllegalStateException e = assertThrows(IllegalStateException.class, outer::close);
        assertEquals("memory scopes close innermost first, on the thread that opened them", e.getMessage());
        inner.close();
        outer.close();
        Tensor after = gpu.full(DType.F32, new int[] {4}, 1.0); // no scope open: the collector's, usable
        assertEquals(4.0, after.sum().item(), 0.0);
    }

    /** Tensors dropped inside a scope may come back through a collection first; closing must not free them again. */
    @Test
    void aBlockTheCollectorTookBackInsideAScopeIsNotFreedTwice() {
        CudaBackend gpu = KernelEmulator.freshBackend(DEVICE_BYTES);
        long base = gpu.memoryStats().inUseBytes();
        try (Backend.Scope s = gpu.openScope()) {
            for (int i = 0; i < 12; i++) gpu.full(DType.F32, new int[] {1 << 20}, i); // 4 MiB each, dropped at once
            assertTrue(gpu.memoryStats().collections() >= 1, "a collection fell inside the scope: " + gpu.memoryStats());
        }
        assertEquals(base, gpu.memoryStats().inUseBytes(), "each block given back once: " + gpu.memoryStats());
        Tensor a = gpu.full(DType.F32, new int[] {1 << 20}, 1.0), b = gpu.full(DType.F32, new int[] {1 << 20}, 2.0);
        assertEquals(3.0 * (1 << 20), a.add(b).sum().item(), 0.0, "two live tensors of one bucket have two blocks");
    }
}
