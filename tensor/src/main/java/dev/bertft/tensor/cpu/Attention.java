package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Philox;
import dev.bertft.tensor.Simd;

/**
 * Fused scaled dot-product attention in float, one (batch, head) pair at a time, so the
 * T×T score matrix only ever exists in a per-thread scratch buffer. The backward recomputes the
 * probabilities from the saved log-sum-exp (as flash attention does) rather than storing them,
 * and reads the dropout mask back from one bit per probability rather than drawing it again.
 *
 * <p>With S = q·kᵀ·scale + mask, P = softmax(S) row-wise, P̃ = P ⊙ M (M the dropout factors,
 * 0 or 1/(1−p)) and out = P̃·v:
 * dv = P̃ᵀ·dout, dP̃ = dout·vᵀ, dP = dP̃ ⊙ M, D = rowsum(P ⊙ dP), dS = P ⊙ (dP − D),
 * dq = dS·k·scale, dk = dSᵀ·q·scale.
 */
final class Attention {
    private Attention() {}

    /** Shapes of one call: B·NH independent heads of T positions and HS features. */
    record Dims(int batch, int heads, int t, int hs) {
        int pairs() {
            return batch * heads;
        }
    }

    /**
     * Where the [T, HS] matrix of head h of batch entry b starts in a q-shaped [B, NH, T, HS]
     * view with HS contiguous, and its row stride. Models keep q, k and v as [B, T, NH, HS]
     * (one Linear output split into heads): read in place, no copy into head-major order.
     */
    record Heads(float[] a, int offset, int batchStride, int headStride, int rowStride) {
        int base(int bh, int heads) {
            return offset + bh / heads * batchStride + bh % heads * headStride;
        }

        /** Row i of pair bh: where a product reads or writes it in place. */
        int row(int bh, Dims d, int i) {
            return base(bh, d.heads) + i * rowStride;
        }

        /**
         * Copies pair bh's [T, HS] matrix into dst, contiguous, for a product that takes its rows
         * as the vector operand (in place they lie NH·HS floats apart).
         */
        float[] gather(int bh, Dims d, float[] dst) {
            int from = base(bh, d.heads);
            for (int i = 0; i < d.t; i++) System.arraycopy(a, from + i * rowStride, dst, i * d.hs, d.hs);
            return dst;
        }

        /** Pair bh's matrix transposed into dst as [HS, T]: the layout whose rows a product of x·(this)ᵀ takes. */
        float[] gatherTransposed(int bh, Dims d, float[] dst) {
            int from = base(bh, d.heads);
            for (int i = 0; i < d.t; i++) {
                for (int c = 0; c < d.hs; c++) dst[c * d.t + i] = a[from + i * rowStride + c];
            }
            return dst;
        }
    }

    /**
     * Query rows the forward handles as one unit: the unit's scores (64×T floats, 128 KB at T =
     * 512) stay in L2 between the two products, and short batches still give each thread units.
     */
    private static final int ROWS = 64;

    /**
     * A thread's buffers, kept from call to call (a step calls attention twice per layer with the
     * same shapes); grown, never shrunk.
     */
    private static final class Scratch {
        private static final ThreadLocal<Scratch> PER_THREAD = ThreadLocal.withInitial(Scratch::new);

        float[] s = new float[0], dp = new float[0], kT = new float[0], vT = new float[0];
        float[] qh = new float[0], kh = new float[0], vh = new float[0], oh = new float[0], drop = new float[0];
        int[] bits = new int[0];

        /** This thread's buffers, large enough for rows × T scores and [T, HS] heads. */
        static Scratch forThread(Dims d, int rows, boolean backward) {
            Scratch w = PER_THREAD.get();
            int head = d.t * d.hs;
            w.s = atLeast(w.s, rows * d.t);
            w.kT = atLeast(w.kT, head);
            w.drop = atLeast(w.drop, d.t);
            if (backward) {
                w.dp = atLeast(w.dp, rows * d.t);
                w.vT = atLeast(w.vT, head);
                w.qh = atLeast(w.qh, head);
                w.kh = atLeast(w.kh, head);
                w.oh = atLeast(w.oh, head);
            } else {
                w.vh = atLeast(w.vh, head);
                if (w.bits.length < d.t) w.bits = new int[d.t];
            }
            return w;
        }

        private static float[] atLeast(float[] a, int n) {
            return a.length >= n ? a : new float[n];
        }
    }

    /** Words of the saved dropout mask per query row: rows never share a word, so threads never do. */
    static int wordsPerRow(int t) {
        return (t + 31) / 32;
    }

    /**
     * With dropout, the forward records in {@code keptBits} ({@link #wordsPerRow} words per query
     * row) which probabilities it kept, for the backward. Work is cut into (pair, block of {@link #ROWS} query rows) units, each row's
     * result independent of the cut, so 12 heads of one sequence still keep two threads busy.
     */
    static void forward(Parallel pool, Dims d, Heads q, Heads k, Heads v, float[] mask, float scale,
                        double dropoutP, long seed, long offset, Heads out, float[] lse, int[] keptBits) {
        int t = d.t, hs = d.hs, blocks = (t + ROWS - 1) / ROWS;
        int threshold = Philox.keepThreshold((float) dropoutP);
        float keepScale = (float) (1 / (1 - dropoutP));
        pool.forRange(d.pairs() * blocks, 1, (u0, u1) -> {
            Scratch w = Scratch.forThread(d, Math.min(ROWS, t), false);
            float[] s = w.s, drop = dropoutP > 0 ? w.drop : null;
            int gathered = -1;
            for (int u = u0; u < u1; u++) {
                int bh = u / blocks, i0 = u % blocks * ROWS, rows = Math.min(ROWS, t - i0), b = bh / d.heads;
                if (bh != gathered) {
                    k.gatherTransposed(bh, d, w.kT);
                    v.gather(bh, d, w.vh);
                    gathered = bh;
                }
                HeadProduct.product(rows, t, hs, q.a, q.row(bh, d, i0), q.rowStride, 1, w.kT, 0, t, s, 0, t);
                for (int r = 0; r < rows; r++) {
                    int i = i0 + r;
                    if (drop != null) {
                        CpuBackend.dropoutDraws(seed, offset, ((long) bh * t + i) * t, w.bits, t);
                        saveKept(w.bits, t, threshold, keptBits, (bh * t + i) * wordsPerRow(t));
                        loadKept(keptBits, (bh * t + i) * wordsPerRow(t), keepScale, drop, t);
                    }
                    lse[bh * t + i] = Simd.AVAILABLE ? SimdSoftmax.forward(s, r * t, mask, b * t, scale, drop, t)
                            : softmaxForward(s, r * t, mask, b * t, scale, drop, t);
                }
                HeadProduct.product(rows, hs, t, s, 0, t, 1, w.vh, 0, hs, out.a, out.row(bh, d, i0), out.rowStride);
            }
        });
    }

    /** The dropout mask (when p > 0) is read back from the forward's {@code keptBits}, not drawn again. */
    static void backward(Parallel pool, Dims d, Heads dout, Heads q, Heads k, Heads v, float[] mask, float[] lse,
                         float scale, double dropoutP, int[] keptBits, Heads dq, Heads dk, Heads dv) {
        int t = d.t, hs = d.hs;
        float keepScale = (float) (1 / (1 - dropoutP));
        pool.forRange(d.pairs(), 1, (p0, p1) -> {
            Scratch w = Scratch.forThread(d, t, true);
            float[] p = w.s, dp = w.dp, drop = dropoutP > 0 ? w.drop : null;
            for (int bh = p0; bh < p1; bh++) {
                int b = bh / d.heads;
                HeadProduct.product(t, t, hs, q.a, q.row(bh, d, 0), q.rowStride, 1, k.gatherTransposed(bh, d, w.kT), 0, t, p, 0, t);
                HeadProduct.product(t, t, hs, dout.a, dout.row(bh, d, 0), dout.rowStride, 1, v.gatherTransposed(bh, d, w.vT), 0, t,
                        dp, 0, t);
                for (int i = 0; i < t; i++) {
                    if (drop != null) loadKept(keptBits, (bh * t + i) * wordsPerRow(t), keepScale, drop, t);
                    float l = lse[bh * t + i];
                    if (Simd.AVAILABLE) SimdSoftmax.backward(p, dp, i * t, mask, b * t, scale, l, drop, t);
                    else softmaxBackward(p, dp, i * t, mask, b * t, scale, l, drop, t);
                }
                // dv = P̃ᵀ·dout and dk = dSᵀ·q read P̃ and dS down their columns (A strides swapped)
                HeadProduct.product(t, hs, t, p, 0, 1, t, dout.gather(bh, d, w.oh), 0, hs, dv.a, dv.row(bh, d, 0), dv.rowStride);
                HeadProduct.product(t, hs, t, dp, 0, t, 1, k.gather(bh, d, w.kh), 0, hs, dq.a, dq.row(bh, d, 0), dq.rowStride);
                HeadProduct.product(t, hs, t, dp, 0, 1, t, q.gather(bh, d, w.qh), 0, hs, dk.a, dk.row(bh, d, 0), dk.rowStride);
            }
        });
    }

    /**
     * One query row, scalar: s[row..row+t) holds the raw scores q·kᵀ on entry and P̃ on return;
     * returns the row's log-sum-exp. {@link SimdSoftmax#forward} is the same a vector at a time.
     */
    private static float softmaxForward(float[] s, int row, float[] mask, int maskOff, float scale, float[] drop, int t) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < t; j++) {
            float x = Math.fma(s[row + j], scale, mask[maskOff + j]);
            s[row + j] = x;
            max = Math.max(max, x);
        }
        double sum = 0;
        for (int j = 0; j < t; j++) sum += Math.exp(s[row + j] - max);
        float logSum = (float) (max + Math.log(sum));
        for (int j = 0; j < t; j++) {
            float pij = (float) Math.exp(s[row + j] - logSum);
            s[row + j] = drop != null ? pij * drop[j] : pij;
        }
        return logSum;
    }

    /**
     * One row of the backward, scalar: p holds q·kᵀ and dp holds dout·vᵀ on entry; on return dp
     * holds dS (already times scale) and p holds P̃, ready for the three gradient products.
     */
    private static void softmaxBackward(float[] p, float[] dp, int row, float[] mask, int maskOff, float scale, float lse,
                                        float[] drop, int t) {
        double rowDot = 0;
        for (int j = 0; j < t; j++) {
            float pij = (float) Math.exp(Math.fma(p[row + j], scale, mask[maskOff + j]) - lse);
            float dpij = drop != null ? dp[row + j] * drop[j] : dp[row + j];
            p[row + j] = pij;
            dp[row + j] = dpij;
            rowDot += pij * dpij;
        }
        float dd = (float) rowDot;
        for (int j = 0; j < t; j++) {
            dp[row + j] = p[row + j] * (dp[row + j] - dd) * scale;
            if (drop != null) p[row + j] *= drop[j];
        }
    }

    /** One bit per element of draws[0, t): set where the draw is kept. */
    private static void saveKept(int[] draws, int t, int threshold, int[] kept, int word) {
        if (Simd.AVAILABLE) SimdResidualNorm.packKept(draws, t, threshold, kept, word);
        else RowKernels.packKept(draws, t, threshold, kept, word);
    }

    /** factors[0, t) = scale where the row's kept bit is set, else 0. */
    private static void loadKept(int[] kept, int word, float scale, float[] factors, int t) {
        if (Simd.AVAILABLE) SimdSoftmax.dropFactors(kept, word, scale, factors, t);
        else for (int j = 0; j < t; j++) factors[j] = RowKernels.factor(kept, word, j, scale);
    }
}
