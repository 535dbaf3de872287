package dev.bertft.train;

import dev.bertft.autograd.Precision;
import dev.bertft.bert.BertForSequenceClassification;
import dev.bertft.cuda.CudaBackend;
import dev.bertft.cuda.KernelEmulator;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * bf16 and fp16 training of the tiny BERT on the CUDA backend, every kernel run from its CUDA
 * source on the CPU emulator (the half GEMM, the producers' half copies, the BF16/F16 attention
 * kernels, the GradScaler's unscale): its losses follow the CPU backend's, which computes the
 * same autocast rules with its own float32 sums, within 0.01 over 6 steps: a float32 sum taken in
 * another order can round to the neighbouring BF16 operand (2⁻⁸ apart), and the kernels round the
 * attention's unnormalised probabilities, so the two backends drift as bf16 and float32 do
 * (measured: 0.0021 at step 5 for bf16). Nothing of this has run on a GPU yet.
 */
class EmulatedMixedPrecisionTest {
    private static final Path TINY = Path.of("src", "test", "resources", "bert", "tiny");

    private static List<Double> losses(Backend on, Precision precision, Path out) throws IOException {
        BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(TINY, on, BertForSequenceClassification.LoadOptions.seed(42));
        model.setPrecision(precision);
        return MixedPrecisionTrainingTest.losses(model, on, out, 1e-3, 6, 48);
    }

    @Test
    void bf16AndFp16OnTheEmulatedGpuFollowTheCpu(@TempDir Path out) throws IOException {
        CudaBackend gpu = KernelEmulator.backend();
        Backend cpu = new CpuBackend(2);
        for (Precision p : new Precision[] {Precision.BF16, Precision.FP16}) {
            List<Double> onGpu = losses(gpu, p, out.resolve("gpu-" + p)), onCpu = losses(cpu, p, out.resolve("cpu-" + p));
            assertEquals(6, onGpu.size());
            for (int s = 0; s < onGpu.size(); s++) {
                assertTrue(Math.abs(onGpu.get(s) - onCpu.get(s)) <= 0.01, p + " step " + (s + 1) + ": GPU " + onGpu.get(s) + ", CPU " + onCpu.get(s));
            }
        }
    }
}
