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

    /**
     * Shapes of one call: B·NH independent heads of T positions (keys) and HS features, whose
     * first {@code queries} ≤ T positions are the query rows (all T but where a head reads only
     * the [CLS] rows). Row i of pair bh draws its dropout at element (bh·T + i)·T as in the full
     * [B, NH, T, T] mask; its log-sum-exp and kept bits are stored at row bh·queries + i.
     */
    record Dims(int batch, int heads, int queries, int t, int hs) {
        Dims(int batch, int heads, int t, int hs) {
            this(batch, heads, t, t, hs);
        }

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
         * Pair bh's matrix transposed into dst as [HS, T]: the layout whose rows a product of
         * x·(this)ᵀ takes. A column at a time, so the writes run along dst.
         */
        float[] gatherTransposed(int bh, Dims d, float[] dst) {
            int from = base(bh, d.heads);
            if (Simd.AVAILABLE) {
                SimdHeadProduct.transpose(a, from, rowStride, d.t, d.hs, dst);
            } else {
                for (int c = 0; c < d.hs; c++) {
                    for (int i = 0; i < d.t; i++) dst[c * d.t + i] = a[from + i * rowStride + c];
                }
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
        float[] drop = new float[0];
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
            } else if (w.bits.length < d.t) {
                w.bits = new int[d.t];
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
        int t = d.t, tq = d.queries, hs = d.hs, blocks = (tq + ROWS - 1) / ROWS;
        int threshold = Philox.keepThreshold((float) dropoutP);
        float keepScale = (float) (1 / (1 - dropoutP));
        pool.forRange(d.pairs() * blocks, 1, (u0, u1) -> {
            Scratch w = Scratch.forThread(d, Math.min(ROWS, tq), false);
            float[] s = w.s;
            int gathered = -1;
            for (int u = u0; u < u1; u++) {
                int bh = u / blocks, i0 = u % blocks * ROWS, rows = Math.min(ROWS, tq - i0), b = bh / d.heads;
                if (bh != gathered) {
                    k.gatherTransposed(bh, d, w.kT);
                    gathered = bh;
                }
                HeadProduct.product(rows, t, hs, q.a, q.row(bh, d, i0), q.rowStride, false, w.kT, 0, t, s, 0, t);
                if (dropoutP > 0) drawKept(seed, offset, bh * t + i0, bh * tq + i0, rows, t, threshold, keptBits, w.bits);
                int[] kept = dropoutP > 0 ? keptBits : null;
                for (int r = 0; r < rows; r++) {
                    int i = i0 + r, word = (bh * tq + i) * wordsPerRow(t);
                    if (Simd.AVAILABLE) {
                        lse[bh * tq + i] = SimdSoftmax.forward(s, r * t, mask, b * t, scale, kept, word, keepScale, t);
                    } else {
                        float[] drop = kept != null ? loadKept(keptBits, word, keepScale, w.drop, t) : null;
                        lse[bh * tq + i] = softmaxForward(s, r * t, mask, b * t, scale, drop, t);
                    }
                }
                HeadProduct.product(rows, hs, t, s, 0, t, false, v.a, v.row(bh, d, 0), v.rowStride, out.a, out.row(bh, d, i0), out.rowStride);
            }
        });
    }

    /** The dropout mask (when p > 0) is read back from the forward's {@code keptBits}, not drawn again. */
    static void backward(Parallel pool, Dims d, Heads dout, Heads q, Heads k, Heads v, float[] mask, float[] lse,
                         float scale, double dropoutP, int[] keptBits, Heads dq, Heads dk, Heads dv) {
        int t = d.t, tq = d.queries, hs = d.hs;
        float keepScale = (float) (1 / (1 - dropoutP));
        pool.forRange(d.pairs(), 1, (p0, p1) -> {
            Scratch w = Scratch.forThread(d, tq, true);
            float[] p = w.s, dp = w.dp;
            int[] kept = dropoutP > 0 ? keptBits : null;
            for (int bh = p0; bh < p1; bh++) {
                int b = bh / d.heads;
                HeadProduct.product(tq, t, hs, q.a, q.row(bh, d, 0), q.rowStride, false, k.gatherTransposed(bh, d, w.kT), 0, t, p, 0, t);
                HeadProduct.product(tq, t, hs, dout.a, dout.row(bh, d, 0), dout.rowStride, false, v.gatherTransposed(bh, d, w.vT), 0, t,
                        dp, 0, t);
                for (int i = 0; i < tq; i++) {
                    int word = (bh * tq + i) * wordsPerRow(t);
                    float l = lse[bh * tq + i];
                    if (Simd.AVAILABLE) {
                        SimdSoftmax.backward(p, dp, i * t, mask, b * t, scale, l, kept, word, keepScale, t);
                    } else {
                        float[] drop = kept != null ? loadKept(kept, word, keepScale, w.drop, t) : null;
                        softmaxBackward(p, dp, i * t, mask, b * t, scale, l, drop, t);
                    }
                }
                // dv = P̃ᵀ·dout and dk = dSᵀ·q read P̃ and dS down their columns
                HeadProduct.product(t, hs, tq, p, 0, t, true, dout.a, dout.row(bh, d, 0), dout.rowStride, dv.a, dv.row(bh, d, 0), dv.rowStride);
                HeadProduct.product(tq, hs, t, dp, 0, t, false, k.a, k.row(bh, d, 0), k.rowStride, dq.a, dq.row(bh, d, 0), dq.rowStride);
                HeadProduct.product(t, hs, tq, dp, 0, t, true, q.a, q.row(bh, d, 0), q.rowStride, dk.a, dk.row(bh, d, 0), dk.rowStride);
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

    /**
     * The kept bits of query rows [firstRow, firstRow + rows) (counted over all pairs' T rows; row
     * r's draws are elements [r·t, r·t + t)), stored from row {@code keptRow} on: straight from the
     * vector Philox, in one range when the rows' bits lie back to back (t a multiple of 32), else a
     * row at a time, drawn into {@code draws} and packed where a row does not start a counter block.
     */
    private static void drawKept(long seed, long offset, int firstRow, int keptRow, int rows, int t, int threshold, int[] kept,
                                 int[] draws) {
        if (Simd.AVAILABLE && t % 32 == 0) {
            SimdPhilox.keptBits(seed, offset, (long) firstRow * t, rows * t, threshold, kept, keptRow * wordsPerRow(t));
            return;
        }
        for (int r = 0; r < rows; r++) {
            CpuBackend.keptBits(seed, offset, (long) (firstRow + r) * t, t, threshold, kept, (keptRow + r) * wordsPerRow(t), draws);
        }
    }

    /** factors[0, t) = scale where the row's kept bit is set, else 0: the scalar rows' dropout factors. */
    private static float[] loadKept(int[] kept, int word, float scale, float[] factors, int t) {
        for (int j = 0; j < t; j++) factors[j] = RowKernels.factor(kept, word, j, scale);
        return factors;
    }
}
