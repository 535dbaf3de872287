package dev.bertft.tensor;

import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attention over BF16/F16 q, k, v against a float64 loop over the same rounded inputs that rounds
 * exactly where autocast does (the probabilities before P·V; dO, P̃ and dS before the backward's
 * products). The float32 path can round a probability to the neighbouring half-precision value
 * where the float64 one does not, so each output may differ by one ulp of the format per term:
 * the bound is ulp·Σ_j |P̃_ij||v_j| + 1e-5·Σ_j |P̃_ij||v_j| with ulp 2⁻⁷ (BF16, 8 significant bits)
 * or 2⁻¹⁰ (F16, 11), and for each gradient ‖err‖/‖ref‖ ≤ 2·ulp.
 */
class HalfAttentionTest {
    private static final CpuBackend CPU = new CpuBackend(2);
    private final Random random = new Random(9);
    private static final int B = 2, NH = 2, T = 13, HS = 16;

    private Tensor randn(DType h, int... shape) {
        float[] f = new float[Tensor.numel(shape)];
        for (int i = 0; i < f.length; i++) f[i] = (float) random.nextGaussian();
        return CPU.fromHost(f, DType.F32, shape).cast(h);
    }

    private static double round(double x, DType h) {
        return h == DType.BF16 ? Float16.bf16ToFloat(Float16.floatToBf16((float) x)) : Float16.f16ToFloat(Float16.floatToF16((float) x));
    }

    @Test
    void forwardAndBackwardMatchAFloat64LoopOverTheSameRoundedInputs() {
        for (DType h : new DType[] {DType.BF16, DType.F16}) {
            double ulp = h == DType.BF16 ? 0x1p-7 : 0x1p-10;
            Tensor q = randn(h, B, NH, T, HS), k = randn(h, B, NH, T, HS), v = randn(h, B, NH, T, HS);
            float[] maskData = new float[B * T];
            for (int j = T - 3; j < T; j++) maskData[T + j] = -3.4028235e38f;   // the second sequence has 3 padding tokens
            Tensor mask = CPU.fromHost(maskData, DType.F32, B, T);
            double scale = 1 / Math.sqrt(HS), p = 0.1;
            long seed = 17, offset = 4;
            Tensor dOut = randn(DType.F32, B, NH, T, HS);
            Backend.AttentionOut out = CPU.attention(q, k, v, mask, scale, p, seed, offset);
            Backend.AttentionGrads grads = CPU.attentionBackward(dOut, q, k, v, mask, out, scale, p, seed, offset);
            assertEquals(DType.F32, out.out().dtype());
            assertEquals(DType.F32, grads.dq().dtype());

            double[] qd = q.toDoubleArray(), kd = k.toDoubleArray(), vd = v.toDoubleArray(), gd = dOut.toDoubleArray();
            double[] drop = CPU.dropoutMask(DType.F64, new int[] {B, NH, T, T}, p, seed, offset).toDoubleArray();
            double[] o = out.out().toDoubleArray(), dq = grads.dq().toDoubleArray(), dk = grads.dk().toDoubleArray(), dv = grads.dv().toDoubleArray();
            double[] rdq = new double[qd.length], rdk = new double[qd.length], rdv = new double[qd.length];
            for (int bh = 0; bh < B * NH; bh++) {
                int b = bh / NH, base = bh * T * HS;
                double[][] probs = new double[T][T], dropped = new double[T][T];
                for (int i = 0; i < T; i++) {
                    double max = Double.NEGATIVE_INFINITY;
                    double[] s = new double[T];
                    for (int j = 0; j < T; j++) {
                        for (int d = 0; d < HS; d++) s[j] += qd[base + i * HS + d] * kd[base + j * HS + d];
                        s[j] = s[j] * scale + maskData[b * T + j];
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < T; j++) sum += Math.exp(s[j] - max);
                    for (int j = 0; j < T; j++) {
                        probs[i][j] = Math.exp(s[j] - max) / sum;
                        dropped[i][j] = probs[i][j] * drop[(bh * T + i) * T + j];
                    }
                    for (int d = 0; d < HS; d++) {
                        double want = 0, magnitude = 0;
                        for (int j = 0; j < T; j++) {
                            want += round(dropped[i][j], h) * vd[base + j * HS + d];
                            magnitude += Math.abs(dropped[i][j] * vd[base + j * HS + d]);
                        }
                        double got = o[base + i * HS + d], bound = (ulp + 1e-5) * magnitude + 1e-30;
                        assertTrue(Math.abs(got - want) <= bound, h + " out " + bh + "," + i + "," + d + ": " + got + " vs " + want + " (bound " + bound + ")");
                    }
                }
                for (int i = 0; i < T; i++) {
                    double[] dp = new double[T];
                    double dot = 0;
                    for (int j = 0; j < T; j++) {
                        for (int d = 0; d < HS; d++) dp[j] += round(gd[base + i * HS + d], h) * vd[base + j * HS + d];
                        dp[j] *= drop[(bh * T + i) * T + j];
                        dot += probs[i][j] * dp[j];
                    }
                    for (int j = 0; j < T; j++) {
                        double ds = round(probs[i][j] * (dp[j] - dot) * scale, h), pt = round(dropped[i][j], h);
                        for (int d = 0; d < HS; d++) {
                            rdq[base + i * HS + d] += ds * kd[base + j * HS + d];
                            rdk[base + j * HS + d] += ds * qd[base + i * HS + d];
                            rdv[base + j * HS + d] += pt * round(gd[base + i * HS + d], h);
                        }
                    }
                }
            }
            assertRelative(rdq, dq, 2 * ulp, h + " dq");
            assertRelative(rdk, dk, 2 * ulp, h + " dk");
            assertRelative(rdv, dv, 2 * ulp, h + " dv");
        }
    }

    private static void assertRelative(double[] want, double[] got, double bound, String what) {
        double err = 0, norm = 0;
        for (int i = 0; i < want.length; i++) {
            err += (got[i] - want[i]) * (got[i] - want[i]);
            norm += want[i] * want[i];
        }
        double rel = Math.sqrt(err / norm);
        assertTrue(rel <= bound, what + ": relative error " + rel + " over " + bound);
    }
}
