package dev.bertft.tensor.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link AdamWRule#update} a vector at a time: multiplies and adds kept apart (no FMA), so the scalar
 * loop's bits. A clipped gradient is widened to double half a vector at a time, scaled and rounded
 * back, as the scalar loop rounds it.
 */
final class SimdAdamW {
    // the preferred shapes only, as every other kernel: a second float shape in the same JVM made
    // these loops allocate their vectors (7.8 GB a MiniLM step measured with 256-bit floats here)
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    private static final VectorMask<Float> UPPER_HALF = VectorMask.fromLong(F, -1L << (F.length() / 2));

    private SimdAdamW() {}

    static void update(AdamWRule r, float[] p, int po, float[] g, float[] m, int mo, float[] v, int vo, int from, int n) {
        float oneMinusB1 = 1 - r.beta1(), oneMinusB2 = 1 - r.beta2();
        int i = from, end = from + F.loopBound(n);
        for (; i < end; i += F.length()) {
            FloatVector gi = FloatVector.fromArray(F, g, i);
            if (r.clip() != 1) gi = clipped(gi, r.clip());
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

    /** (float) (g · c) lane by lane, the product in double. */
    private static FloatVector clipped(FloatVector g, double c) {
        FloatVector low = (FloatVector) ((DoubleVector) g.convertShape(VectorOperators.F2D, D, 0)).mul(c).convertShape(VectorOperators.D2F, F, 0);
        FloatVector high = (FloatVector) ((DoubleVector) g.convertShape(VectorOperators.F2D, D, 1)).mul(c).convertShape(VectorOperators.D2F, F, -1);
        return low.blend(high, UPPER_HALF);
    }
}
