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
     * probabilities P̃ on return; returns the row's log-sum-exp. The row's dropout factors
     * (keepScale where kept, else 0) are read from its kept bits from kept[word] on; kept null
     * means no dropout.
     */
    static float forward(float[] s, int row, float[] mask, int maskOff, float scale, int[] kept, int word, float keepScale, int t) {
        float max = scaleAddMax(s, row, mask, maskOff, scale, t, true);
        float sum = SimdExp.expSum(s, row, row + t, max);
        scale(s, row, 1 / sum, kept, word, keepScale, t);
        return (float) (max + Math.log(sum));
    }

    /**
     * One row of the backward: p holds q·kᵀ and dp holds dout·vᵀ on entry; on return dp holds dS
     * (already times scale) and p holds P̃, ready for the three gradient products. Dropout as in
     * {@link #forward}.
     */
    static void backward(float[] p, float[] dp, int row, float[] mask, int maskOff, float scale, float lse, int[] kept, int word,
                         float keepScale, int t) {
        scaleAddMax(p, row, mask, maskOff, scale, t, false);
        SimdExp.exp(p, row, row + t, lse);
        softmaxBackward(p, dp, row, kept, word, keepScale, scale, t);
    }

    /** s[row + j] = s[row + j]·scale + mask[maskOff + j] for j < n; returns the largest when {@code wantMax}: the backward only needs the scores. */
    private static float scaleAddMax(float[] s, int row, float[] mask, int maskOff, float scale, int n, boolean wantMax) {
        FloatVector max = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        int j = 0;
        for (int end = F.loopBound(n); j < end; j += F.length()) {
            FloatVector x = FloatVector.fromArray(F, s, row + j).fma(FloatVector.broadcast(F, scale),
                    FloatVector.fromArray(F, mask, maskOff + j));
            x.intoArray(s, row + j);
            max = max.max(x);
        }
        float m = wantMax ? max.reduceLanes(VectorOperators.MAX) : Float.NEGATIVE_INFINITY;
        for (; j < n; j++) {
            float x = Math.fma(s[row + j], scale, mask[maskOff + j]);
            s[row + j] = x;
            m = Math.max(m, x);
        }
        return m;
    }

    /** s[row + j] *= factor, times element j's dropout factor too when kept is not null. */
    private static void scale(float[] s, int row, float factor, int[] kept, int word, float keepScale, int n) {
        int j = 0;
        for (int end = F.loopBound(n); j < end; j += F.length()) {
            FloatVector x = FloatVector.fromArray(F, s, row + j).mul(factor);
            if (kept != null) x = x.mul(SimdResidualNorm.factors(kept, word, j, keepScale));
            x.intoArray(s, row + j);
        }
        for (; j < n; j++) s[row + j] = kept != null ? s[row + j] * factor * RowKernels.factor(kept, word, j, keepScale) : s[row + j] * factor;
    }

    /**
     * One row of the softmax backward with dropout: dp ← dp ⊙ drop (when kept is not null, drop
     * the row's dropout factors), D = Σ p ⊙ dp, then dp ← p ⊙ (dp − D)·scale and p ← p ⊙ drop.
     */
    private static void softmaxBackward(float[] p, float[] dp, int row, int[] kept, int word, float keepScale, float scale, int n) {
        FloatVector dot = FloatVector.zero(F);
        int j = 0, end = F.loopBound(n);
        for (; j < end; j += F.length()) {
            FloatVector g = FloatVector.fromArray(F, dp, row + j);
            if (kept != null) g = g.mul(SimdResidualNorm.factors(kept, word, j, keepScale));
            g.intoArray(dp, row + j);
            dot = FloatVector.fromArray(F, p, row + j).fma(g, dot);
        }
        float d = 0;
        for (int l = 0; l < F.length(); l++) d += dot.lane(l); // in lane order, inline: see SimdExp.expPass
        for (int t = j; t < n; t++) {
            if (kept != null) dp[row + t] *= RowKernels.factor(kept, word, t, keepScale);
            d += p[row + t] * dp[row + t];
        }
        for (j = 0; j < end; j += F.length()) {
            FloatVector pj = FloatVector.fromArray(F, p, row + j);
            pj.mul(FloatVector.fromArray(F, dp, row + j).sub(d)).mul(scale).intoArray(dp, row + j);
            if (kept != null) pj.mul(SimdResidualNorm.factors(kept, word, j, keepScale)).intoArray(p, row + j);
        }
        for (; j < n; j++) {
            dp[row + j] = p[row + j] * (dp[row + j] - d) * scale;
            if (kept != null) p[row + j] *= RowKernels.factor(kept, word, j, keepScale);
        }
    }
}
