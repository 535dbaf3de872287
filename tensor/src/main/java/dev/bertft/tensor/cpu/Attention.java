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

        /**
         * Copies pair bh's [T, HS] matrix into dst, contiguous: the products then read 16 KB in
         * one block instead of T rows spread over NH·HS·T floats (measured 30% slower in place).
         */
        float[] gather(int bh, Dims d, float[] dst) {
            int from = base(bh, d.heads);
            for (int i = 0; i < d.t; i++) System.arraycopy(a, from + i * rowStride, dst, i * d.hs, d.hs);
            return dst;
        }
    }

    /** Words of the saved dropout mask per query row: rows never share a word, so threads never do. */
    static int wordsPerRow(int t) {
        return (t + 31) / 32;
    }

    /** With dropout, the forward records in {@code keptBits} which probabilities it kept, for the backward. */
    static void forward(Parallel pool, Dims d, Heads q, Heads k, Heads v, float[] mask, float scale,
                        double dropoutP, long seed, long offset, Heads out, float[] lse, int[] keptBits) {
        int t = d.t, hs = d.hs;
        int threshold = Philox.keepThreshold((float) dropoutP);
        float keepScale = (float) (1 / (1 - dropoutP));
        pool.forRange(d.pairs(), 1, (p0, p1) -> {
            float[] s = new float[t * t], drop = dropoutP > 0 ? new float[t] : null;
            float[] qh = new float[t * hs], kh = new float[t * hs], vh = new float[t * hs];
            int[] bits = dropoutP > 0 ? new int[t * t] : null;
            for (int bh = p0; bh < p1; bh++) {
                int b = bh / d.heads;
                Gemm.sgemm(pool, false, true, t, t, hs, q.gather(bh, d, qh), 0, hs, k.gather(bh, d, kh), 0, hs, 0f, s, 0, t);
                if (bits != null) CpuBackend.dropoutDraws(seed, offset, (long) bh * t * t, bits, t * t);
                for (int i = 0; i < t; i++) {
                    if (bits != null) {
                        for (int j = 0; j < t; j++) drop[j] = bits[i * t + j] >= threshold ? keepScale : 0f;
                        if (keptBits != null) saveKept(bits, i * t, t, threshold, keptBits, (bh * t + i) * wordsPerRow(t));
                    }
                    lse[bh * t + i] = Simd.AVAILABLE ? SimdSoftmax.forward(s, i * t, mask, b * t, scale, drop, t)
                            : softmaxForward(s, i * t, mask, b * t, scale, drop, t);
                }
                Gemm.sgemm(pool, false, false, t, hs, t, s, 0, t, v.gather(bh, d, vh), 0, hs,
                        0f, out.a, out.base(bh, d.heads), out.rowStride);
            }
        });
    }

    /** The dropout mask (when p > 0) is read back from the forward's {@code keptBits}, not drawn again. */
    static void backward(Parallel pool, Dims d, Heads dout, Heads q, Heads k, Heads v, float[] mask, float[] lse,
                         float scale, double dropoutP, int[] keptBits, Heads dq, Heads dk, Heads dv) {
        int t = d.t, hs = d.hs;
        float keepScale = (float) (1 / (1 - dropoutP));
        pool.forRange(d.pairs(), 1, (p0, p1) -> {
            float[] p = new float[t * t], dp = new float[t * t], drop = dropoutP > 0 ? new float[t] : null;
            float[] qh = new float[t * hs], kh = new float[t * hs], vh = new float[t * hs], oh = new float[t * hs];
            for (int bh = p0; bh < p1; bh++) {
                int b = bh / d.heads;
                q.gather(bh, d, qh);
                k.gather(bh, d, kh);
                Gemm.sgemm(pool, false, true, t, t, hs, qh, 0, hs, kh, 0, hs, 0f, p, 0, t);
                Gemm.sgemm(pool, false, true, t, t, hs, dout.gather(bh, d, oh), 0, hs, v.gather(bh, d, vh), 0, hs, 0f, dp, 0, t);
                for (int i = 0; i < t; i++) {
                    if (drop != null) loadKept(keptBits, (bh * t + i) * wordsPerRow(t), keepScale, drop);
                    float l = lse[bh * t + i];
                    if (Simd.AVAILABLE) SimdSoftmax.backward(p, dp, i * t, mask, b * t, scale, l, drop, t);
                    else softmaxBackward(p, dp, i * t, mask, b * t, scale, l, drop, t);
                }
                Gemm.sgemm(pool, true, false, t, hs, t, p, 0, t, oh, 0, hs, 0f, dv.a, dv.base(bh, d.heads), dv.rowStride);
                Gemm.sgemm(pool, false, false, t, hs, t, dp, 0, t, kh, 0, hs, 0f, dq.a, dq.base(bh, d.heads), dq.rowStride);
                Gemm.sgemm(pool, true, false, t, hs, t, dp, 0, t, qh, 0, hs, 0f, dk.a, dk.base(bh, d.heads), dk.rowStride);
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

    /** One bit per element of row bits[from, from + t): set where the draw is kept. */
    private static void saveKept(int[] bits, int from, int t, int threshold, int[] kept, int word) {
        for (int j = 0; j < t; j += 32) {
            int w = 0;
            for (int b = 0; b < 32 && j + b < t; b++) if (bits[from + j + b] >= threshold) w |= 1 << b;
            kept[word + j / 32] = w;
        }
    }

    private static void loadKept(int[] bits, int word, float scale, float[] factors) {
        for (int j = 0; j < factors.length; j++) factors[j] = (bits[word + j / 32] >>> (j & 31) & 1) != 0 ? scale : 0f;
    }
}
