package dev.bertft.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * e^x a vector at a time, from additions, multiplications and fused multiply-adds only, so that it
 * gives the same bits interpreted, JIT-compiled or on another CPU. The Vector API's own EXP may
 * not: it runs a vendor math library once C2 compiles the loop and {@code Math.exp} before, and a
 * run resumed from a checkpoint (fresh JIT) must repeat the uninterrupted run bit for bit.
 *
 * <p>e^x = 2^k · e^r with k = round(x / ln 2) and r = x − k·ln 2 ∈ [−ln2/2, ln2/2] (ln 2 in two
 * parts, so k·ln2_hi is exact); e^r by its Taylor series to r⁷, whose truncation error
 * (ln2/2)⁸/8! ≈ 5·10⁻¹⁰ is far below float's 6·10⁻⁸. 2^k is built in the exponent bits, in two
 * halves so that k down to −150 (results in float's subnormal range) stays normal.
 *
 * <p>Only for x ≤ 0: every caller exponentiates a softmax row shifted by its maximum or its
 * log-sum-exp, or GELU's −x²/2. Without the clamp at the overflow end and the blend that put
 * +∞ there, the loop ran 1.4× as fast (0.30 against 0.43–0.51 ns an element, one thread), and for
 * x ≤ 0 both were no-ops, so the results are the same bits. Measured against {@code Math.exp}:
 * within 2 ulp from 0 down to underflow (see SimdExpTest).
 */
final class SimdExp {
    private SimdExp() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693145751953125f;      // 13 significant bits: k·LN2_HI is exact
    private static final float LN2_LO = 1.42860682030941723e-6f;  // ln 2 − LN2_HI
    /** Below this e^x rounds to zero in float (and so does the formula at it). */
    private static final float UNDERFLOW = -104f;
    /** Adding 1.5·2²³ rounds to an integer kept in the low mantissa bits. */
    private static final float ROUNDER = 0x1.8p23f;
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);

    /**
     * a[i] = e^(a[i] − shift) for i in [from, to), where every a[i] ≤ shift (or is NaN, which stays
     * NaN); returns the sum of the new values, added in an order that depends on the length only.
     * The exponential is written out in the loop rather than in a helper taking a vector: C2
     * compiles such a helper on its own once it is hot, then declines to inline the big result, and
     * each vector crossing the call gets boxed (GELU's backward ran at 6 ns an element that way).
     */
    static float expSum(float[] a, int from, int to, float shift) {
        return exp(a, from, to, shift, true);
    }

    /** {@link #expSum} without the sum, for callers that only want the exponentials. */
    static void exp(float[] a, int from, int to, float shift) {
        exp(a, from, to, shift, false);
    }

    private static float exp(float[] a, int from, int to, float shift, boolean sum) {
        int end = from + F.loopBound(to - from);
        float total = expPass(a, from, end, shift, sum);
        for (int i = end; i < to; i++) {
            a[i] = (float) StrictMath.exp(a[i] - shift);
            total += a[i];
        }
        return total;
    }

    /**
     * {@link #expSum} on [from, end), a whole number of vectors; returns their lane sums added in
     * order when {@code sum} (else 0: the in-order lane sum is a chain of 16 dependent additions).
     * A {@code Pass}: the JVM flags of {@link dev.bertft.tensor.Simd#JIT_FLAGS} keep it out of its
     * callers' compilations. Inlined into the softmax row, whose other two loops it then
     * shared a compilation with, it ran boxed (AttentionKernelTest: 172,600 bytes a call).
     */
    private static float expPass(float[] a, int from, int end, float shift, boolean sum) {
        FloatVector lanes = FloatVector.zero(F);
        for (int i = from; i < end; i += F.length()) {
            FloatVector x = FloatVector.fromArray(F, a, i).sub(shift);
            FloatVector xc = x.max(UNDERFLOW);
            FloatVector shifted = xc.fma(LOG2E, ROUNDER);
            FloatVector k = shifted.sub(ROUNDER);
            FloatVector r = k.fma(FloatVector.broadcast(F, -LN2_HI), xc);   // k·LN2_HI is exact: the bits of mul then add
            r = k.fma(FloatVector.broadcast(F, -LN2_LO), r);
            FloatVector p = r.fma(1f / 5040, 1f / 720).fma(r, broadcast(1f / 120)).fma(r, broadcast(1f / 24))
                    .fma(r, broadcast(1f / 6)).fma(r, broadcast(0.5f)).fma(r, broadcast(1f)).fma(r, broadcast(1f));
            IntVector ki = shifted.reinterpretAsInts().sub(ROUNDER_BITS);
            IntVector k1 = ki.lanewise(VectorOperators.ASHR, 1), k2 = ki.sub(k1);
            // below UNDERFLOW the clamped input already gives 0 (e^−104 < 2^−150 rounds to zero)
            FloatVector y = p.mul(powerOfTwo(k1)).mul(powerOfTwo(k2));
            y.intoArray(a, i);
            lanes = lanes.add(y);
        }
        // the lanes added first to last, the order expSum promises (lane() compiles to an
        // extract). Written here, not in a helper taking the vector: this line runs once per
        // call, after the loop, so when C2 compiles the pass early from long rows (the JIT counts
        // the loop's turns) the line has run too few times to be inlined, and the vector handed
        // to the helper was boxed in every later call (SimdAllocationTest after SimdExpTest).
        float total = 0;
        if (sum) for (int l = 0; l < F.length(); l++) total += lanes.lane(l);
        return total;
    }

    private static FloatVector broadcast(float c) {
        return FloatVector.broadcast(F, c);
    }

    /** 2^k for k in [−126, 0], written straight into the exponent field. */
    private static FloatVector powerOfTwo(IntVector k) {
        return k.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
    }
}
