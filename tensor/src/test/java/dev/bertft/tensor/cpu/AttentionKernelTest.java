package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Philox;
import dev.bertft.tensor.Simd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The fused attention kernel at BERT's head sizes (32 and 64, where the products run full
 * register tiles) against attention computed in double precision from its definition, forward
 * and backward, with a padded key and dropout (the reference applies the kept bits the forward
 * recorded); and its scratch kept from call to call.
 */
class AttentionKernelTest {
    private static final Parallel POOL = new Parallel(2);

    @AfterAll
    static void close() {
        POOL.close();
    }

    @Test
    void headSizes32And64MatchFloat64() {
        // T = 70: one 64-row block plus 6 rows, 64 + 6 key columns, so every tile and tail runs
        for (int hs : new int[] {32, 64}) {
            for (double p : new double[] {0.0, 0.1}) new Problem(2, 3, 70, hs, p).assertMatchesFloat64();
        }
    }

    /**
     * The recorded dropout bits are the shared Philox stream's draws for element (pair, i, j) at
     * index (pair·T + i)·T + j (the CUDA kernel draws the same), whether the rows' bits are drawn
     * as one range (T = 64, a multiple of 32) or row by row (T = 70).
     */
    @Test
    void keptBitsAreThePhiloxDraws() {
        for (int t : new int[] {64, 70}) {
            Problem pr = new Problem(2, 3, t, 32, 0.1);
            pr.run(POOL);
            int threshold = Philox.keepThreshold(0.1f), words = Attention.wordsPerRow(t);
            int[] draws = new int[t];
            for (int row = 0; row < 2 * 3 * t; row++) {
                Philox.dropoutDraws(11, 3, (long) row * t, draws, t);
                for (int j = 0; j < t; j++) {
                    boolean kept = (pr.kept[row * words + j / 32] >>> (j % 32) & 1) != 0;
                    assertEquals(draws[j] >= threshold, kept, "T " + t + " row " + row + " key " + j);
                }
            }
        }
    }

    /**
     * A step calls attention twice per layer with the same shapes: once compiled, a call must
     * allocate no buffers (the scores of one head alone are 16 KB here). Until the JIT has
     * compiled the kernels their vectors are boxed, so rounds of calls run until one stays under
     * the bound, failing if none does far past when C2 compiles them.
     */
    @Test
    void repeatedCallsAllocateNoScratch() {
        // the scalar Philox fallback allocates a small block per row of draws
        assumeTrue(Simd.AVAILABLE, "Vector API not enabled in this JVM");
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        assumeTrue(threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled(),
                "this JVM does not count a thread's allocated bytes");
        Problem pr = new Problem(1, 2, 64, 32, 0.1);
        long thread = Thread.currentThread().getId(), least = Long.MAX_VALUE;
        int calls = 50;
        try (Parallel one = new Parallel(1)) {
            for (int round = 0; round < 100 && least >= 1024; round++) {
                long before = threads.getThreadAllocatedBytes(thread);
                for (int i = 0; i < calls; i++) pr.run(one);
                least = Math.min(least, (threads.getThreadAllocatedBytes(thread) - before) / calls);
            }
        }
        // what remains is a few small objects a call: the loop bodies and the head views
        assertTrue(least < 1024, "forward and backward still allocate " + least + " bytes a call");
    }

    /** [B, NH, T, HS] heads stored as [B, T, NH, HS], as the model keeps them. */
    private static final class Problem {
        final int b, nh, t, hs, n;
        final double p;
        final float scale;
        final float[] q, k, v, dout, mask, out, lse, dq, dk, dv;
        final int[] kept;

        Problem(int b, int nh, int t, int hs, double p) {
            this.b = b;
            this.nh = nh;
            this.t = t;
            this.hs = hs;
            this.p = p;
            n = b * t * nh * hs;
            scale = (float) (1 / Math.sqrt(hs));
            Random r = new Random(t * 31L + hs);
            q = randn(r, n);
            k = randn(r, n);
            v = randn(r, n);
            dout = randn(r, n);
            mask = new float[b * t];
            mask[t - 1] = -Float.MAX_VALUE;
            out = new float[n];
            lse = new float[b * nh * t];
            dq = new float[n];
            dk = new float[n];
            dv = new float[n];
            kept = new int[b * nh * t * Attention.wordsPerRow(t)];
        }

        Attention.Heads heads(float[] a) {
            return new Attention.Heads(a, 0, t * nh * hs, hs, nh * hs);
        }

        void run(Parallel pool) {
            Attention.Dims d = new Attention.Dims(b, nh, t, hs);
            Attention.forward(pool, d, heads(q), heads(k), heads(v), mask, scale, p, 11, 3, heads(out), lse, p > 0 ? kept : null);
            Attention.backward(pool, d, heads(dout), heads(q), heads(k), heads(v), mask, lse, scale, p, p > 0 ? kept : null,
                    heads(dq), heads(dk), heads(dv));
        }

        int at(int bh, int i, int c) {
            return (bh / nh * t + i) * nh * hs + bh % nh * hs + c;
        }

        void assertMatchesFloat64() {
            run(POOL);
            double keep = 1 / (1 - p);
            for (int bh = 0; bh < b * nh; bh++) {
                double[][] prob = new double[t][t], drop = new double[t][t];
                double[][] dProbDropped = new double[t][t];
                for (int i = 0; i < t; i++) {
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    double[] s = new double[t];
                    for (int j = 0; j < t; j++) {
                        for (int c = 0; c < hs; c++) s[j] += (double) q[at(bh, i, c)] * k[at(bh, j, c)];
                        s[j] = s[j] * scale + mask[bh / nh * t + j];
                        max = Math.max(max, s[j]);
                    }
                    for (int j = 0; j < t; j++) sum += Math.exp(s[j] - max);
                    assertEquals(max + Math.log(sum), lse[bh * t + i], 1e-5 * (1 + Math.abs(max)), "lse " + bh + "," + i);
                    for (int j = 0; j < t; j++) {
                        prob[i][j] = Math.exp(s[j] - max) / sum;
                        boolean kept = p == 0 || (this.kept[(bh * t + i) * Attention.wordsPerRow(t) + j / 32] >>> (j % 32) & 1) != 0;
                        drop[i][j] = kept ? keep : 0;
                        for (int c = 0; c < hs; c++) dProbDropped[i][j] += (double) dout[at(bh, i, c)] * v[at(bh, j, c)];
                    }
                }
                for (int i = 0; i < t; i++) {
                    for (int c = 0; c < hs; c++) {
                        double o = 0;
                        for (int j = 0; j < t; j++) o += prob[i][j] * drop[i][j] * v[at(bh, j, c)];
                        assertClose(o, out[at(bh, i, c)], "out");
                    }
                }
                double[][] dS = new double[t][t];
                for (int i = 0; i < t; i++) {
                    double rowDot = 0;
                    for (int j = 0; j < t; j++) rowDot += prob[i][j] * dProbDropped[i][j] * drop[i][j];
                    for (int j = 0; j < t; j++) dS[i][j] = prob[i][j] * (dProbDropped[i][j] * drop[i][j] - rowDot) * scale;
                }
                for (int x = 0; x < t; x++) {
                    for (int c = 0; c < hs; c++) {
                        double gq = 0, gk = 0, gv = 0;
                        for (int y = 0; y < t; y++) {
                            gq += dS[x][y] * k[at(bh, y, c)];
                            gk += dS[y][x] * q[at(bh, y, c)];
                            gv += prob[y][x] * drop[y][x] * dout[at(bh, y, c)];
                        }
                        assertClose(gq, dq[at(bh, x, c)], "dq");
                        assertClose(gk, dk[at(bh, x, c)], "dk");
                        assertClose(gv, dv[at(bh, x, c)], "dv");
                    }
                }
            }
        }

        private void assertClose(double expected, float actual, String what) {
            assertEquals(expected, actual, 2e-5 * (1 + Math.abs(expected)), what + " hs=" + hs + " p=" + p);
        }

        private static float[] randn(Random r, int n) {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
            return a;
        }
    }
}
