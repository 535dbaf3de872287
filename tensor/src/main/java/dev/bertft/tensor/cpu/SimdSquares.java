package dev.bertft.tensor.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Σ x² of a run of floats in double, a vector at a time: each square is exact in double (24-bit
 * significands), so only the additions round; two vector accumulators take alternate vectors,
 * then their lanes and the tail are added in order, the same order on every call.
 */
final class SimdSquares {
    private SimdSquares() {}

    static double sum(float[] a, int from, int n) {
        var f = WideLanes.F;
        DoubleVector even = DoubleVector.zero(WideLanes.D), odd = even;
        int i = from, step = 2 * f.length(), end = from + n / step * step;
        for (; i < end; i += step) {
            DoubleVector x = (DoubleVector) FloatVector.fromArray(f, a, i).convertShape(VectorOperators.F2D, WideLanes.D, 0);
            DoubleVector y = (DoubleVector) FloatVector.fromArray(f, a, i + f.length()).convertShape(VectorOperators.F2D, WideLanes.D, 0);
            even = x.fma(x, even);
            odd = y.fma(y, odd);
        }
        DoubleVector both = even.add(odd);
        double total = 0;
        for (int l = 0; l < WideLanes.D.length(); l++) total += both.lane(l);
        for (; i < from + n; i++) total += (double) a[i] * a[i];
        return total;
    }
}
