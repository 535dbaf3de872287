package dev.bertft.tensor.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * {@link AdamWRule#update} a vector at a time: multiplies and adds kept apart (no FMA), so the scalar
 * loop's bits. The vectors hold as many floats as a double vector holds doubles, so that a clipped
 * gradient is widened, scaled in double and rounded back lane for lane, as the scalar loop does.
 */
final class SimdAdamW {
    private SimdAdamW() {}

    static void update(AdamWRule r, float[] p, int po, float[] g, float[] m, int mo, float[] v, int vo, int from, int n) {
        var f = WideLanes.F;
        float oneMinusB1 = 1 - r.beta1(), oneMinusB2 = 1 - r.beta2();
        int i = from, end = from + f.loopBound(n);
        for (; i < end; i += f.length()) {
            FloatVector gi = FloatVector.fromArray(f, g, i);
            if (r.clip() != 1) gi = (FloatVector) ((DoubleVector) gi.convertShape(VectorOperators.F2D, WideLanes.D, 0)).mul(r.clip())
                    .convertShape(VectorOperators.D2F, f, 0);
            FloatVector mi = FloatVector.fromArray(f, m, mo + i).mul(r.beta1()).add(gi.mul(oneMinusB1));
            FloatVector vi = FloatVector.fromArray(f, v, vo + i).mul(r.beta2()).add(gi.mul(oneMinusB2).mul(gi));
            mi.intoArray(m, mo + i);
            vi.intoArray(v, vo + i);
            FloatVector denom = vi.sqrt().div(r.sqrtBc2()).add(r.eps());
            FloatVector pi = FloatVector.fromArray(f, p, po + i);
            pi.mul(r.decay()).sub(mi.mul(r.stepSize()).div(denom)).intoArray(p, po + i);
        }
        r.updateScalar(p, po, g, m, mo, v, vo, i, from + n);
    }
}
