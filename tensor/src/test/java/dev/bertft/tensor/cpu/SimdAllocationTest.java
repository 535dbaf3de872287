package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Simd;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Once compiled, the Vector API row kernels allocate nothing a call: no scratch arrays, no
 * boxed vectors or masks (issue #19). Until the JIT has compiled a kernel its vectors are boxed,
 * so each kernel runs rounds of calls until one round allocates nothing, and fails if none does
 * within a count of calls far past when C2 compiles it (a few thousand calls).
 */
class SimdAllocationTest {
    private static final int ROUNDS = 100, CALLS = 2000;
    private final Random random = new Random(3);

    private float[] randn(int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) (2 * random.nextGaussian());
        return f;
    }

    private static void assertReachesNoAllocation(String kernel, Runnable call) {
        assumeTrue(Simd.AVAILABLE, "Vector API not enabled in this JVM");
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled(),
                "this JVM does not count a thread's allocated bytes");
        long thread = Thread.currentThread().getId(), least = Long.MAX_VALUE;
        for (int round = 0; round < ROUNDS; round++) {
            long before = threads.getThreadAllocatedBytes(thread);
            for (int i = 0; i < CALLS; i++) call.run();
            long bytes = threads.getThreadAllocatedBytes(thread) - before;
            if (bytes == 0) return;
            least = Math.min(least, bytes);
        }
        fail(kernel + " still allocates " + least + " bytes per " + CALLS + " calls after " + ROUNDS * CALLS + " calls");
    }

    @Test
    void geluForwardAndBackward() {
        int n = 1536;
        float[] x = randn(n), dy = randn(n), y = new float[n];
        assertReachesNoAllocation("SimdGelu.forward", () -> SimdGelu.forward(x, 0, y, 0, n));
        assertReachesNoAllocation("SimdGelu.backward", () -> SimdGelu.backward(x, 0, dy, 0, y, 0, n));
    }

    @Test
    void residualNormWithDropout() {
        int n = 384;
        float[] x = randn(n), residual = randn(n), dy = randn(n), gamma = randn(n), beta = randn(n);
        float[] sum = new float[n], y = new float[n], dx = new float[n], dres = new float[n], pg = new float[n], pb = new float[n];
        float[] mean = new float[1], rstd = new float[1];
        int[] draws = new int[n], words = new int[n / 32];
        for (int j = 0; j < n; j++) draws[j] = random.nextInt(1 << 16);
        assertReachesNoAllocation("SimdResidualNorm.packKept", () -> SimdResidualNorm.packKept(draws, n, 6554, words, 0));
        assertReachesNoAllocation("SimdResidualNorm.forward",
                () -> SimdResidualNorm.forward(x, residual, words, 0, 1.1f, gamma, beta, sum, y, mean, rstd, 0, n, 1e-12f));
        assertReachesNoAllocation("SimdResidualNorm.backward",
                () -> SimdResidualNorm.backward(dy, sum, gamma, mean[0], rstd[0], words, 0, 1.1f, dres, dx, 0, n, pg, pb, 0));
    }

    @Test
    void softmaxRows() {
        int t = 128;
        float[] scores = randn(t), s = new float[t], dp = new float[t], mask = new float[t];
        int[] kept = {0x5A5A5A5A, -1, 0x0F0F0F0F, 0x12345678};
        assertReachesNoAllocation("SimdSoftmax.forward", () -> {
            System.arraycopy(scores, 0, s, 0, t);
            SimdSoftmax.forward(s, 0, mask, 0, 0.125f, kept, 0, 1.1f, t);
        });
        assertReachesNoAllocation("SimdSoftmax.backward", () -> {
            System.arraycopy(scores, 0, s, 0, t);
            System.arraycopy(scores, 0, dp, 0, t);
            SimdSoftmax.backward(s, dp, 0, mask, 0, 0.125f, 3f, kept, 0, 1.1f, t);
        });
    }

    @Test
    void philoxDraws() {
        int[] out = new int[1000];
        assertReachesNoAllocation("SimdPhilox.dropoutDraws", () -> SimdPhilox.dropoutDraws(42, 7, 13, out, out.length));
        assertReachesNoAllocation("SimdPhilox.keptBits", () -> SimdPhilox.keptBits(42, 7, 128, 1000, 6554, out, 0));
    }
}
