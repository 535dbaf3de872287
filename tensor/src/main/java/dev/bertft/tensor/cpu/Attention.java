package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Philox;

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

    /** Words of the saved dropout mask per query row: rows never share a word, so threads never do. */
    static int wordsPerRow(int t) {
        return (t + 31) / 32;
    }

    /** With dropout, the forward records in {@code keptBits} which probabilities it kept, for the backward. */
    static void forward(Parallel pool, Dims d, float[] q, float[] k, float[] v, float[] mask, float scale,
                        double dropoutP, long seed, long offset, float[] out, float[] lse, int[] keptBits) {
        int t = d.t, hs = d.hs;
        pool.forRange(d.pairs(), 1, (p0, p1) -> {
            float[] s = new float[t * t], drop = new float[t];
            int[] bits = new int[t];
            for (int bh = p0; bh < p1; bh++) {
                int base = bh * t * hs, b = bh / d.heads;
                Gemm.sgemm(pool, false, true, t, t, hs, q, base, hs, k, base, hs, 0f, s, 0, t);
                for (int i = 0; i < t; i++) {
                    int row = i * t;
                    float max = Float.NEGATIVE_INFINITY;
                    for (int j = 0; j < t; j++) {
                        float x = s[row + j] * scale + mask[b * t + j];
                        s[row + j] = x;
                        max = Math.max(max, x);
                    }
                    double sum = 0;
                    for (int j = 0; j < t; j++) sum += Math.exp(s[row + j] - max);
                    float logSum = (float) (max + Math.log(sum));
                    lse[bh * t + i] = logSum;
                    if (dropoutP > 0) {
                        dropoutFactors(seed, offset, ((long) bh * t + i) * t, dropoutP, bits, drop);
                        if (keptBits != null) saveKept(drop, keptBits, (bh * t + i) * wordsPerRow(t));
                    }
                    for (int j = 0; j < t; j++) {
                        float pij = (float) Math.exp(s[row + j] - logSum);
                        s[row + j] = dropoutP > 0 ? pij * drop[j] : pij;
                    }
                }
                Gemm.sgemm(pool, false, false, t, hs, t, s, 0, t, v, base, hs, 0f, out, base, hs);
            }
        });
    }

    /** The dropout mask (when p > 0) is read back from the forward's {@code keptBits}, not drawn again. */
    static void backward(Parallel pool, Dims d, float[] dout, float[] q, float[] k, float[] v, float[] mask, float[] lse,
                         float scale, double dropoutP, int[] keptBits, float[] dq, float[] dk, float[] dv) {
        int t = d.t, hs = d.hs;
        pool.forRange(d.pairs(), 1, (p0, p1) -> {
            float[] p = new float[t * t], dp = new float[t * t], drop = new float[t];
            for (int bh = p0; bh < p1; bh++) {
                int base = bh * t * hs, b = bh / d.heads;
                Gemm.sgemm(pool, false, true, t, t, hs, q, base, hs, k, base, hs, 0f, p, 0, t);
                Gemm.sgemm(pool, false, true, t, t, hs, dout, base, hs, v, base, hs, 0f, dp, 0, t);
                for (int i = 0; i < t; i++) {
                    int row = i * t;
                    float l = lse[bh * t + i];
                    if (dropoutP > 0) loadKept(keptBits, (bh * t + i) * wordsPerRow(t), (float) (1 / (1 - dropoutP)), drop);
                    double rowDot = 0;
                    for (int j = 0; j < t; j++) {
                        float pij = (float) Math.exp(p[row + j] * scale + mask[b * t + j] - l);
                        float dpij = dropoutP > 0 ? dp[row + j] * drop[j] : dp[row + j];
                        p[row + j] = pij;
                        dp[row + j] = dpij;
                        rowDot += pij * dpij;
                    }
                    float dd = (float) rowDot;
                    for (int j = 0; j < t; j++) dp[row + j] = p[row + j] * (dp[row + j] - dd) * scale;
                    // dv needs the dropped-out probabilities P̃ = P ⊙ M
                    if (dropoutP > 0) for (int j = 0; j < t; j++) p[row + j] *= drop[j];
                }
                Gemm.sgemm(pool, true, false, t, hs, t, p, 0, t, dout, base, hs, 0f, dv, base, hs);
                Gemm.sgemm(pool, false, false, t, hs, t, dp, 0, t, k, base, hs, 0f, dq, base, hs);
                Gemm.sgemm(pool, true, false, t, hs, t, dp, 0, t, q, base, hs, 0f, dk, base, hs);
            }
        });
    }

    /**
     * The dropout factors of elements [first, first + n) of a Philox(seed, offset) draw, exactly as
     * {@link CpuBackend#dropoutMask} lays them out.
     */
    static void dropoutFactors(long seed, long offset, long first, double p, int[] bits, float[] out) {
        CpuBackend.philox(seed, offset, first, bits, out.length);
        float scale = (float) (1 / (1 - p)), fp = (float) p;
        for (int j = 0; j < out.length; j++) out[j] = Philox.kept(bits[j], fp) ? scale : 0f;
    }

    private static void saveKept(float[] factors, int[] bits, int word) {
        for (int j = 0; j < factors.length; j += 32) {
            int w = 0;
            for (int b = 0; b < 32 && j + b < factors.length; b++) if (factors[j + b] != 0f) w |= 1 << b;
            bits[word + j / 32] = w;
        }
    }

    private static void loadKept(int[] bits, int word, float scale, float[] factors) {
        for (int j = 0; j < factors.length; j++) factors[j] = (bits[word + j / 32] >>> (j & 31) & 1) != 0 ? scale : 0f;
    }
}
