package dev.bertft.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Σ x² of a run of floats in float32 (the type torch's norm of float32 gradients accumulates in),
 * a vector of L lanes at a time. Each lane adds {@link #RUN} squares with fused multiply-adds, then
 * the L lane sums go into a double in lane order, run after run (a run that overflows float32,
 * again in double); the last n mod L elements are added in double.
 *
 * <p>Why float32: widening each element to double, exact but scalar on JDK 17 (the Vector API's
 * float→double conversion was left to its boxing Java fallback in some JVMs, and C2 does not
 * vectorise the plain loop), read gradients at 14–21 GB/s against the 80–95 GB/s AdamW streams
 * at. The error stays small: every term is positive, so a lane's float sum of {@code RUN} fused
 * multiply-adds is within RUN·2⁻²⁴ of its exact value, relative, and the double sums after it add
 * next to nothing; the total is within 2⁻¹⁸ of the exact sum (squares too small for a normal
 * float32, of elements under about 10⁻¹⁹, may count for less: beside any gradient that matters,
 * nothing).
 */
final class SimdSquares {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Squares a lane adds in float32 before its sum goes into the double total. */
    static final int RUN = 64;

    private SimdSquares() {}

    static double sum(float[] a, int from, int n) {
        int l = F.length(), end = from + F.loopBound(n);
        float[] lanes = new float[l];
        double total = 0;
        for (int i = from; i < end; ) {
            int runStart = i, runEnd = Math.min(end, i + RUN * l);
            FloatVector acc = FloatVector.zero(F);
            for (; i < runEnd; i += l) {
                FloatVector x = FloatVector.fromArray(F, a, i);
                acc = x.fma(x, acc);
            }
            acc.intoArray(lanes, 0);
            double run = 0;
            for (float s : lanes) run += s;
            // squares past float32's range (elements from about 10¹⁸ up): that run again in double, so
            // the sum is finite exactly when every element is (GradScaler's test)
            total += Double.isFinite(run) ? run : TensorBlocks.squaresInDouble(a, runStart, runEnd);
        }
        return total + TensorBlocks.squaresInDouble(a, end, from + n);
    }
}
