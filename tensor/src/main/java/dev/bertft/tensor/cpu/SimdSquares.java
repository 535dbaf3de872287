package dev.bertft.tensor.cpu;

import jdk.incubator.vector.FloatVector;

/**
 * Σ x² of a run of floats in double, in the order of the preferred float vector: each square is
 * exact in double (24-bit significands), so only the additions round; element i + j of each
 * L-float stretch goes to accumulator j, then accumulators j and L/2 + j are added (a double
 * vector's lanes beside a float vector's halves), those L/2 sums in order, then the tail.
 *
 * <p>Scalar code in that order, not vector code: the float-to-double {@code convertShape} it
 * needs was left to the Vector API's Java fallback by JDK 17's C2 in some JVMs (JFR: 0.6 GB of
 * boxed vectors in six MiniLM 32×128 training steps, all from here), a cost that came and went
 * from run to run. The sum reads each gradient once per step, so memory, not arithmetic, bounds it.
 */
final class SimdSquares {
    private static final int L = FloatVector.SPECIES_PREFERRED.length();

    private SimdSquares() {}

    static double sum(float[] a, int from, int n) {
        double[] acc = new double[L];
        int i = from, end = from + n - n % L;
        for (; i < end; i += L) {
            for (int j = 0; j < L; j++) {
                double x = a[i + j];
                acc[j] += x * x;
            }
        }
        double total = 0;
        for (int j = 0; j < L / 2; j++) total += acc[j] + acc[L / 2 + j];
        for (; i < from + n; i++) total += (double) a[i] * a[i];
        return total;
    }
}
