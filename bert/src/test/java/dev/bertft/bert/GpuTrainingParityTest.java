package dev.bertft.bert;

import dev.bertft.autograd.Precision;
import dev.bertft.autograd.Var;
import dev.bertft.cuda.CudaBackend;
import dev.bertft.cuda.CudaUnavailableException;
import dev.bertft.nn.AdamW;
import dev.bertft.nn.GradClip;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.bertft.bert.Fixtures.assertClose;
import static dev.bertft.bert.Fixtures.assertCloseToScale;
import static dev.bertft.bert.Fixtures.doubles;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Training on the GPU against training on the CPU, whole models: the tiny fixture BERT and the
 * real all-MiniLM-L6-v2 (or a model of its shape named by -Dbertft.parity.model), logits, loss and every gradient of one step, then ten AdamW steps with
 * dropout on (both devices draw the same Philox masks). The GPU multiplies in TF32 (10-bit
 * mantissa), so tolerances are those of TF32 products summed through the layers, not float32's.
 * Skipped, with the reason, where no usable GPU is present.
 */
class GpuTrainingParityTest {
    private static final Backend CPU = new CpuBackend(2);

    /** The backend under test: the GPU here, our kernels on the CPU emulator in {@link EmulatedTrainingParityTest}. */
    CudaBackend gpu() {
        try {
            return CudaBackend.open(0);
        } catch (CudaUnavailableException e) {
            assumeTrue(false, "GPU training parity skipped, no usable GPU: " + e.getMessage());
            throw e;
        }
    }

    /** What one step leaves behind on one device, copied to the host. */
    private record Step(double[] logits, double loss, Map<String, double[]> grads) {}

    private static Step step(BertForSequenceClassification model, Backend on, Tensor[] batch) {
        Tensor ids = batch[0].to(on), types = batch[1].to(on), mask = batch[2].to(on), labels = batch[3].to(on);
        Var logits = model.logits(ids, types, mask);
        Var loss = model.loss(logits, labels);
        loss.backward();
        Map<String, double[]> grads = new LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> grads.put(name, doubles(p.grad())));
        return new Step(doubles(logits.value()), loss.value().item(), grads);
    }

    private static void assertSameStep(Step cpu, Step gpu, double logitTol, double gradTol) {
        assertClose("logits", cpu.logits, gpu.logits, logitTol, logitTol);
        assertClose("loss", new double[] {cpu.loss}, new double[] {gpu.loss}, logitTol, logitTol);
        assertEquals(cpu.grads.keySet(), gpu.grads.keySet());
        // Some gradients are zero in exact arithmetic (a key bias shifts a whole row of scores,
        // which softmax ignores) and come out as rounding noise of the terms that cancel: about
        // TF32's unit roundoff, 2^-11, times the model's gradient scale. Hence the absolute floor.
        double modelScale = cpu.grads.values().stream().flatMapToDouble(Arrays::stream).map(Math::abs).max().orElse(0);
        cpu.grads.forEach((name, g) -> assertCloseToScale("grad of " + name, g, gpu.grads.get(name), gradTol, 1e-3 * modelScale));
    }

    /** A batch of seeded random token ids with some padding: ids, type ids, mask, labels (all on the CPU). */
    private static Tensor[] randomBatch(int batch, int t, int vocab, int labels, long seed) {
        java.util.Random r = new java.util.Random(seed);
        int[] ids = new int[batch * t], types = new int[batch * t], mask = new int[batch * t], y = new int[batch];
        for (int b = 0; b < batch; b++) {
            int len = t - r.nextInt(t / 2);
            for (int i = 0; i < t; i++) {
                boolean real = i < len;
                ids[b * t + i] = real ? 1 + r.nextInt(vocab - 1) : 0;
                types[b * t + i] = real && i >= len / 2 ? 1 : 0;
                mask[b * t + i] = real ? 1 : 0;
            }
            y[b] = r.nextInt(labels);
        }
        return new Tensor[] {Tensor.of(CPU, ids, batch, t), Tensor.of(CPU, types, batch, t), Tensor.of(CPU, mask, batch, t),
                Tensor.of(CPU, y, batch)};
    }

    /**
     * The tiny BERT has 4 heads of 8 features, whose attention is composed of plain ops; with its
     * weights read as 2 heads of 16 the fused attention kernels run instead.
     */
    private static Map<String, String> heads(int heads, boolean dropout) {
        Map<String, String> config = new LinkedHashMap<>();
        config.put("num_attention_heads", Integer.toString(heads));
        if (!dropout) {
            config.put("hidden_dropout_prob", "0");
            config.put("attention_probs_dropout_prob", "0");
        }
        return config;
    }

    @ParameterizedTest(name = "{0} heads")
    @ValueSource(ints = {4, 2})
    void tinyBertStepMatchesTheCpu(int heads) throws IOException {
        CudaBackend gpu = gpu();
        var options = new BertForSequenceClassification.LoadOptions(null, null, 1, heads(heads, false));
        BertForSequenceClassification cpuModel = BertForSequenceClassification.fromPretrained(Fixtures.tinyModel(), CPU, options);
        Tensor[] batch = randomBatch(4, 16, cpuModel.config().vocabSize(), cpuModel.config().numLabels(), 7);
        Step onCpu = step(cpuModel, CPU, batch);
        Step onGpu = step(BertForSequenceClassification.fromPretrained(Fixtures.tinyModel(), gpu, options), gpu, batch);
        // TF32 products whose operands the tensor cores truncate (gemm.cu): twice round-to-nearest's
        // per-operand error and biased toward zero, so the layers' errors add up: 0.0046 seen on
        // the emulator at logits of 0.06 and 0.6 (within 2e-3 while the kernel rounded)
        assertSameStep(onCpu, onGpu, 6e-3, 1e-2);
    }

    @ParameterizedTest(name = "{0} heads")
    @ValueSource(ints = {4, 2})
    void tinyBertTenUpdatesWithDropoutMatchTheCpu(int heads) throws IOException {
        CudaBackend gpu = gpu();
        var options = new BertForSequenceClassification.LoadOptions(null, null, 42, heads(heads, true));
        BertForSequenceClassification cpuModel = BertForSequenceClassification.fromPretrained(Fixtures.tinyModel(), CPU, options);
        BertForSequenceClassification gpuModel = BertForSequenceClassification.fromPretrained(Fixtures.tinyModel(), gpu, options);
        List<Tensor[]> batches = new ArrayList<>();
        for (int s = 0; s < 10; s++) batches.add(randomBatch(4, 16, cpuModel.config().vocabSize(), cpuModel.config().numLabels(), 200 + s));
        assertClose("losses of 10 training steps", train(cpuModel, CPU, batches), train(gpuModel, gpu, batches), 1e-2, 1e-3);
    }

    /**
     * Gradient checkpointing on the device: each layer recomputed in the backward pass, with dropout, gives the step
     * that keeps its activations bit for bit, each in a memory scope (a tensor the recomputation freed too early fails);
     * under bf16 and fp16 autocast too, which the recomputation runs under as the forward did.
     */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Precision.class, names = {"FP32", "BF16", "FP16"})
    void recomputedLayersGiveTheStepOfKeptOnes(Precision precision) throws IOException {
        CudaBackend gpu = gpu();
        var options = new BertForSequenceClassification.LoadOptions(null, null, 42, heads(2, true));
        BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(Fixtures.tinyModel(), gpu, options);
        model.setPrecision(precision);
        model.setTraining(true);
        Tensor[] batch = randomBatch(4, 16, model.config().vocabSize(), model.config().numLabels(), 9);
        long start = model.rng().offset();
        Step kept = scopedStep(model, gpu, batch);
        model.rng().seek(start);
        model.setGradientCheckpointing(true);
        Step recomputed = scopedStep(model, gpu, batch);
        assertEquals(kept.loss, recomputed.loss, 0, "loss");
        assertClose("logits", kept.logits, recomputed.logits, 0, 0);
        kept.grads.forEach((name, g) -> assertClose("grad of " + name, g, recomputed.grads.get(name), 0, 0));
    }

    /** {@link #step} in a memory scope, as the Trainer runs it, the gradients cleared after. */
    private static Step scopedStep(BertForSequenceClassification model, Backend on, Tensor[] batch) {
        Step s;
        try (Backend.Scope scope = on.openScope()) {
            s = step(model, on, batch);
        }
        model.namedParameters().values().forEach(p -> p.base().zeroGrad());
        return s;
    }

    @Test
    void miniLmStepAndTenUpdatesMatchTheCpu() throws IOException {
        CudaBackend gpu = gpu();
        // the GPU machine has no ../shared: gpu-check.sh makes a MiniLM-shaped model there and names it
        String given = System.getProperty("bertft.parity.model");
        Path dir = given != null ? Path.of(given) : Fixtures.sharedModel("all-MiniLM-L6-v2");
        assumeTrue(dir != null, "../shared/models/all-MiniLM-L6-v2 is not present: skipping the MiniLM GPU parity check");
        var options = BertForSequenceClassification.LoadOptions.seed(42);
        BertForSequenceClassification cpuModel = BertForSequenceClassification.fromPretrained(dir, CPU, options);
        BertForSequenceClassification gpuModel = BertForSequenceClassification.fromPretrained(dir, gpu, options);
        List<Tensor[]> batches = new ArrayList<>();
        for (int s = 0; s < 10; s++) batches.add(randomBatch(8, 64, cpuModel.config().vocabSize(), 2, 100 + s));

        // one step with dropout off: logits, loss, every gradient
        cpuModel.setTraining(false);
        gpuModel.setTraining(false);
        assertSameStep(step(cpuModel, CPU, batches.get(0)), step(gpuModel, gpu, batches.get(0)), 5e-3, 2e-2);

        // ten AdamW steps with dropout on: the same masks on both devices, so the losses track
        double[] cpuLosses = train(cpuModel, CPU, batches), gpuLosses = train(gpuModel, gpu, batches);
        assertClose("losses of 10 training steps", cpuLosses, gpuLosses, 1e-2, 1e-3);
    }

    private static double[] train(BertForSequenceClassification model, Backend on, List<Tensor[]> batches) {
        model.setTraining(true);
        AdamW optimizer = new AdamW(AdamW.decayGroups(model.trainableParameters(), 0.01), 0.9, 0.999, 1e-8);
        optimizer.zeroGrad();
        double[] losses = new double[batches.size()];
        for (int s = 0; s < batches.size(); s++) {
            Tensor[] b = batches.get(s);
            Var loss = model.loss(model.logits(b[0].to(on), b[1].to(on), b[2].to(on)), b[3].to(on));
            losses[s] = loss.value().item();
            loss.backward();
            GradClip.clipGradNorm(model.trainableParameters().values(), 1.0);
            optimizer.step(5e-5);
            optimizer.zeroGrad();
        }
        return losses;
    }
}
