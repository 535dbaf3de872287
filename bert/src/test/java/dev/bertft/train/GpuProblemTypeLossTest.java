package dev.bertft.train;

import dev.bertft.autograd.Var;
import dev.bertft.classifier.ProblemType;
import dev.bertft.cuda.CudaBackend;
import dev.bertft.cuda.CudaUnavailableException;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Each problem type's loss and its gradient on the CUDA backend against the CPU's: the losses are
 * compositions of existing backend ops, so this checks that they compose there too (a rank-0
 * upstream gradient broadcast over [B, C], |x| and tanh far in the tails).
 */
class GpuProblemTypeLossTest {
    private static final Backend CPU = new CpuBackend(2);

    /** The backend under test: the GPU here, our kernels on the CPU emulator in {@link EmulatedProblemTypeLossTest}. */
    CudaBackend gpu() {
        try {
            return CudaBackend.open(0);
        } catch (CudaUnavailableException e) {
            assumeTrue(false, "GPU loss parity skipped, no usable GPU: " + e.getMessage());
            throw e;
        }
    }

    @Test
    void everyProblemTypesLossAndGradientMatchTheCpu() {
        CudaBackend gpu = gpu();
        SplittableRandom r = new SplittableRandom(5);
        int b = 7, c = 5;
        float[] logits = new float[b * c], multiHot = new float[b * c], scores = new float[b];
        int[] classes = new int[b];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) (r.nextGaussian() * 4);
            multiHot[i] = r.nextBoolean() ? 1 : 0;
        }
        logits[3] = 80;
        logits[4] = -80;
        for (int i = 0; i < b; i++) {
            scores[i] = (float) r.nextGaussian();
            classes[i] = r.nextInt(c);
        }
        classes[2] = ProblemType.IGNORE_INDEX;
        check(gpu, ProblemType.SINGLE_LABEL_CLASSIFICATION, logits, new int[] {b, c}, on -> Tensor.of(on, classes, b), 0);
        check(gpu, ProblemType.SINGLE_LABEL_CLASSIFICATION, logits, new int[] {b, c}, on -> Tensor.of(on, classes, b), 0.1);
        check(gpu, ProblemType.MULTI_LABEL_CLASSIFICATION, logits, new int[] {b, c}, on -> Tensor.of(on, multiHot, b, c), 0);
        float[] column = java.util.Arrays.copyOf(logits, b);
        check(gpu, ProblemType.REGRESSION, column, new int[] {b, 1}, on -> Tensor.of(on, scores, b, 1), 0);
    }

    private static void check(Backend gpu, ProblemType type, float[] logits, int[] shape,
                              java.util.function.Function<Backend, Tensor> labels, double labelSmoothing) {
        double[] lossAndGrad = new double[2];
        float[][] grads = new float[2][];
        Backend[] backends = {CPU, gpu};
        for (int k = 0; k < 2; k++) {
            Var x = Var.parameter(Tensor.of(backends[k], logits, shape));
            Var loss = type.loss(x, labels.apply(backends[k]), labelSmoothing);
            loss.backward();
            lossAndGrad[k] = loss.value().item();
            grads[k] = x.grad().toFloatArray();
        }
        assertEquals(lossAndGrad[0], lossAndGrad[1], 1e-5 * Math.abs(lossAndGrad[0]), type + " loss, label smoothing " + labelSmoothing);
        for (int i = 0; i < grads[0].length; i++) {
            assertEquals(grads[0][i], grads[1][i], 1e-6 + 1e-5 * Math.abs(grads[0][i]), type + " gradient [" + i + "]");
        }
    }
}
