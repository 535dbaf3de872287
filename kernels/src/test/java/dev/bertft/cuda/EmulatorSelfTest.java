package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import dev.bertft.tensor.Float16;
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

    /**
     * One m16n8k16 mma per format, its fragments built by hand from the PTX ISA's table, against
     * the product computed here in double: A(r, k) = r − k/2 and B(k, n) = n + k/4 − 3·[k = 5]
     * differ along every axis, so a lane, register or half swapped in the emulator's table moves
     * values and fails. Every value, product and sum is exact in both formats and in float32.
     */
    @Test
    void halfPrecisionMmaFollowsThePtxFragmentTable() {
        double[][] a = new double[16][16], b = new double[16][8];
        for (int r = 0; r < 16; r++) for (int k = 0; k < 16; k++) a[r][k] = r - k / 2.0;
        for (int k = 0; k < 16; k++) for (int n = 0; n < 8; n++) b[k][n] = n + k / 4.0 - (k == 5 ? 3 : 0);
        for (DType format : new DType[] {DType.BF16, DType.F16}) {
            CUdeviceptr da = memory.allocate(512), db = memory.allocate(256), dd = memory.allocate(4 * 128);
            ops.upload(bits(a, format), format, 256, da);
            ops.upload(bits(b, format), format, 128, db);
            assertNull(KernelEmulator.run(format == DType.BF16 ? "one_mma_bf16" : "one_mma_f16", 0, 1, 1, 1, 32, 1, da, db, dd));
            float[] d = (float[]) ops.download(dd, DType.F32, 128);
            for (int r = 0; r < 16; r++) {
                for (int n = 0; n < 8; n++) {
                    double expected = 0.5;
                    for (int k = 0; k < 16; k++) expected += a[r][k] * b[k][n];
                    assertEquals(expected, d[r * 8 + n], format + " D(" + r + ", " + n + ")");
                }
            }
        }
    }

    private static short[] bits(double[][] m, DType format) {
        short[] out = new short[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) {
            for (int j = 0; j < m[0].length; j++) {
                float v = (float) m[i][j];
                out[i * m[0].length + j] = format == DType.BF16 ? Float16.floatToBf16(v) : Float16.floatToF16(v);
            }
        }
        return out;
    }

    /**
     * Every ldmatrix form (x1, x2, x4, each plain and .trans) on four 8×8 matrices whose elements
     * are their own indices, against the PTX ISA's table: register i of lane l holds row l/4,
     * columns 2(l%4) and 2(l%4)+1 of matrix i, or with .trans column l/4, rows 2(l%4) and 2(l%4)+1.
     */
    @Test
    void ldmatrixFollowsThePtxTable() {
        short[] src = new short[256];
        for (int e = 0; e < 256; e++) src[e] = (short) e;
        CUdeviceptr in = memory.allocate(512), out = memory.allocate(4 * 6 * 32 * 4);
        ops.upload(src, DType.F16, 256, in);
        assertNull(KernelEmulator.run("ldmatrix_forms", 0, 1, 1, 1, 32, 1, in, out));
        int[] words = (int[]) ops.download(out, DType.I32, 6 * 32 * 4);
        int[] counts = {1, 2, 4, 1, 2, 4};
        for (int form = 0; form < 6; form++) {
            boolean trans = form >= 3;
            for (int lane = 0; lane < 32; lane++) {
                for (int i = 0; i < counts[form]; i++) {
                    int row = trans ? 2 * (lane % 4) : lane / 4, col = trans ? lane / 4 : 2 * (lane % 4);
                    int lo = 64 * i + 8 * row + col, hi = lo + (trans ? 8 : 1);
                    assertEquals(lo | hi << 16, words[(form * 32 + lane) * 4 + i],
                            "x" + counts[form] + (trans ? ".trans" : "") + " lane " + lane + " register " + i);
                }
            }
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
