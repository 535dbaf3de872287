package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.Test;

import java.lang.ref.ReferenceQueue;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A kernel that faults on a real GPU (it reads an address no allocation has): the JVM goes on,
 * the error names the fault, and the device refuses all further work with the same kind of
 * error, as a CUDA context does after a fault. It runs in a child JVM because the fault leaves
 * that process's context unusable. (That checkpoints saved before a fault stay intact is
 * EmulatedGpuTrainerTest's.) Skipped where no GPU is usable.
 */
class GpuKernelFaultTest {

    @Test
    void aFaultingKernelIsAClearErrorNotACrash() throws Exception {
        Gpu.require();
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Child.class.getName())
                .redirectErrorStream(true).start();
        boolean ended = child.waitFor(120, TimeUnit.SECONDS);
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        System.out.println(out);
        assertTrue(ended, "the child JVM hung after the fault: " + out);
        assertEquals(0, child.exitValue(), "the child JVM ended badly (a crash exits 134): " + out);
        assertTrue(out.contains("fault: CudaFailureException: ") && out.contains("CUDA_ERROR_ILLEGAL_ADDRESS"), out);
        assertTrue(out.contains("afterwards: CudaFailureException: "), out);
    }

    /** Opens the GPU, runs a kernel on a forged tensor at an unmapped address, then tries ordinary work. */
    static final class Child {
        public static void main(String[] args) {
            CudaBackend gpu = CudaBackend.open(0);
            long elements = 1 << 20;
            CUdeviceptr nowhere = new CUdeviceptr().withByteOffset(4096); // the first pages are never mapped
            CudaStorage forged = new CudaStorage(gpu, DType.F32, elements, nowhere);
            forged.tracked = new CudaMemory.Tracked(forged, new ReferenceQueue<>(), new CachingAllocator.Block<>(nowhere, elements * 4));
            try {
                Tensor.contiguousView(forged, (int) elements).add(1.0).toFloatArray();
                System.out.println("fault: none reported");
            } catch (CudaFailureException e) {
                System.out.println("fault: " + e.getClass().getSimpleName() + ": " + e.getMessage());
            }
            try {
                gpu.full(DType.F32, new int[] {4}, 1.0).toFloatArray();
                System.out.println("afterwards: the device still worked");
            } catch (CudaFailureException e) {
                System.out.println("afterwards: " + e.getClass().getSimpleName() + ": " + e.getMessage());
            }
        }
    }
}
