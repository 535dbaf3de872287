package dev.bertft.cuda;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Inside a step of {@link CudaBackend#runStep} the fused attention kernels, float32 and BF16/F16
 * alike, take their dropout offset relative to the step's start, which they read from device
 * memory: run eagerly, captured and replayed, a step's attention (forward and all three input
 * gradients) draws the mask that the same call outside any step draws at the absolute offset.
 */
class EmulatedStepDropoutTest {
    private static final int B = 1, NH = 2, T = 20, HS = 16;
    private static final double P = 0.3, SCALE = 0.25;
    private static final long SEED = 7, START = 1_000_003, OFFSET = START + 40;

    @Test
    void attentionInsideAStepDrawsTheMaskOfItsAbsoluteOffset() {
        for (DType format : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            CudaBackend gpu = KernelEmulator.graphBackend(2);
            List<Tensor> inputs = inputs(gpu, format);
            float[] want = attentionAndGrads(inputs).toFloatArray();
            // the first run is eager, the second captured and launched, the third replayed
            for (int run = 0; run < 3; run++) {
                Backend.StepRun r = gpu.runStep("attention " + format, inputs, new Backend.StepValues(START, 0, 0),
                        EmulatedStepDropoutTest::attentionAndGrads);
                assertArrayEquals(want, r.output().toFloatArray(), format + " run " + run);
            }
        }
    }

    /** q, k, v [B, NH, T, HS] in {@code format}, the float32 key mask with the last three keys padding. */
    private static List<Tensor> inputs(CudaBackend gpu, DType format) {
        SplittableRandom r = new SplittableRandom(11);
        Tensor[] qkv = new Tensor[3];
        for (int i = 0; i < 3; i++) {
            float[] x = new float[B * NH * T * HS];
            for (int j = 0; j < x.length; j++) x[j] = (float) r.nextDouble(-1, 1);
            qkv[i] = gpu.fromHost(x, DType.F32, B, NH, T, HS).cast(format);
        }
        float[] mask = new float[B * T];
        for (int t = T - 3; t < T; t++) mask[t] = -Float.MAX_VALUE;
        return List.of(qkv[0], qkv[1], qkv[2], gpu.fromHost(mask, DType.F32, B, T));
    }

    /** out, dq, dk and dv of attention with dropout at {@link #OFFSET}, for an all-ones output gradient, as one float32 tensor. */
    private static Tensor attentionAndGrads(List<Tensor> in) {
        Tensor q = in.get(0), k = in.get(1), v = in.get(2), mask = in.get(3);
        Backend be = q.backend();
        Backend.AttentionOut out = be.attention(q, k, v, mask, SCALE, P, SEED, OFFSET);
        Backend.AttentionGrads d = be.attentionBackward(be.full(DType.F32, out.out().shape(), 1), q, k, v, mask, out, SCALE, P, SEED, OFFSET);
        return Tensor.concat(List.of(out.out(), d.dq().cast(DType.F32), d.dk().cast(DType.F32), d.dv().cast(DType.F32)), 0);
    }
}
