package dev.bertft.tensor.cpu;

/**
 * Float kernels for the row-wise ops that run on every attention score and hidden state:
 * softmax and LayerNorm, forward and backward. One row at a time, float storage with float
 * accumulation where PyTorch uses it and double where a long sum would lose digits.
 */
final class RowKernels {
    private RowKernels() {}

    /**
     * Each thread's two rows for {@link #addRows} and {@link #mulRows}, indexed from 0: JDK 17's C2
     * vectorises x[j] += y[j] (0.036 ns an element on one core) but not c[row + j] += b[bOff + j],
     * whose arrays start at offsets it cannot align with each other (0.29 ns). Copied in and out, 0.13 ns.
     */
    private static final ThreadLocal<float[][]> ROWS = ThreadLocal.withInitial(() -> new float[2][0]);

    /**
     * to(i, j) = from(i, j) + b(i, j) for rows [i0, i1) and columns [j0, j1), each matrix from its
     * offset with its row stride (to may be from): the product epilogues' bias and addend. ldb 0: b
     * is one row, a bias, copied once.
     */
    static void addRows(float[] from, int fromOff, int ldf, float[] b, int bOff, int ldb, float[] to, int toOff, int ldt,
                        int i0, int i1, int j0, int j1) {
        combineRows(false, from, fromOff, ldf, b, bOff, ldb, to, toOff, ldt, i0, i1, j0, j1);
    }

    /** c(i, j) = c(i, j)·x(i, j) for rows [i0, i1) and columns [j0, j1), as {@link #addRows}. */
    static void mulRows(float[] c, int cOff, int ldc, float[] x, int xOff, int ldx, int i0, int i1, int j0, int j1) {
        combineRows(true, c, cOff, ldc, x, xOff, ldx, c, cOff, ldc, i0, i1, j0, j1);
    }

    private static void combineRows(boolean multiply, float[] from, int fromOff, int ldf, float[] b, int bOff, int ldb,
                                    float[] to, int toOff, int ldt, int i0, int i1, int j0, int j1) {
        int n = j1 - j0;
        float[][] rows = ROWS.get();
        if (rows[0].length < n) {
            rows[0] = new float[n];
            rows[1] = new float[n];
        }
        float[] x = rows[0], y = rows[1];
        if (ldb == 0) System.arraycopy(b, bOff + j0, y, 0, n);
        for (int i = i0; i < i1; i++) {
            System.arraycopy(from, fromOff + i * ldf + j0, x, 0, n);
            if (ldb != 0) System.arraycopy(b, bOff + i * ldb + j0, y, 0, n);
            if (multiply) mulFromZero(x, y, n);
            else addFromZero(x, y, n);
            System.arraycopy(x, 0, to, toOff + i * ldt + j0, n);
        }
    }

    /** x[j] += y[j] for j in [0, n): a loop C2 vectorises. */
    private static void addFromZero(float[] x, float[] y, int n) {
        for (int j = 0; j < n; j++) x[j] += y[j];
    }

    /** x[j] *= y[j] for j in [0, n), as {@link #addFromZero}. */
    private static void mulFromZero(float[] x, float[] y, int n) {
        for (int j = 0; j < n; j++) x[j] *= y[j];
    }

    /** d[base..base+n) = softmax(s[base..base+n)), max-subtracted (a row of only −∞ gives NaN, as in torch). */
    static void softmax(float[] s, float[] d, int base, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = base; j < base + n; j++) max = Math.max(max, s[j]);
        double sum = 0;
        for (int j = base; j < base + n; j++) {
            float e = (float) Math.exp(s[j] - max);
            d[j] = e;
            sum += e;
        }
        float inv = (float) (1 / sum);
        for (int j = base; j < base + n; j++) d[j] *= inv;
    }

    /** dx = y ⊙ (dy − Σ dy ⊙ y). */
    static void softmaxBackward(float[] y, float[] dy, float[] dx, int base, int n) {
        double dot = 0;
        for (int j = base; j < base + n; j++) dot += dy[j] * y[j];
        float c = (float) dot;
        for (int j = base; j < base + n; j++) dx[j] = y[j] * (dy[j] - c);
    }

    /** One row of LayerNorm; records μ and 1/σ (biased variance, as torch) for the backward. */
    static void layerNorm(float[] x, float[] gamma, float[] beta, float[] y, float[] mean, float[] rstd, int row, int n, float eps) {
        int base = row * n;
        double sum = 0;
        for (int j = 0; j < n; j++) sum += x[base + j];
        float mu = (float) (sum / n);
        double sq = 0;
        for (int j = 0; j < n; j++) {
            float c = x[base + j] - mu;
            sq += c * c;
        }
        float inv = (float) (1 / Math.sqrt(sq / n + eps));
        for (int j = 0; j < n; j++) y[base + j] = (x[base + j] - mu) * inv * gamma[j] + beta[j];
        mean[row] = mu;
        rstd[row] = inv;
    }

    /**
     * One row of LayerNorm(dropout(x) + residual): the sum s is written to {@code sum}, then
     * normalised by {@link #layerNorm}, so the result is bit for bit the composition's. The mask is
     * bit j % 32 of words[wb + j / 32] for element j; words null means no dropout.
     */
    static void dropoutAddLayerNorm(float[] x, float[] residual, int[] words, int wb, float scale, float[] gamma, float[] beta,
                                    float[] sum, float[] y, float[] mean, float[] rstd, int row, int n, float eps) {
        int base = row * n;
        for (int j = 0; j < n; j++) {
            sum[base + j] = (words == null ? x[base + j] : x[base + j] * factor(words, wb, j, scale)) + residual[base + j];
        }
        layerNorm(sum, gamma, beta, y, mean, rstd, row, n, eps);
    }

    /**
     * The backward of {@link #dropoutAddLayerNorm}: LayerNorm's dx is the residual's gradient, that
     * times the mask x's; dy ⊙ x̂ and dy are added into the row block's partial sums for dγ and dβ,
     * pg[pb..pb+n) and pbeta[pb..pb+n).
     */
    static void dropoutAddLayerNormBackward(float[] dy, float[] sum, float[] gamma, float mu, float inv, int[] words, int wb,
                                            float scale, float[] dresidual, float[] dx, int base, int n, float[] pg, float[] pbeta,
                                            int pb) {
        layerNormBackward(dy, sum, gamma, mu, inv, dresidual, base, n);
        for (int j = 0; j < n; j++) {
            if (words != null) dx[base + j] = dresidual[base + j] * factor(words, wb, j, scale);
            pg[pb + j] += dy[base + j] * ((sum[base + j] - mu) * inv);
            pbeta[pb + j] += dy[base + j];
        }
    }

    /** Sets bit j % 32 of words[wb + j / 32] for each of a row's n dropout draws that dropout keeps ({@code draw >= threshold}). */
    static void packKept(int[] draws, int n, int threshold, int[] words, int wb) {
        java.util.Arrays.fill(words, wb, wb + (n + 31) / 32, 0);
        for (int j = 0; j < n; j++) if (draws[j] >= threshold) words[wb + (j >>> 5)] |= 1 << (j & 31);
    }

    /** Dropout's factor for element j of a row whose kept bits start at words[wb]: scale when kept, else 0. */
    static float factor(int[] words, int wb, int j, float scale) {
        return (words[wb + (j >>> 5)] >>> (j & 31) & 1) != 0 ? scale : 0f;
    }

    /** dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)) with g = dy ⊙ γ, x̂ = (x − μ)·rstd. */
    static void layerNormBackward(float[] dy, float[] x, float[] gamma, float mu, float inv, float[] dx, int base, int n) {
        double sumG = 0, sumGX = 0;
        for (int j = 0; j < n; j++) {
            float g = dy[base + j] * gamma[j], xh = (x[base + j] - mu) * inv;
            sumG += g;
            sumGX += g * xh;
        }
        float mg = (float) (sumG / n), mgx = (float) (sumGX / n);
        for (int j = 0; j < n; j++) {
            float g = dy[base + j] * gamma[j], xh = (x[base + j] - mu) * inv;
            dx[base + j] = inv * (g - mg - xh * mgx);
        }
    }

    /** dγ[c] = Σ_r dy[r,c]·x̂[r,c], dβ[c] = Σ_r dy[r,c] for columns [c0, c1), rows in order. */
    static void layerNormParamGrads(float[] dy, float[] x, float[] mean, float[] rstd, float[] dgamma, float[] dbeta,
                                    int rows, int n, int c0, int c1) {
        int w = c1 - c0;
        double[] sg = new double[w], sb = new double[w];
        for (int r = 0; r < rows; r++) {
            int base = r * n;
            float mu = mean[r], inv = rstd[r];
            for (int c = c0; c < c1; c++) {
                float g = dy[base + c];
                sg[c - c0] += g * ((x[base + c] - mu) * inv);
                sb[c - c0] += g;
            }
        }
        for (int c = c0; c < c1; c++) {
            dgamma[c] = (float) sg[c - c0];
            dbeta[c] = (float) sb[c - c0];
        }
    }
}
