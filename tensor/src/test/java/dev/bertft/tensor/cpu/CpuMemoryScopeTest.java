package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Memory scopes on the CPU backend: arrays reused by the next scope, never shared with a live tensor. */
class CpuMemoryScopeTest {
    private final CpuBackend cpu = new CpuBackend(2);

    @AfterEach
    void closePool() {
        cpu.pool().close();
    }

    private Tensor ramp(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = i + 1;
        return Tensor.of(cpu, v, n);
    }

    @Test
    void theNextScopeReusesTheArraysAndZerosWhatMustBeZero() {
        Set<Object> given = Collections.newSetFromMap(new IdentityHashMap<>());
        try (Backend.Scope step = cpu.openScope()) {
            Tensor input = ramp(1000);
            given.add(CpuBackend.array(input));
            given.add(CpuBackend.array(input.mul(2.0)));
        }
        try (Backend.Scope step = cpu.openScope()) {
            Tensor zeros = cpu.zeros(DType.F32, 1000);
            assertTrue(given.contains(CpuBackend.array(zeros)), "the second scope's tensor of the same size took an array the first gave back");
            assertArrayEquals(new float[1000], zeros.toFloatArray(), "a reused array handed out as zeros holds zeros");
        }
    }

    @Test
    void aTensorUsedAfterItsScopeClosedFailsLoudly() {
        Tensor t;
        try (Backend.Scope step = cpu.openScope()) {
            t = ramp(64).exp();
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, t::toFloatArray);
        assertTrue(e.getMessage().contains("used after the memory scope that made it closed"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> t.reshape(8, 8).add(1.0), "views share the storage and fail too");
    }

    @Test
    void keptTensorsSurviveAndNoLaterTensorSharesTheirArray() {
        Tensor kept;
        try (Backend.Scope step = cpu.openScope()) {
            kept = ramp(500).mul(3.0);
            step.keep(kept);
        }
        try (Backend.Scope step = cpu.openScope()) {
            Tensor other = cpu.full(DType.F32, new int[] {500}, 7.0);
            assertNotSame(CpuBackend.array(kept), CpuBackend.array(other));
        }
        float[] v = kept.toFloatArray();
        for (int i = 0; i < 500; i++) assertEquals(3f * (i + 1), v[i]);
    }

    @Test
    void nestedScopesHandKeptTensorsOutward() {
        try (Backend.Scope outer = cpu.openScope()) {
            Tensor kept, dropped;
            try (Backend.Scope inner = cpu.openScope()) {
                kept = ramp(100).add(1.0);
                dropped = ramp(100).add(2.0);
                inner.keep(kept);
            }
            assertThrows(IllegalStateException.class, dropped::toFloatArray);
            assertEquals(101f, kept.toFloatArray()[99], "kept by the inner scope: it lives in the outer one");
            outer.close();
            assertThrows(IllegalStateException.class, kept::toFloatArray, "the outer scope frees what the inner one kept");
        }
    }

    @Test
    void releaseFreesOnlyWhatTheScopeMade() {
        Tensor before = ramp(10);
        try (Backend.Scope step = cpu.openScope()) {
            Tensor made = before.mul(2.0);
            step.release(before);
            step.release(made);
            assertEquals(10f, before.toFloatArray()[9], "made outside the scope: release leaves it alone");
            assertThrows(IllegalStateException.class, made::toFloatArray);
        }
    }

    @Test
    void thePoolHoldsNoMoreThanTheLargestScopeHadOut() {
        Object small;
        try (Backend.Scope step = cpu.openScope()) {
            small = CpuBackend.array(cpu.zeros(DType.F32, 1000));
            cpu.zeros(DType.F32, 1000);
            cpu.zeros(DType.F32, 1000);
        }
        assertEquals(3 * 4000, cpu.pooledBytes());
        try (Backend.Scope step = cpu.openScope()) {
            cpu.zeros(DType.F32, 2000);
            cpu.zeros(DType.F32, 2000);
            cpu.zeros(DType.F32, 2000);
        }
        // peak out at once: 24 000 bytes; the 12 000 of the size not used since went to the collector
        assertEquals(3 * 8000, cpu.pooledBytes());
        try (Backend.Scope step = cpu.openScope()) {
            assertNotSame(small, CpuBackend.array(cpu.zeros(DType.F32, 1000)));
        }
    }

    @Test
    void aSmallerTensorTakesALongerFreeArrayAndSeesOnlyItsOwnElements() {
        Set<Object> longer = Collections.newSetFromMap(new IdentityHashMap<>());
        try (Backend.Scope step = cpu.openScope()) {
            for (int i = 0; i < 7; i++) longer.add(CpuBackend.array(cpu.full(DType.F32, new int[] {1000}, 9.0)));
        }
        try (Backend.Scope step = cpu.openScope()) {
            Tensor zeros = cpu.zeros(DType.F32, 600);
            assertTrue(longer.contains(CpuBackend.array(zeros)), "600 elements fit a free array of 1000");
            assertArrayEquals(new float[600], zeros.toFloatArray());
            // ops on tensors whose arrays are longer than they are: the 9s past their ends must not show
            float[] small = new float[600];
            for (int i = 0; i < 600; i++) small[i] = i % 256 + 1;   // exact in bfloat16
            Tensor values = zeros.add(Tensor.of(cpu, small, 600));
            assertTrue(longer.contains(CpuBackend.array(values)));
            assertArrayEquals(small, values.cast(DType.BF16).cast(DType.F32).toFloatArray());
            assertEquals(2 * 256 * 257 / 2.0 + 88 * 89 / 2.0, values.sum().item(), 1e-3);
            assertArrayEquals(new float[] {7, 7, 7}, cpu.full(DType.F32, new int[] {3}, 7.0).toFloatArray());
        }
        try (Backend.Scope step = cpu.openScope()) {
            assertFalse(longer.contains(CpuBackend.array(cpu.zeros(DType.F32, 400))), "not an array of more than twice the elements");
        }
    }

    @Test
    void scopesBelongToTheirThread() throws Exception {
        Backend.Scope step = cpu.openScope();
        ExecutionException e = assertThrows(ExecutionException.class, () -> CompletableFuture.runAsync(step::close).get());
        assertInstanceOf(IllegalStateException.class, e.getCause());
        Tensor onWorker = CompletableFuture.supplyAsync(() -> ramp(8).add(1.0)).get();
        step.close();
        assertEquals(9f, onWorker.toFloatArray()[7], "a tensor made on a thread with no scope open is not this thread's scope's");
    }
}
