package dev.bertft.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The softmax rows of {@link Attention} a vector at a time, each pass its own small method (C2
 * stops inlining into a method once its graph is large, and a vector crossing a call that is not
 * inlined is boxed). Sums are kept per lane and the lanes added in order at the end, so a row's
 * result depends on its length only, never on timing or on whether the JIT has compiled the loop.
 */
final class SimdSoftmax {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private SimdSoftmax() {}

    /**
     * One query row: s[row..row+t) holds the raw scores q·kᵀ on entry and the (dropped-out)
     * probabilities P̃ on return; returns the row's log-sum-exp.
     */
    static float forward(float[] s, int row, float[] mask, int maskOff, float scale, float[] drop, int t) {
        float max = scaleAddMax(s, row, mask, maskOff, scale, t);
        float sum = SimdExp.expSum(s, row, row + t, max);
        scale(s, row, 1 / sum, drop, t);
        return (float) (max + Math.log(sum));
    }

    /**
     * One row of the backward: p holds q·kᵀ and dp holds dout·vᵀ on entry; on return dp holds dS
     * (already times scale) and p holds P̃, ready for the three gradient products.
     */
    static void backward(float[] p, float[] dp, int row, float[] mask, int maskOff, float scale, float lse, float[] drop, int t) {
        scaleAddMax(p, row, mask, maskOff, scale, t);
        SimdExp.expSum(p, row, row + t, lse);
        softmaxBackward(p, dp, row, drop, scale, t);
    }

    /** factors[0, n) = scale where bit j % 32 of kept[word + j / 32] is set, else 0: a vector of bits at a time. */
    static void dropFactors(int[] kept, int word, float scale, float[] factors, int n) {
        int j = 0;
        for (int end = F.loopBound(n); j < end; j += F.length()) SimdResidualNorm.factors(kept, word, j, scale).intoArray(factors, j);
        for (; j < n; j++) factors[j] = RowKernels.factor(kept, word, j, scale);
    }

    /** s[row + j] = s[row + j]·scale + mask[maskOff + j] for j < n; returns the largest. */
    private static float scaleAddMax(float[] s, int row, float[] mask, int maskOff, float scale, int n) {
        FloatVector max = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int j = 0;
        for (int end = F.loopBound(n); j < end; j += F.length()) {
            FloatVector x = FloatVector.fromArray(F, s, row + j).fma(FloatVector.broadcast(F, scale),
                    FloatVector.fromArray(F, mask, maskOff + j));
            x.intoArray(s, row + j);
            max = max.max(x);
        }
        float m = max.reduceLanes(VectorOperators.MAX);
        for (; j < n; j++) {
            float x = Math.fma(s[row + j], scale, mask[maskOff + j]);
            s[row + j] = x;
            m = Math.max(m, x);
        }
        return m;
    }

    /** s[row + j] *= factor, times drop[j] too when drop is not null. */
    private static void scale(float[] s, int row, float factor, float[] drop, int n) {
        int j = 0;
        for (int end = F.loopBound(n); j < end; j += F.length()) {
            FloatVector x = FloatVector.fromArray(F, s, row + j).mul(factor);
            if (drop != null) x = x.mul(FloatVector.fromArray(F, drop, j));
            x.intoArray(s, row + j);
        }
        for (; j < n; j++) s[row + j] = drop != null ? s[row + j] * factor * drop[j] : s[row + j] * factor;
    }

    /**
     * One row of the softmax backward with dropout: dp ← dp ⊙ drop (when drop is not null),
     * D = Σ p ⊙ dp, then dp ← p ⊙ (dp − D)·scale and p ← p ⊙ drop.
     */
    private static void softmaxBackward(float[] p, float[] dp, int row, float[] drop, float scale, int n) {
        FloatVector dot = FloatVector.zero(F);
        int j = 0, end = F.loopBound(n);
        for (; j < end; j += F.length()) {
            FloatVector g = FloatVector.fromArray(F, dp, row + j);
            if (drop != null) g = g.mul(FloatVector.fromArray(F, drop, j));
            g.intoArray(dp, row + j);
            dot = FloatVector.fromArray(F, p, row + j).fma(g, dot);
        }
        float d = SimdExp.laneSum(dot);
        for (int t = j; t < n; t++) {
            if (drop != null) dp[row + t] *= drop[t];
            d += p[row + t] * dp[row + t];
        }
        for (j = 0; j < end; j += F.length()) {
            FloatVector pj = FloatVector.fromArray(F, p, row + j);
            pj.mul(FloatVector.fromArray(F, dp, row + j).sub(d)).mul(scale).intoArray(dp, row + j);
            if (drop != null) pj.mul(FloatVector.fromArray(F, drop, j)).intoArray(p, row + j);
        }
        for (; j < n; j++) {
            dp[row + j] = p[row + j] * (dp[row + j] - d) * scale;
            if (drop != null) p[row + j] *= drop[j];
        }
    }
}
