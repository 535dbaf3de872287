package dev.bertft.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link AdamWRule#update} a vector at a time: multiplies and adds kept apart (no FMA), so the scalar
 * loop's bits. A clipping coefficient that is a float32 (as {@code Backend.clipCoefficient} rounds it)
 * scales each gradient vector as it is read: the float32 product is the scalar loop's
 * {@code (float) (g · c)}, whose product in double is exact. Any other coefficient scales the run
 * (a block of {@link TensorBlocks}) in place first, in a plain loop, as the scalar loop rounds it.
 * The tail is left to the scalar loop, which clips as it reads.
 */
final class SimdAdamW {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private SimdAdamW() {}

    static void update(AdamWRule r, float[] p, int po, float[] g, float[] m, int mo, float[] v, int vo, int from, int n) {
        float oneMinusB1 = 1 - r.beta1(), oneMinusB2 = 1 - r.beta2(), c = (float) r.clip();
        int i = from, end = from + F.loopBound(n);
        if (c != r.clip()) {
            clip(g, from, end, r.clip());
            c = 1;
        }
        for (; i < end; i += F.length()) {
            FloatVector gi = FloatVector.fromArray(F, g, i).mul(c);
            FloatVector mi = FloatVector.fromArray(F, m, mo + i).mul(r.beta1()).add(gi.mul(oneMinusB1));
            FloatVector vi = FloatVector.fromArray(F, v, vo + i).mul(r.beta2()).add(gi.mul(oneMinusB2).mul(gi));
            mi.intoArray(m, mo + i);
            vi.intoArray(v, vo + i);
            FloatVector denom = vi.sqrt().div(r.sqrtBc2()).add(r.eps());
            FloatVector pi = FloatVector.fromArray(F, p, po + i);
            pi.mul(r.decay()).sub(mi.mul(r.stepSize()).div(denom)).intoArray(p, po + i);
        }
        r.updateScalar(p, po, g, m, mo, v, vo, i, from + n);
    }

    /**
     * g ← (float) (g · c) over [from, to), the product in double. A plain loop: the Vector API's
     * float→double→float conversion, fast alone, made the update allocate boxed vectors inside a
     * training step (JDK 17; 0.5 s a MiniLM 1x32 step in adamW, 350 MB a step allocated), and JDK
     * 17's C2 leaves this loop scalar (25–35 ms per 136 M gradients).
     */
    private static void clip(float[] g, int from, int to, double c) {
        for (int i = from; i < to; i++) g[i] = (float) (g[i] * c);
    }
}
