package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Simd;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The vector exp against Math.exp (double, correctly rounded to within 1 ulp), over all the non-positive floats it takes. */
class SimdExpTest {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private static float[] exp(float[] x) {
        float[] y = x.clone();
        SimdExp.expSum(y, 0, y.length, 0f);
        return y;
    }

    @Test
    void within2UlpOfMathExpFromZeroToUnderflow() {
        assumeTrue(Simd.AVAILABLE, "Vector API not enabled in this JVM");
        // every 127th float from −0 to −110 (about 9 million inputs, every binade, past underflow)
        int count = 0;
        float[] x = new float[F.length() * 4096];
        int filled = 0;
        double worstUlps = 0;
        int limit = Float.floatToRawIntBits(110f);
        for (int bits = 0; bits <= limit; bits += 127) {
            x[filled++] = -Float.intBitsToFloat(bits);
            if (filled == x.length || bits + 127 > limit) {
                float[] y = exp(x);
                for (int i = 0; i < filled; i++) {
                    double want = Math.exp(x[i]);
                    float got = y[i];
                    if (want < Float.MIN_NORMAL) {
                        // subnormal results: absolute error within two of the smallest steps
                        if (Math.abs(got - want) > 2 * Float.MIN_VALUE) fail("exp(" + x[i] + ") = " + got + ", want " + want);
                    } else {
                        double ulps = Math.abs(got - want) / Math.ulp((float) want);
                        worstUlps = Math.max(worstUlps, ulps);
                        if (ulps > 2) fail("exp(" + x[i] + ") = " + got + ", want " + want + " (" + ulps + " ulp)");
                    }
                }
                count += filled;
                filled = 0;
            }
        }
        assertTrue(count > 8_000_000, "covered " + count + " inputs");
        assertTrue(worstUlps > 0, "a vector exp exact everywhere would mean the reference is not being compared");
    }

    @Test
    void specialValues() {
        assumeTrue(Simd.AVAILABLE, "Vector API not enabled in this JVM");
        float[] x = new float[F.length()];
        float[] in = {0f, -0f, Float.NaN, Float.NEGATIVE_INFINITY, -Float.MAX_VALUE, -1f, -Float.MIN_VALUE, -104.5f};
        System.arraycopy(in, 0, x, 0, Math.min(in.length, x.length));
        float[] y = exp(x);
        float[] want = {1f, 1f, Float.NaN, 0f, 0f, (float) Math.exp(-1), 1f, 0f};
        for (int i = 0; i < Math.min(in.length, x.length); i++) assertEquals(want[i], y[i], "exp(" + in[i] + ")");
    }

    @Test
    void returnsTheSumOfTheShiftedExponentials() {
        assumeTrue(Simd.AVAILABLE, "Vector API not enabled in this JVM");
        int n = 3 * F.length() + 5; // vector body and scalar tail
        float[] a = new float[n];
        double want = 0;
        for (int i = 0; i < n; i++) {
            a[i] = 2.5f - 0.37f * i; // at most the shift
            want += Math.exp(a[i] - 2.5);
        }
        float[] expected = a.clone();
        float sum = SimdExp.expSum(a, 0, n, 2.5f);
        assertEquals(want, sum, 1e-6 * want);
        for (int i = 0; i < n; i++) assertEquals(Math.exp(expected[i] - 2.5f), a[i], 3e-7 * a[i], "element " + i);
    }
}
