package dev.bertft.tensor.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Σ x² of a run of floats in double, a vector at a time: each square is exact in double (24-bit
 * significands), so only the additions round; each float vector's lower half goes to one double
 * accumulator, its upper half to another, then their lanes and the tail are added in order, the
 * same order on every call.
 */
final class SimdSquares {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;

    private SimdSquares() {}

    static double sum(float[] a, int from, int n) {
        DoubleVector low = DoubleVector.zero(D), high = low;
        int i = from, end = from + F.loopBound(n);
        for (; i < end; i += F.length()) {
            FloatVector x = FloatVector.fromArray(F, a, i);
            DoubleVector x0 = (DoubleVector) x.convertShape(VectorOperators.F2D, D, 0), x1 = (DoubleVector) x.convertShape(VectorOperators.F2D, D, 1);
            low = x0.fma(x0, low);
            high = x1.fma(x1, high);
        }
        DoubleVector both = low.add(high);
        double total = 0;
        for (int l = 0; l < D.length(); l++) total += both.lane(l);
        for (; i < from + n; i++) total += (double) a[i] * a[i];
        return total;
    }
}
