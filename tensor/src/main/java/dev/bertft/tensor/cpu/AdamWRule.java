package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Backend;

/**
 * One AdamW step's constants in float, and the update of a run of float elements, as
 * torch.optim.AdamW computes it: m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
 * p ← p·(1 − lr·wd) − (lr / bc1) · m / (√v / √bc2 + ε). {@link SimdAdamW} is the same a vector
 * at a time, with the same float operations in the same order, so the same bits. Each gradient
 * element is read as {@code (float) (g · clip)}, the product in double: the bits the gradient
 * clipped in place by {@code x.mul(clip)} would have had, without that pass over all the gradients
 * before the update ({@link SimdAdamW} clips each run in place just before it reads it, from cache).
 */
record AdamWRule(float decay, float beta1, float beta2, float eps, float stepSize, float sqrtBc2, double clip) {

    static AdamWRule of(Backend.AdamWStep st) {
        double bc1 = 1 - Math.pow(st.beta1(), st.step()), bc2 = 1 - Math.pow(st.beta2(), st.step());
        return new AdamWRule((float) (1 - st.lr() * st.weightDecay()), (float) st.beta1(), (float) st.beta2(), (float) st.eps(),
                (float) (st.lr() / bc1), (float) Math.sqrt(bc2), 1);
    }

    /** The same step on gradients clipped by {@code coefficient} (1: not clipped). */
    AdamWRule clipped(double coefficient) {
        return new AdamWRule(decay, beta1, beta2, eps, stepSize, sqrtBc2, coefficient);
    }

    /** Elements [from, from + n) of one parameter: p, m and v from their offsets, g from 0. */
    void update(float[] p, int po, float[] g, float[] m, int mo, float[] v, int vo, int from, int n) {
        if (dev.bertft.tensor.Simd.AVAILABLE) {
            SimdAdamW.update(this, p, po, g, m, mo, v, vo, from, n);
            return;
        }
        updateScalar(p, po, g, m, mo, v, vo, from, from + n);
    }

    /** The scalar update of elements [from, to); SimdAdamW runs it on the tail a vector does not fill. */
    void updateScalar(float[] p, int po, float[] g, float[] m, int mo, float[] v, int vo, int from, int to) {
        for (int i = from; i < to; i++) {
            float gi = (float) (g[i] * clip);
            float mi = beta1 * m[mo + i] + (1 - beta1) * gi;
            float vi = beta2 * v[vo + i] + (1 - beta2) * gi * gi;
            m[mo + i] = mi;
            v[vo + i] = vi;
            p[po + i] = p[po + i] * decay - stepSize * mi / ((float) Math.sqrt(vi) / sqrtBc2 + eps);
        }
    }
}
