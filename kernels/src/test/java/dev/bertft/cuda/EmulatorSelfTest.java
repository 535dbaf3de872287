package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

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
        assertNull(KernelEmulator.run("neighbour_swap_and_sum", 1, 1, 1, THREADS, 1, out, sum));
        float[] swapped = (float[]) ops.download(out, DType.F32, THREADS);
        for (int i = 0; i < THREADS; i++) assertEquals(i ^ 1, swapped[i], "lane " + i);
        assertEquals(THREADS * (THREADS - 1) / 2, ((float[]) ops.download(sum, DType.F32, 1))[0]);
    }

    @Test
    void aWarpSplitBetweenSyncthreadsAndAShuffleIsAFault() {
        String fault = KernelEmulator.run("split_warp_barriers", 1, 1, 1, THREADS, 1, memory.allocate(4 * THREADS));
        assertEquals("split_warp_barriers block (0,0,0): threads wait at different barriers and can never meet: threads 0-15 at "
                + "__syncthreads; threads 16-31 at a warp-wide operation; threads 32-47 at __syncthreads; threads 48-63 at a "
                + "warp-wide operation", fault);
    }

    @Test
    void aShuffleAfterHalfTheWarpReturnedIsAFault() {
        String fault = KernelEmulator.run("shuffle_after_exit", 1, 1, 1, THREADS, 1, memory.allocate(4 * THREADS));
        assertTrue(fault != null && fault.contains("warp-wide operation in a warp with exited lanes: threads 0-15 at a warp-wide "
                + "operation; threads 16-31 exited"), fault);
    }
}
