package dev.bertft.tensor.cpu;

/** erf and the exact GELU, in double (reference) and float (fast) precision. */
final class Special {
    private Special() {}

    static final double SQRT_HALF = 0.7071067811865476;
    static final double INV_SQRT_2PI = 0.3989422804014327;
    private static final double TWO_OVER_SQRT_PI = 1.1283791670955126;

    /**
     * erf(x) to double precision. For |x| < 3 the all-positive series
     * erf(x) = 2/√π · e^{−x²} · Σₙ 2ⁿ x^{2n+1} / (1·3·…·(2n+1)) (no cancellation);
     * beyond, erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))) by
     * backward evaluation of the continued fraction; erf is ±1 to double precision past 6.
     */
    static double erf(double x) {
        double ax = Math.abs(x);
        if (Double.isNaN(x)) return x;
        if (ax >= 6) return Math.copySign(1.0, x);
        if (ax < 3) {
            double x2 = x * x, term = x, sum = x;
            for (int n = 1; n < 200; n++) {
                term *= 2 * x2 / (2 * n + 1);
                sum += term;
                if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
            }
            return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
        }
        double f = ax;
        for (int k = 60; k >= 1; k--) f = ax + (k / 2.0) / f;
        double erfc = Math.exp(-ax * ax) / (f * Math.sqrt(Math.PI));
        return Math.copySign(1.0 - erfc, x);
    }

    /** GELU(x) = x · Φ(x) = x · ½(1 + erf(x/√2)). */
    static double gelu(double x) {
        return 0.5 * x * (1 + erf(x * SQRT_HALF));
    }

    /** GELU'(x) = Φ(x) + x · φ(x). */
    static double geluGrad(double x) {
        return 0.5 * (1 + erf(x * SQRT_HALF)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    }

    // erf for float kernels: cubic Hermite interpolation between exact values of erf and
    // erf'(x) = 2/√π·e^{−x²} at steps of 1/64 on [0, 4]; the error bound h⁴/384·max|erf⁗| is
    // below 1e-9, far under float resolution, and past 4 erf rounds to ±1 in float.
    static final int STEPS_PER_UNIT = 64;
    static final float TABLE_END = 4f;
    static final float[] ERF = new float[(int) (TABLE_END * STEPS_PER_UNIT) + 2];
    static final float[] ERF_SLOPE = new float[ERF.length];

    static {
        for (int i = 0; i < ERF.length; i++) {
            double x = (double) i / STEPS_PER_UNIT;
            ERF[i] = (float) erf(x);
            ERF_SLOPE[i] = (float) (TWO_OVER_SQRT_PI * Math.exp(-x * x) / STEPS_PER_UNIT);
        }
    }

    static float erfFast(float x) {
        float z = Math.abs(x);
        if (!(z < TABLE_END)) return Float.isNaN(x) ? x : Math.copySign(1f, x);
        float u = z * STEPS_PER_UNIT;
        int i = (int) u;
        float t = u - i, t2 = t * t, t3 = t2 * t;
        float v = (2 * t3 - 3 * t2 + 1) * ERF[i] + (t3 - 2 * t2 + t) * ERF_SLOPE[i]
                + (3 * t2 - 2 * t3) * ERF[i + 1] + (t3 - t2) * ERF_SLOPE[i + 1];
        return Math.copySign(v, x);
    }

    static float geluFast(float x) {
        return 0.5f * x * (1f + erfFast(x * (float) SQRT_HALF));
    }

    static float geluGradFast(float x) {
        return 0.5f * (1f + erfFast(x * (float) SQRT_HALF)) + x * (float) INV_SQRT_2PI * (float) Math.exp(-0.5f * x * x);
    }
}
