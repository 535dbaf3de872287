package dev.bertft.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The exact GELU and its derivative a vector at a time: Φ(x) = ½(1 + erf(x/√2)) with erf as two
 * polynomials, and the Gaussian density through {@link SimdExp}.
 *
 * <p>Shaped for C2 in JDK 17, measured: no table lookups (vector gathers ran GELU at 4 ns an
 * element on Zen 5), coefficients as literals, and the work split into passes over a chunk held
 * in L1. Each pass is a loop in its own {@code ...Pass} method that C2 compiles apart from the
 * others ({@link dev.bertft.tensor.Simd#JIT_FLAGS}); no vector crosses a method boundary
 * except into helpers small enough to be inlined always.
 */
final class SimdGelu {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final float HALF_SQRT = (float) Special.SQRT_HALF, DENSITY = (float) Special.INV_SQRT_2PI;
    /** Elements per pass; a multiple of every vector length. */
    private static final int CHUNK = 1024;
    /**
     * Each thread's Φ and density chunks, kept: GELU runs once a row, so fresh arrays a call were
     * about as many bytes as the rows themselves (384 MB in 4 s of a MiniLM 8×128 training run).
     */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[2][CHUNK]);

    private SimdGelu() {}

    /** y[i] = x[i]·Φ(x[i]) for i in [from, to). */
    static void forward(float[] x, float[] y, int from, int to) {
        run(x, null, y, from, to);
    }

    /** dx[i] = dy[i]·(Φ(x[i]) + x[i]·φ(x[i])) for i in [from, to). */
    static void backward(float[] x, float[] dy, float[] dx, int from, int to) {
        run(x, dy, dx, from, to);
    }

    /** Forward when dy is null, else backward, a chunk held in L1 at a time. */
    private static void run(float[] x, float[] dy, float[] out, int from, int to) {
        float[][] scratch = SCRATCH.get();
        float[] cdf = scratch[0], density = scratch[1];
        for (int c = from; c < to; c += CHUNK) {
            int n = Math.min(CHUNK, to - c), vectorEnd = c + F.loopBound(n);
            cdf(x, c, vectorEnd, cdf, density);   // density: scratch until the backward fills it below
            if (dy != null) {
                for (int j = 0; j < n; j++) density[j] = -0.5f * x[c + j] * x[c + j];
                SimdExp.expSum(density, 0, n, 0f);
            }
            outputPass(x, dy, out, c, vectorEnd, cdf, density);
            for (int i = vectorEnd; i < c + n; i++) out[i] = dy == null ? Special.geluFast(x[i]) : dy[i] * Special.geluGradFast(x[i]);
        }
    }

    /** out[i] = x·Φ, or dy·(Φ + x·φ) when dy is given, for i in [from, to), a whole number of vectors. */
    private static void outputPass(float[] x, float[] dy, float[] out, int from, int to, float[] cdf, float[] density) {
        for (int i = from; i < to; i += F.length()) {
            FloatVector v = FloatVector.fromArray(F, x, i), phi = FloatVector.fromArray(F, cdf, i - from);
            if (dy == null) {
                phi.mul(v).intoArray(out, i);
            } else {
                FloatVector gauss = FloatVector.fromArray(F, density, i - from).mul(DENSITY);
                phi.add(v.mul(gauss)).mul(FloatVector.fromArray(F, dy, i)).intoArray(out, i);
            }
        }
    }

    /**
     * cdf[i − from] = Φ(x[i]) for i in [from, to), a whole number of vectors, with {@code large}
     * as scratch. erf(|z|) is z·P(z²) below 1.2 and Q(z − 2.55) above, fitted by
     * tensor/src/test/python/fit_erf.py, which also measures them evaluated in float as here,
     * Horner with one FMA a step (a multiply then an add ran the forward a third slower):
     * [0, 1.2): max abs error 1.6e-07, max rel error 1.8e-07
     * [1.2, 3.9): max abs error 6.0e-08
     * Past 3.9 float's erf is 1.
     *
     * <p>Three passes, each its own method, which C2 must compile on its own ({@link
     * dev.bertft.tensor.Simd#JIT_FLAGS}): whenever it inlined two of these loops into one
     * compilation, some JVMs ran part of them as the Vector API's boxed Java fallback.
     */
    private static void cdf(float[] x, int from, int to, float[] cdf, float[] large) {
        erfBelowPass(x, from, to, cdf);
        erfAbovePass(x, from, to, large);
        cdfOfErfPass(x, from, to, cdf, large);
    }

    /** |z| clamped to 3.9 for z = x[i]/√2: the argument of both polynomials. */
    private static FloatVector absZ(float[] x, int i) {
        return FloatVector.fromArray(F, x, i).mul(HALF_SQRT).abs().min(3.9f);
    }

    /** out[i − from] = |z|·P(z²), erf(|z|) below 1.2. */
    private static void erfBelowPass(float[] x, int from, int to, float[] out) {
        for (int i = from; i < to; i += F.length()) {
            FloatVector az = absZ(x, i), u = az.mul(az);
            FloatVector small = FloatVector.broadcast(F, -8.033983249333687e-06f);
            small = small.fma(u, FloatVector.broadcast(F, 0.00010623834532452747f));
            small = small.fma(u, FloatVector.broadcast(F, -0.0008384626125916839f));
            small = small.fma(u, FloatVector.broadcast(F, 0.005213398486375809f));
            small = small.fma(u, FloatVector.broadcast(F, -0.02686244249343872f));
            small = small.fma(u, FloatVector.broadcast(F, 0.1128372773528099f));
            small = small.fma(u, FloatVector.broadcast(F, -0.37612634897232056f));
            small = small.fma(u, FloatVector.broadcast(F, 1.128379225730896f));
            small.mul(az).intoArray(out, i - from);
        }
    }

    /** out[i − from] = Q(|z| − 2.55), erf(|z|) from 1.2 to 3.9. */
    private static void erfAbovePass(float[] x, int from, int to, float[] out) {
        for (int i = from; i < to; i += F.length()) {
            FloatVector t = absZ(x, i).sub(2.55f);
            FloatVector large = FloatVector.broadcast(F, -9.29013367567677e-06f);
            large = large.fma(t, FloatVector.broadcast(F, 1.5036233889986761e-05f));
            large = large.fma(t, FloatVector.broadcast(F, 7.289601489901543e-05f));
            large = large.fma(t, FloatVector.broadcast(F, -0.00024286027473863214f));
            large = large.fma(t, FloatVector.broadcast(F, 0.00016634378698654473f));
            large = large.fma(t, FloatVector.broadcast(F, 0.0006567735690623522f));
            large = large.fma(t, FloatVector.broadcast(F, -0.002599316881969571f));
            large = large.fma(t, FloatVector.broadcast(F, 0.005292417015880346f));
            large = large.fma(t, FloatVector.broadcast(F, -0.007193484343588352f));
            large = large.fma(t, FloatVector.broadcast(F, 0.006775023881345987f));
            large = large.fma(t, FloatVector.broadcast(F, -0.004315380938351154f));
            large = large.fma(t, FloatVector.broadcast(F, 0.0016920039197430015f));
            large = large.fma(t, FloatVector.broadcast(F, 0.9996893405914307f));
            large.intoArray(out, i - from);
        }
    }

    /** cdf[i − from] = (1 + erf(z))/2 from the two pieces of erf(|z|) (cdf holds the lower one on entry) and z's sign. */
    private static void cdfOfErfPass(float[] x, int from, int to, float[] cdf, float[] large) {
        for (int i = from; i < to; i += F.length()) {
            FloatVector z = FloatVector.fromArray(F, x, i).mul(HALF_SQRT), az = z.abs().min(3.9f);
            FloatVector erfAbs = FloatVector.fromArray(F, cdf, i - from)
                    .blend(FloatVector.fromArray(F, large, i - from), az.compare(VectorOperators.GE, 1.2f))
                    .blend(1f, az.compare(VectorOperators.GE, 3.9f));
            // erf is odd: a negation then a blend, not lanewise(NEG, mask), which JDK 17's C2 left
            // to its Java fallback here (330 MB a MiniLM 32×128 training step)
            erfAbs.blend(erfAbs.neg(), z.lt(0)).add(1).mul(0.5f).intoArray(cdf, i - from);
        }
    }
}
