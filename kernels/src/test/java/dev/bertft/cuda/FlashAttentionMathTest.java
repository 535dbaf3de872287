package dev.bertft.cuda;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Philox;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The algorithm of attention.cu, written out in Java line for line (one "thread" per query or
 * key row, the same tile order, float arithmetic), against the CPU backend's attention: the
 * online softmax with its lazy rescale, the log-sum-exp, the dropout element indices, and the
 * backward through D_i = dO_i·out_i instead of Σ_j P_ij·dP_ij. The CUDA specifics (shared
 * memory, bounds, launch shapes) are left to the GPU parity test.
 */
class FlashAttentionMathTest {
    private static final int TILE = 16;

    record Dims(int b, int nh, int t, int hs) {}

    static float factor(long seed, long offset, long index, float p, float keep) {
        return Philox.kept(Philox.dropoutDraw(seed, offset, index), p) ? keep : 0f;
    }

    /** attention_forward_kernel: thread i of head pair bh. */
    static void forward(Dims d, float[] q, float[] k, float[] v, float[] mask, float[] out, float[] lse, float scale,
                        boolean dropout, float p, float keep, long seed, long offset) {
        int T = d.t, HS = d.hs;
        for (int bh = 0; bh < d.b * d.nh; bh++) {
            int b = bh / d.nh;
            long base = (long) bh * T * HS;
            for (int i = 0; i < T; i++) {
                float[] acc = new float[HS];
                float m = Float.NEGATIVE_INFINITY, l = 0;
                long rowIndex = ((long) bh * T + i) * T;
                for (int j0 = 0; j0 < T; j0 += TILE) {
                    int tile = Math.min(TILE, T - j0);
                    for (int jj = 0; jj < tile; jj++) {
                        int j = j0 + jj;
                        float s = 0;
                        for (int x = 0; x < HS; x++) s += q[(int) (base + (long) i * HS + x)] * k[(int) (base + (long) j * HS + x)];
                        s = s * scale + mask[b * T + j];
                        if (s > m) {
                            float correction = (float) Math.exp(m - s);
                            l *= correction;
                            for (int x = 0; x < HS; x++) acc[x] *= correction;
                            m = s;
                        }
                        float e = (float) Math.exp(s - m);
                        l += e;
                        float w = dropout ? e * factor(seed, offset, rowIndex + j, p, keep) : e;
                        for (int x = 0; x < HS; x++) acc[x] += w * v[(int) (base + (long) j * HS + x)];
                    }
                }
                float inv = 1f / l;
                for (int x = 0; x < HS; x++) out[(int) (base + (long) i * HS + x)] = acc[x] * inv;
                lse[bh * T + i] = m + (float) Math.log(l);
            }
        }
    }

    /** attention_backward_dot, then the kv kernel (thread = key j) and the q kernel (thread = query i). */
    static void backward(Dims d, float[] dout, float[] q, float[] k, float[] v, float[] mask, float[] out, float[] lse,
                         float[] dq, float[] dk, float[] dv, float scale, boolean dropout, float p, float keep, long seed, long offset) {
        int T = d.t, HS = d.hs, rows = d.b * d.nh * T;
        float[] dd = new float[rows];
        for (int r = 0; r < rows; r++) {
            float acc = 0;
            for (int x = 0; x < HS; x++) acc += dout[r * HS + x] * out[r * HS + x];
            dd[r] = acc;
        }
        for (int bh = 0; bh < d.b * d.nh; bh++) {
            int b = bh / d.nh, base = bh * T * HS;
            for (int j = 0; j < T; j++) {
                float[] dkj = new float[HS], dvj = new float[HS];
                for (int i = 0; i < T; i++) {
                    float s = 0, dpt = 0;
                    for (int x = 0; x < HS; x++) {
                        s += q[base + i * HS + x] * k[base + j * HS + x];
                        dpt += dout[base + i * HS + x] * v[base + j * HS + x];
                    }
                    float pij = (float) Math.exp(s * scale + mask[b * T + j] - lse[bh * T + i]);
                    float f = dropout ? factor(seed, offset, ((long) bh * T + i) * T + j, p, keep) : 1f;
                    float ds = pij * (dpt * f - dd[bh * T + i]) * scale;
                    float w = pij * f;
                    for (int x = 0; x < HS; x++) {
                        dvj[x] += w * dout[base + i * HS + x];
                        dkj[x] += ds * q[base + i * HS + x];
                    }
                }
                System.arraycopy(dkj, 0, dk, base + j * HS, HS);
                System.arraycopy(dvj, 0, dv, base + j * HS, HS);
            }
            for (int i = 0; i < T; i++) {
                float[] dqi = new float[HS];
                for (int j = 0; j < T; j++) {
                    float s = 0, dpt = 0;
                    for (int x = 0; x < HS; x++) {
                        s += q[base + i * HS + x] * k[base + j * HS + x];
                        dpt += dout[base + i * HS + x] * v[base + j * HS + x];
                    }
                    float pij = (float) Math.exp(s * scale + mask[b * T + j] - lse[bh * T + i]);
                    float f = dropout ? factor(seed, offset, ((long) bh * T + i) * T + j, p, keep) : 1f;
                    float ds = pij * (dpt * f - dd[bh * T + i]) * scale;
                    for (int x = 0; x < HS; x++) dqi[x] += ds * k[base + j * HS + x];
                }
                System.arraycopy(dqi, 0, dq, base + i * HS, HS);
            }
        }
    }

    static float[] randn(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    static void assertCloseScaled(float[] expected, float[] actual, double rtol, String what) {
        double scale = 0;
        for (float e : expected) scale = Math.max(scale, Math.abs(e));
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Math.abs(expected[i] - actual[i]) <= rtol * scale,
                    what + " at " + i + ": cpu " + expected[i] + " flash " + actual[i] + " (scale " + scale + ")");
        }
    }

    @Test
    void kernelAlgorithmMatchesTheCpuBackendWithMaskAndDropout() {
        CpuBackend cpu = new CpuBackend(2);
        Random r = new Random(8);
        for (double dropoutP : new double[] {0.0, 0.2}) {
            for (int t : new int[] {1, 17, 40}) {
                Dims d = new Dims(2, 2, t, 16);
                int n = d.b * d.nh * t * d.hs;
                float[] q = randn(r, n), k = randn(r, n), v = randn(r, n), dout = randn(r, n), mask = new float[d.b * t];
                for (int j = Math.max(1, t - 5); j < t; j++) mask[t + j] = -10000f; // second sequence padded
                float scale = (float) (1 / Math.sqrt(d.hs));
                long seed = 1234, offset = 9;
                float p = (float) dropoutP, keep = (float) (1 / (1 - dropoutP));
                boolean drop = dropoutP > 0;
                float[] out = new float[n], lse = new float[d.b * d.nh * t];
                forward(d, q, k, v, mask, out, lse, scale, drop, p, keep, seed, offset);
                Tensor tq = Tensor.of(cpu, q, d.b, d.nh, t, d.hs), tk = Tensor.of(cpu, k, d.b, d.nh, t, d.hs);
                Tensor tv = Tensor.of(cpu, v, d.b, d.nh, t, d.hs), tm = Tensor.of(cpu, mask, d.b, t);
                Backend.AttentionOut ref = cpu.attention(tq, tk, tv, tm, scale, dropoutP, seed, offset);
                String what = "T=" + t + " p=" + dropoutP;
                assertCloseScaled(ref.out().toFloatArray(), out, 1e-5, what + " out");
                assertCloseScaled(ref.logSumExp().toFloatArray(), lse, 1e-6, what + " lse");

                float[] dq = new float[n], dk = new float[n], dv = new float[n];
                backward(d, dout, q, k, v, mask, out, lse, dq, dk, dv, scale, drop, p, keep, seed, offset);
                Backend.AttentionGrads g = cpu.attentionBackward(Tensor.of(cpu, dout, d.b, d.nh, t, d.hs), tq, tk, tv, tm, ref,
                        scale, dropoutP, seed, offset);
                assertCloseScaled(g.dq().toFloatArray(), dq, 1e-5, what + " dq");
                assertCloseScaled(g.dk().toFloatArray(), dk, 1e-5, what + " dk");
                assertCloseScaled(g.dv().toFloatArray(), dv, 1e-5, what + " dv");
            }
        }
    }
}
