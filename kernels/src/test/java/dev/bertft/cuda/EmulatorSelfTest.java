package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernel emulator itself, on the kernels of src/test/emulator/selftest.cu: shuffles and a
 * block reduction give what CUDA defines, and barriers that can never complete are faults named
 * by thread range, not a hang.
 */
class EmulatorSelfTest {
    private static final int THREADS = 64;
    private final KernelEmulator.Memory memory = new KernelEmulator.Memory(1 << 20);
    private final KernelEmulator.Ops ops;

    EmulatorSelfTest() throws Exception {
        ops = new KernelEmulator.Ops();
    }

    @BeforeAll
    static void emulator() {
        KernelEmulator.backend(); // skips, saying why, where the emulator cannot be built
    }

    @Test
    void shufflesAndBlockSumsFollowCuda() {
        CUdeviceptr out = memory.allocate(4 * THREADS), sum = memory.allocate(4);
        assertNull(KernelEmulator.run("neighbour_swap_and_sum", 0, 1, 1, 1, THREADS, 1, out, sum));
        float[] swapped = (float[]) ops.download(out, DType.F32, THREADS);
        for (int i = 0; i < THREADS; i++) assertEquals(i ^ 1, swapped[i], "lane " + i);
        assertEquals(THREADS * (THREADS - 1) / 2, ((float[]) ops.download(sum, DType.F32, 1))[0]);
    }

    @Test
    void aWarpSplitBetweenSyncthreadsAndAShuffleIsAFault() {
        String fault = KernelEmulator.run("split_warp_barriers", 0, 1, 1, 1, THREADS, 1, memory.allocate(4 * THREADS));
        assertEquals("split_warp_barriers block (0,0,0): threads wait at different barriers and can never meet: threads 0-15 at "
                + "__syncthreads; threads 16-31 at a warp-wide operation; threads 32-47 at __syncthreads; threads 48-63 at a "
                + "warp-wide operation", fault);
    }

    @Test
    void aShuffleAfterHalfTheWarpReturnedIsAFault() {
        String fault = KernelEmulator.run("shuffle_after_exit", 0, 1, 1, 1, THREADS, 1, memory.allocate(4 * THREADS));
        assertTrue(fault != null && fault.contains("warp-wide operation in a warp with exited lanes: threads 0-15 at a warp-wide "
                + "operation; threads 16-31 exited"), fault);
    }

    @Test
    void otherUndefinedBarriersAreFaults() {
        CUdeviceptr out = memory.allocate(4 * 64);
        assertTrue(KernelEmulator.run("two_barriers", 0, 1, 1, 1, THREADS, 1, out).contains("threads wait at different __syncthreads"));
        assertTrue(KernelEmulator.run("two_shuffles", 0, 1, 1, 1, THREADS, 1, out).contains("lanes of warp 0 wait at different warp-wide operations"));
        assertTrue(KernelEmulator.run("barrier_after_partial_return", 0, 1, 1, 1, THREADS, 1, out)
                .contains("__syncthreads after some lanes of a warp returned"));
    }

    @Test
    void aShuffleOutsideAPartialWarpIsAFault() {
        // 48 threads: the butterfly's xor 16 sends lanes 32-47 to lanes 48-63, which do not exist
        String fault = KernelEmulator.run("neighbour_swap_and_sum", 0, 1, 1, 1, 48, 1, memory.allocate(4 * 48), memory.allocate(4));
        assertTrue(fault != null && fault.contains("__shfl_xor_sync reads a lane past the block's last thread"), fault);
    }

    @Test
    void launchesTheDriverWouldRefuseAreFaults() {
        CUdeviceptr out = memory.allocate(4 * 2048), sum = memory.allocate(4);
        for (int[] shape : new int[][] {{1, 1, 1, 2048, 1}, {1, 1, 1, 0, 1}, {0, 1, 1, 64, 1}, {1, 65536, 1, 64, 1}, {1, 1, 70000, 64, 1}}) {
            String fault = KernelEmulator.run("neighbour_swap_and_sum", 0, shape[0], shape[1], shape[2], shape[3], shape[4], out, sum);
            assertTrue(fault != null && fault.contains("outside the driver's launch limits"), java.util.Arrays.toString(shape) + ": " + fault);
        }
        assertEquals("neighbour_swap_and_sum takes 2 arguments, given 1", KernelEmulator.run("neighbour_swap_and_sum", 0, 1, 1, 1, 64, 1, out));
    }

    @Test
    void everyBlockStartsWithPoisonedSharedMemory() {
        CUdeviceptr out = memory.allocate(4 * 2 * THREADS);
        assertNull(KernelEmulator.run("read_shared_first", 0, 2, 1, 1, THREADS, 1, out));
        for (float v : (float[]) ops.download(out, DType.F32, 2 * THREADS)) assertTrue(Float.isNaN(v), "read " + v);
    }

    @Test
    void aMisalignedVectorAccessIsAFault() {
        String fault = KernelEmulator.run("misaligned_vector_load", 0, 1, 1, 1, THREADS, 1, memory.allocate(4 * 4 * (THREADS + 1)));
        assertTrue(fault != null && fault.matches("misaligned_vector_load block \\(0,0,0\\): thread 0: selftest\\.cu:\\d+: misaligned "
                + "access to address 0x\\p{XDigit}+4 for a type aligned to 16 bytes"), fault);
    }

    @Test
    void anIndexPastASharedArrayIsAFault() {
        String fault = KernelEmulator.run("shared_index_past_the_end", 0, 1, 1, 1, THREADS, 1, memory.allocate(4 * THREADS));
        assertTrue(fault != null && fault.matches("shared_index_past_the_end block \\(0,0,0\\): thread 63: selftest\\.cu:\\d+: "
                + "array index 63 out of bounds"), fault);
    }

    /**
     * Every device block and the launch's dynamic shared memory end at an inaccessible page, so a
     * kernel that writes past either stops the process at that store, as a GPU would fault,
     * instead of overwriting a neighbour. In a child JVM, whose crash report names the kernel.
     */
    @Test
    void aKernelRunningPastItsMemoryStopsTheProcessThere() throws Exception {
        for (String kernel : new String[] {"write_past_the_block", "write_past_dynamic_shared"}) {
            Path dir = Files.createTempDirectory("emulator-crash");
            String java = ProcessHandle.current().info().command().orElseThrow();
            Process child = new ProcessBuilder(java, "-XX:ErrorFile=" + dir.resolve("hs_err.log"), "-XX:-CreateCoredumpOnCrash",
                    "-cp", System.getProperty("java.class.path"), RunPastTheEnd.class.getName(), kernel)
                    .redirectErrorStream(true).start();
            assertTrue(child.waitFor(120, TimeUnit.SECONDS), kernel + ": the child JVM did not end");
            String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(child.exitValue() != 0 && out.contains("SIGSEGV") && out.contains(kernel) && !out.contains("returned"),
                    kernel + " (exit " + child.exitValue() + "): " + out);
        }
    }

    /** Runs one of the kernels above on a 256-byte block with 128 threads; reaching the end is the failure. */
    static final class RunPastTheEnd {
        public static void main(String[] args) {
            KernelEmulator.backend();
            CUdeviceptr block = new KernelEmulator.Memory(1 << 20).allocate(256);
            System.out.println(args[0] + " returned " + KernelEmulator.run(args[0], 4 * 127, 1, 1, 1, 128, 1, block));
        }
    }
}
