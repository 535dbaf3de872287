package dev.bertft.bert;

import dev.bertft.autograd.Precision;
import dev.bertft.autograd.Var;
import dev.bertft.cuda.KernelEmulator;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A bf16/fp16 checkpoint loaded for prediction at that precision keeps its Linear weights as stored
 * (the autocast products read them without a float32 copy), and predicts what the same checkpoint
 * widened to float32 on load predicts under the same autocast: the products round float32 weights to
 * the half type, which gives back the stored values exactly, so the logits agree to float32 rounding
 * of the sums. On the CPU backend and on the CUDA backend with its kernels run by the emulator.
 */
class HalfCheckpointPredictionTest {
    @TempDir
    Path tmp;

    /** A Linear's weight, the only parameters the products read: query/key/value, the dense layers, the classifier. */
    private static boolean isProductWeight(String name) {
        return name.endsWith(".weight") && !name.contains("LayerNorm") && !name.contains("embeddings");
    }

    private static Tensor[] batch(Backend on) {
        SplittableRandom r = new SplittableRandom(5);
        int b = 2, t = 8;
        int[] ids = new int[b * t], types = new int[b * t], mask = new int[b * t];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(50);
            types[i] = (i % t) < 4 ? 0 : 1;
            mask[i] = (i % t) < t - (i / t) * 3 ? 1 : 0;   // the second row padded by 3 tokens
        }
        return new Tensor[] {on.fromHost(ids, DType.I32, b, t), on.fromHost(types, DType.I32, b, t), on.fromHost(mask, DType.I32, b, t)};
    }

    private void halfWeightsPredictAsWidenedOnes(Backend on, Precision precision) throws IOException {
        DType half = precision.autocast();
        Path dir = tmp.resolve(on.name() + "-" + precision);
        BertForSequenceClassification.init(SaveDtypeTest.tiny(), new CpuBackend(1), 11).save(dir, half);

        BertForSequenceClassification kept = BertForSequenceClassification.forPrediction(dir, on,
                BertForSequenceClassification.LoadOptions.seed(0), precision);
        for (Map.Entry<String, Var> e : kept.namedParameters().entrySet()) {
            assertEquals(isProductWeight(e.getKey()) ? half : DType.F32, e.getValue().value().dtype(), e.getKey());
        }
        BertForSequenceClassification widened = BertForSequenceClassification.fromPretrained(dir, on,
                BertForSequenceClassification.LoadOptions.seed(0));
        widened.setPrecision(precision);
        widened.setTraining(false);

        Tensor[] in = batch(on);
        float[] got = kept.predictLogits(in[0], in[1], in[2]).toFloatArray();
        float[] want = widened.predictLogits(in[0], in[1], in[2]).toFloatArray();
        assertEquals(want.length, got.length);
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            // the same rounded operands on both sides: only float32 rounding of the sums may differ
            assertTrue(Math.abs(got[i] - want[i]) <= 1e-5 * Math.max(1, Math.abs(want[i])), on.name() + " " + precision + " logit " + i
                    + ": " + got[i] + " vs " + want[i]);
            worst = Math.max(worst, Math.abs(got[i] - want[i]));
        }
        System.out.printf("%s %s: largest |logit - widened logit| %.3g%n", on.name(), precision, worst);

        assertThrows(IllegalStateException.class, () -> kept.setTraining(true), "half weights cannot train");
        assertThrows(IllegalStateException.class, () -> kept.setPrecision(Precision.FP32), "nor compute float32 products");
    }

    @Test
    void bf16AndFp16CheckpointsKeepTheirLinearWeightsOnTheCpu() throws IOException {
        Backend cpu = new CpuBackend(2);
        halfWeightsPredictAsWidenedOnes(cpu, Precision.BF16);
        halfWeightsPredictAsWidenedOnes(cpu, Precision.FP16);
    }

    @Test
    void bf16CheckpointKeepsItsLinearWeightsOnTheEmulatedGpu() throws IOException {
        halfWeightsPredictAsWidenedOnes(KernelEmulator.backend(), Precision.BF16);
    }

    /**
     * A model held for prediction under autocast keeps its Linear weights in the products' type
     * whatever the checkpoint stored (a float32 one, or a bf16 one predicted at fp16: the weights
     * the products would read, cast once); a float32 prediction widens a half checkpoint's.
     */
    @Test
    void heldWeightsAreInTheTypeTheProductsRead() throws IOException {
        Path f32 = tmp.resolve("f32"), bf16 = tmp.resolve("bf16");
        BertForSequenceClassification model = BertForSequenceClassification.init(SaveDtypeTest.tiny(), new CpuBackend(1), 11);
        model.save(f32, DType.F32);
        model.save(bf16, DType.BF16);
        Backend cpu = new CpuBackend(1);
        BertForSequenceClassification.LoadOptions opts = BertForSequenceClassification.LoadOptions.seed(0);
        Map<Precision, BertForSequenceClassification> held = Map.of(
                Precision.BF16, BertForSequenceClassification.forPrediction(f32, cpu, opts, Precision.BF16),
                Precision.FP32, BertForSequenceClassification.forPrediction(bf16, cpu, opts, Precision.FP32),
                Precision.FP16, BertForSequenceClassification.forPrediction(bf16, cpu, opts, Precision.FP16));
        held.forEach((precision, m) -> m.namedParameters().forEach((name, p) -> assertEquals(
                isProductWeight(name) && precision.autocast() != null ? precision.autocast() : DType.F32, p.value().dtype(), precision + " " + name)));
    }

    /**
     * A float32 model held for bf16 prediction predicts the bits it predicted before, when its
     * products cast the float32 weights on every pass: autocast rounds them to the same values.
     */
    private void heldFloat32WeightsPredictTheSameBits(Backend on) throws IOException {
        Path dir = tmp.resolve(on.name() + "-f32");
        BertForSequenceClassification.init(SaveDtypeTest.tiny(), new CpuBackend(1), 11).save(dir, DType.F32);
        BertForSequenceClassification cast = BertForSequenceClassification.fromPretrained(dir, on, BertForSequenceClassification.LoadOptions.seed(0));
        cast.setPrecision(Precision.BF16);
        cast.setTraining(false);
        BertForSequenceClassification held = BertForSequenceClassification.forPrediction(dir, on,
                BertForSequenceClassification.LoadOptions.seed(0), Precision.BF16);
        Tensor[] in = batch(on);
        assertArrayEquals(cast.predictLogits(in[0], in[1], in[2]).toFloatArray(), held.predictLogits(in[0], in[1], in[2]).toFloatArray(),
                on.name() + ": logits with the weights held in bf16");
        assertThrows(IllegalStateException.class, () -> held.setTraining(true), "held weights cannot train");
        assertThrows(IllegalStateException.class, () -> held.save(tmp.resolve(on.name() + "-resaved")), "nor be saved as float32 weights");
    }

    @Test
    void heldFloat32WeightsPredictTheSameBitsOnTheCpuAndTheEmulatedGpu() throws IOException {
        heldFloat32WeightsPredictTheSameBits(new CpuBackend(2));
        heldFloat32WeightsPredictTheSameBits(KernelEmulator.backend());
    }
}
