package dev.bertft.tensor.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * LayerNorm(dropout(x) + residual) over one row a vector at a time, forward and backward: the
 * kernels of {@link RowKernels#dropoutAddLayerNorm} with the sums in float vector lanes (a
 * row of BERT is 24 to 64 vectors, so no lane adds more than 64 terms). The dropout mask is read
 * as bits packed 32 to an int, a vector's worth of lanes at a time.
 */
final class SimdResidualNorm {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** As many int lanes as float lanes: a kept-mask computed on ints is reused on floats. */
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /**
     * LANE_BITS[l] = 2^l: lane l's bit of a packed mask word. JDK 17 builds a {@link VectorMask}
     * from or into a long through a boolean array (fromLong and toLong are not intrinsics there),
     * so the bits are moved with lane-wise AND and OR instead (170 MB in 4 s of a MiniLM 8×128 training run).
     */
    private static final int[] LANE_BITS = new int[I.length()];

    static {
        for (int l = 0; l < LANE_BITS.length; l++) LANE_BITS[l] = 1 << l;
    }

    private SimdResidualNorm() {}

    /**
     * Sets bit j % 32 of words[wb + j / 32] for the elements j of a row's n dropout draws that
     * dropout keeps ({@code draw >= threshold}, {@link dev.bertft.tensor.Philox#keepThreshold}).
     */
    static void packKept(int[] draws, int n, int threshold, int[] words, int wb) {
        java.util.Arrays.fill(words, wb, wb + (n + 31) / 32, 0);
        int j = 0;
        // the lane count divides 32, so a vector's bits never straddle two words
        for (int bound = I.loopBound(n); j < bound; j += I.length()) {
            VectorMask<Integer> kept = IntVector.fromArray(I, draws, j).compare(VectorOperators.GE, threshold);
            int bits = IntVector.zero(I).blend(IntVector.fromArray(I, LANE_BITS, 0), kept).reduceLanes(VectorOperators.OR);
            words[wb + (j >>> 5)] |= bits << (j & 31);
        }
        for (; j < n; j++) if (draws[j] >= threshold) words[wb + (j >>> 5)] |= 1 << (j & 31);
    }

    /** One row of the forward; words null means no dropout. Records μ and 1/σ as LayerNorm does. */
    static void forward(float[] x, float[] residual, int[] words, int wb, float scale, float[] gamma, float[] beta, float[] sum,
                        float[] y, float[] mean, float[] rstd, int row, int n, float eps) {
        int base = row * n, bound = F.loopBound(n), j = 0;
        FloatVector acc = FloatVector.zero(F);
        for (; j < bound; j += F.length()) {
            FloatVector v = FloatVector.fromArray(F, x, base + j);
            if (words != null) v = v.mul(factors(words, wb, j, scale));
            v = v.add(FloatVector.fromArray(F, residual, base + j));
            v.intoArray(sum, base + j);
            acc = acc.add(v);
        }
        float total = acc.reduceLanes(VectorOperators.ADD);
        for (; j < n; j++) {
            float v = (words == null ? x[base + j] : x[base + j] * RowKernels.factor(words, wb, j, scale)) + residual[base + j];
            sum[base + j] = v;
            total += v;
        }
        float mu = total / n;
        FloatVector sq = FloatVector.zero(F);
        for (j = 0; j < bound; j += F.length()) {
            FloatVector c = FloatVector.fromArray(F, sum, base + j).sub(mu);
            sq = c.fma(c, sq);
        }
        float squares = sq.reduceLanes(VectorOperators.ADD);
        for (; j < n; j++) {
            float c = sum[base + j] - mu;
            squares += c * c;
        }
        float inv = (float) (1 / Math.sqrt((double) squares / n + eps));
        for (j = 0; j < bound; j += F.length()) {
            FloatVector xh = FloatVector.fromArray(F, sum, base + j).sub(mu).mul(inv);
            xh.mul(FloatVector.fromArray(F, gamma, j)).add(FloatVector.fromArray(F, beta, j)).intoArray(y, base + j);
        }
        for (; j < n; j++) y[base + j] = (sum[base + j] - mu) * inv * gamma[j] + beta[j];
        mean[row] = mu;
        rstd[row] = inv;
    }

    /**
     * One row of the backward: ds = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)) with g = dy ⊙ γ and
     * x̂ = (s − μ)·rstd is the residual's gradient, ds times the mask x's (not written without one);
     * dy ⊙ x̂ and dy are added into the row block's partial sums for dγ and dβ, pg[pb..pb+n) and
     * pbeta[pb..pb+n).
     */
    static void backward(float[] dy, float[] sum, float[] gamma, float mu, float inv, int[] words, int wb, float scale,
                         float[] dresidual, float[] dx, int base, int n, float[] pg, float[] pbeta, int pb) {
        int bound = F.loopBound(n), j = 0;
        FloatVector sg = FloatVector.zero(F), sgx = FloatVector.zero(F);
        for (; j < bound; j += F.length()) {
            FloatVector g = FloatVector.fromArray(F, dy, base + j).mul(FloatVector.fromArray(F, gamma, j));
            FloatVector xh = FloatVector.fromArray(F, sum, base + j).sub(mu).mul(inv);
            sg = sg.add(g);
            sgx = g.fma(xh, sgx);
        }
        float sumG = sg.reduceLanes(VectorOperators.ADD), sumGX = sgx.reduceLanes(VectorOperators.ADD);
        for (; j < n; j++) {
            float g = dy[base + j] * gamma[j], xh = (sum[base + j] - mu) * inv;
            sumG += g;
            sumGX += g * xh;
        }
        float mg = sumG / n, mgx = sumGX / n;
        for (j = 0; j < bound; j += F.length()) {
            FloatVector d = FloatVector.fromArray(F, dy, base + j), g = d.mul(FloatVector.fromArray(F, gamma, j));
            FloatVector xh = FloatVector.fromArray(F, sum, base + j).sub(mu).mul(inv);
            FloatVector ds = g.sub(mg).sub(xh.mul(mgx)).mul(inv);
            ds.intoArray(dresidual, base + j);
            if (words != null) ds.mul(factors(words, wb, j, scale)).intoArray(dx, base + j);
            d.fma(xh, FloatVector.fromArray(F, pg, pb + j)).intoArray(pg, pb + j);
            d.add(FloatVector.fromArray(F, pbeta, pb + j)).intoArray(pbeta, pb + j);
        }
        for (; j < n; j++) {
            float d = dy[base + j], g = d * gamma[j], xh = (sum[base + j] - mu) * inv;
            float ds = inv * (g - mg - xh * mgx);
            dresidual[base + j] = ds;
            if (words != null) dx[base + j] = ds * RowKernels.factor(words, wb, j, scale);
            pg[pb + j] += d * xh;
            pbeta[pb + j] += d;
        }
    }

    /** The dropout factors (scale where kept, else 0) of elements j .. j + lanes − 1, j a multiple of the lane count. */
    static FloatVector factors(int[] words, int wb, int j, float scale) {
        IntVector bits = IntVector.broadcast(I, words[wb + (j >>> 5)] >>> (j & 31)).and(IntVector.fromArray(I, LANE_BITS, 0));
        VectorMask<Float> kept = ((FloatVector) bits.convert(VectorOperators.I2F, 0)).compare(VectorOperators.NE, 0f);
        return FloatVector.zero(F).blend(scale, kept);
    }
}
