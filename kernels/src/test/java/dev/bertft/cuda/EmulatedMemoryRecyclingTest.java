package dev.bertft.cuda;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU memory comes back through the garbage collector, on a 64 MiB emulated device whose
 * allocator collects after 16 MiB from the driver: tensors nobody holds are reused, and the list
 * ops keep the dense copies they launch on alive while they allocate, even when a collection
 * falls between taking a copy's address and the launch.
 */
class EmulatedMemoryRecyclingTest {
    private static final long DEVICE_BYTES = 64L << 20;
    private static final CpuBackend CPU = new CpuBackend(2);

    @Test
    void blocksOfUnreachableTensorsAreReusedAndValuesStayRight() {
        CudaBackend gpu = KernelEmulator.freshBackend(DEVICE_BYTES);
        Tensor keep = gpu.full(DType.F32, new int[] {1000}, 3.0);
        for (int step = 0; step < 40; step++) {
            Tensor garbage = gpu.full(DType.F32, new int[] {1 << 20}, step); // 4 MiB, dropped at once
            assertTrue(garbage.numel() > 0);
        }
        var stats = gpu.memoryStats();
        assertTrue(stats.collections() >= 1, "collected: " + stats);
        assertTrue(stats.reuses() >= 20, "dead tensors' blocks reused: " + stats);
        assertTrue(stats.inUseBytes() + stats.cachedBytes() <= DEVICE_BYTES, stats.toString());
        for (double x : keep.toDoubleArray()) assertTrue(x == 3.0, "a live tensor kept its values");
    }

    @Test
    void listOpsKeepTheirDenseCopiesAliveAcrossACollection() {
        CudaBackend gpu = KernelEmulator.freshBackend(DEVICE_BYTES);
        Random random = new Random(3);
        List<Tensor> cpu = new ArrayList<>(), views = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            float[] v = new float[256 * 256];
            for (int j = 0; j < v.length; j++) v[j] = (float) random.nextGaussian();
            Tensor t = CPU.fromHost(v, DType.F32, 256, 256);
            cpu.add(t.transpose(0, 1));
            views.add(t.to(gpu).transpose(0, 1)); // not contiguous: each gets a dense copy for the list
        }
        List<Tensor> expected = CPU.scaled(cpu, 0.5), actual = gpu.scaled(views, 0.5);
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i).toDoubleArray(), actual.get(i).toDoubleArray(), 0.0, "tensor " + i);
        }
        assertTrue(gpu.memoryStats().collections() >= 1, "a collection fell inside the op: " + gpu.memoryStats());

        List<Tensor> params = new ArrayList<>(), ms = new ArrayList<>(), vs = new ArrayList<>(), cparams = new ArrayList<>();
        List<Tensor> cms = new ArrayList<>(), cvs = new ArrayList<>();
        for (Tensor c : cpu) {
            Tensor p = c.contiguous();
            cparams.add(p);
            cms.add(CPU.zeros(DType.F32, 256, 256));
            cvs.add(CPU.zeros(DType.F32, 256, 256));
            params.add(p.to(gpu));
            ms.add(gpu.zeros(DType.F32, 256, 256));
            vs.add(gpu.zeros(DType.F32, 256, 256));
        }
        var step = new Backend.AdamWStep(1e-2, 0.9, 0.999, 1e-8, 0.01, 1);
        CPU.adamW(cparams, cpu, cms, cvs, step);
        long before = gpu.memoryStats().collections();
        gpu.adamW(params, views, ms, vs, step); // gradients are transposed views: dense copies again
        for (int i = 0; i < params.size(); i++) {
            assertArrayEquals(cparams.get(i).toDoubleArray(), params.get(i).toDoubleArray(), 1e-6, "parameter " + i);
        }
        assertTrue(gpu.memoryStats().collections() > before, "a collection fell inside adamW: " + gpu.memoryStats());
    }
}
