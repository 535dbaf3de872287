package dev.bertft.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The exact GELU and its derivative a vector at a time: the same cubic Hermite table of erf as
 * {@link Special#erfFast}, read with gathers, and the Gaussian density through the vector exp.
 */
final class SimdGelu {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final float HALF_SQRT = (float) Special.SQRT_HALF, DENSITY = (float) Special.INV_SQRT_2PI;

    private SimdGelu() {}

    /** y[i] = x[i]·Φ(x[i]) for i in [from, to). */
    static void forward(float[] x, float[] y, int from, int to) {
        int[] idx = new int[F.length()];
        int i = from;
        for (int end = from + F.loopBound(to - from); i < end; i += F.length()) {
            FloatVector v = FloatVector.fromArray(F, x, i);
            cdf(v, idx).mul(v).intoArray(y, i);
        }
        for (; i < to; i++) y[i] = Special.geluFast(x[i]);
    }

    /** dx[i] = dy[i]·(Φ(x[i]) + x[i]·φ(x[i])) for i in [from, to). */
    static void backward(float[] x, float[] dy, float[] dx, int from, int to) {
        int[] idx = new int[F.length()];
        int i = from;
        for (int end = from + F.loopBound(to - from); i < end; i += F.length()) {
            FloatVector v = FloatVector.fromArray(F, x, i);
            FloatVector density = v.mul(v).mul(-0.5f).lanewise(VectorOperators.EXP).mul(DENSITY);
            cdf(v, idx).add(v.mul(density)).mul(FloatVector.fromArray(F, dy, i)).intoArray(dx, i);
        }
        for (; i < to; i++) dx[i] = dy[i] * Special.geluGradFast(x[i]);
    }

    /** Φ(x) = ½(1 + erf(x/√2)); idx is scratch for the gather indices. */
    private static FloatVector cdf(FloatVector x, int[] idx) {
        FloatVector z = x.mul(HALF_SQRT);
        FloatVector az = z.abs();
        VectorMask<Float> inTable = az.lt(Special.TABLE_END);
        FloatVector u = az.min(Math.nextDown(Special.TABLE_END)).mul((float) Special.STEPS_PER_UNIT);
        IntVector cell = (IntVector) u.convert(VectorOperators.F2I, 0);
        FloatVector t = u.sub((FloatVector) cell.convert(VectorOperators.I2F, 0));
        cell.intoArray(idx, 0);
        FloatVector e0 = FloatVector.fromArray(F, Special.ERF, 0, idx, 0), e1 = FloatVector.fromArray(F, Special.ERF, 1, idx, 0);
        FloatVector s0 = FloatVector.fromArray(F, Special.ERF_SLOPE, 0, idx, 0), s1 = FloatVector.fromArray(F, Special.ERF_SLOPE, 1, idx, 0);
        FloatVector t2 = t.mul(t), t3 = t2.mul(t);
        FloatVector h00 = t3.mul(2).sub(t2.mul(3)).add(1), h10 = t3.sub(t2.mul(2)).add(t);
        FloatVector h01 = t2.mul(3).sub(t3.mul(2)), h11 = t3.sub(t2);
        FloatVector erf = h00.mul(e0).add(h10.mul(s0)).add(h01.mul(e1)).add(h11.mul(s1));
        erf = erf.blend(1f, inTable.not()).lanewise(VectorOperators.NEG, z.lt(0));
        return erf.add(1).mul(0.5f);
    }
}
