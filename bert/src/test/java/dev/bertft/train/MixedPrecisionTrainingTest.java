package dev.bertft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.autograd.Precision;
import dev.bertft.autograd.Var;
import dev.bertft.bert.BertConfig;
import dev.bertft.bert.BertForSequenceClassification;
import dev.bertft.nn.AdamW;
import dev.bertft.nn.GradScaler;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Training at bf16 and fp16 (autocast, float32 master weights, fp16 with the GradScaler) next to
 * float32 training of the same model on the same batches and dropout masks: a tiny BERT and a
 * MiniLM-shaped one (hidden 384, 12 heads, 2 layers), 50 steps each. On the CPU backend, which
 * computes autocast's rounded products exactly as the rules say (float32 sums of the rounded
 * operands): what differs from the GPU is only the order of the float32 sums.
 */
class MixedPrecisionTrainingTest {
    private static final Path TINY = Path.of("src", "test", "resources", "bert", "tiny");
    private static final Backend CPU = new CpuBackend(2);
    private static final int STEPS = 50;

    private static BertForSequenceClassification tinyBert(Precision p) throws IOException {
        BertForSequenceClassification m = BertForSequenceClassification.fromPretrained(TINY, CPU, BertForSequenceClassification.LoadOptions.seed(42));
        m.setPrecision(p);
        return m;
    }

    private static BertForSequenceClassification miniLmShaped(Precision p) {
        ObjectNode j = JsonNodeFactory.instance.objectNode();
        Map.of("hidden_size", 384, "num_hidden_layers", 2, "num_attention_heads", 12, "intermediate_size", 1536, "vocab_size", 100,
                "max_position_embeddings", 64).forEach(j::put);
        ObjectNode labels = j.putObject("id2label");
        labels.put("0", "a");
        labels.put("1", "b");
        labels.put("2", "c");
        BertForSequenceClassification m = BertForSequenceClassification.init(BertConfig.fromJson(j), CPU, 42);
        m.setPrecision(p);
        return m;
    }

    private static List<Double> losses(BertForSequenceClassification model, Path out, double lr) throws IOException {
        return losses(model, CPU, out, lr, STEPS, 64);
    }

    /** Each step's training loss over {@code steps} updates of batch 8 on {@code examples} examples, saving nothing. */
    static List<Double> losses(BertForSequenceClassification model, Backend on, Path out, double lr, int steps, int examples) throws IOException {
        TrainingArgs args = TrainerTest.args(out).maxSteps(steps).learningRate(lr).saveStrategy(TrainingArgs.Strategy.NO)
                .evalStrategy(TrainingArgs.Strategy.NO).loggingSteps(1000).build();
        List<Double> losses = new ArrayList<>();
        new Trainer(model, args, on, TrainerTest.data(examples, 4, false), List.of(), 0, 3, new Trainer.Listener() {
            @Override
            public void onStep(long step, long max, double epoch, double loss, double lr, double sps) {
                losses.add(loss);
            }
        }).train(null);
        return losses;
    }

    /**
     * Both precisions stay within 0.02 of the float32 loss (about ln 3 ≈ 1.1 at the start) at every
     * step, and learn as it does (the mean of the last 10 losses at least a third below the first
     * 10's). Measured 2026-12-02, largest differences (the test prints them): tiny 0.0043 (bf16)
     * and 0.0006 (fp16), MiniLM-shaped 0.0003 and 0.00004; BF16 keeps 8 significant bits to F16's 11.
     */
    private static void assertTracksFloat32(String what, List<Double> fp32, List<Double> half) {
        assertEquals(STEPS, half.size(), what);
        double worst = 0;
        for (int s = 0; s < STEPS; s++) {
            double diff = Math.abs(half.get(s) - fp32.get(s));
            worst = Math.max(worst, diff);
            assertTrue(diff <= 0.02, what + " step " + (s + 1) + ": " + half.get(s) + " vs float32 " + fp32.get(s));
        }
        System.out.printf("%s: largest |loss - float32 loss| over %d steps %.5f%n", what, STEPS, worst);
        double first = fp32.subList(0, 10).stream().mapToDouble(d -> d).average().orElseThrow();
        double last = half.subList(STEPS - 10, STEPS).stream().mapToDouble(d -> d).average().orElseThrow();
        // a sanity check that the run is not flat, whatever the dropout stream: the loss falls by a fifth or more
        assertTrue(last < first * 0.8, what + " learns: first 10 steps " + first + ", last 10 " + last);
    }

    @Test
    void tinyBertAtBf16AndFp16TracksFloat32(@TempDir Path out) throws IOException {
        List<Double> fp32 = losses(tinyBert(Precision.FP32), out.resolve("fp32"), 1e-3);
        assertTracksFloat32("tiny bf16", fp32, losses(tinyBert(Precision.BF16), out.resolve("bf16"), 1e-3));
        assertTracksFloat32("tiny fp16", fp32, losses(tinyBert(Precision.FP16), out.resolve("fp16"), 1e-3));
    }

    @Test
    void miniLmShapedAtBf16AndFp16TracksFloat32(@TempDir Path out) throws IOException {
        List<Double> fp32 = losses(miniLmShaped(Precision.FP32), out.resolve("fp32"), 1e-4);
        assertTracksFloat32("MiniLM-shaped bf16", fp32, losses(miniLmShaped(Precision.BF16), out.resolve("bf16"), 1e-4));
        assertTracksFloat32("MiniLM-shaped fp16", fp32, losses(miniLmShaped(Precision.FP16), out.resolve("fp16"), 1e-4));
    }

    /**
     * A loss scale so large that the scaled gradients overflow float32: the step is skipped (weights,
     * AdamW moments and step count untouched), the scale halves and the growth count restarts, as
     * torch.cuda.amp.GradScaler.update does; the next, clean step updates.
     */
    @Test
    void anOverflowSkipsTheUpdateAndBacksOff() throws IOException {
        BertForSequenceClassification model = tinyBert(Precision.FP16);
        AdamW optimizer = new AdamW(AdamW.decayGroups(model.trainableParameters(), 0.01), 0.9, 0.999, 1e-8);
        UpdateStep step = new UpdateStep(model, optimizer, 1.0, CPU);
        List<Batches.Tokenized> data = TrainerTest.data(8, 3, false);
        int[] all = {0, 1, 2, 3, 4, 5, 6, 7};
        step.scaler().restore(new GradScaler.State(0x1p120, 7));
        Map<String, float[]> before = weights(model);
        UpdateStep.Outcome skipped = step.run(1, b -> Batches.collate(data, all, CPU, 0), 1e-3);
        assertTrue(skipped.overflowed(), "gradient norm " + skipped.gradNorm());
        assertEquals(0x1p120, skipped.lossScale());
        assertEquals(new GradScaler.State(0x1p119, 0), step.scaler().state());
        assertEquals(0, optimizer.stepCount());
        weights(model).forEach((name, w) -> assertArrayEquals(before.get(name), w, name));

        step.scaler().restore(new GradScaler.State(GradScaler.INITIAL_SCALE, 0));
        UpdateStep.Outcome clean = step.run(1, b -> Batches.collate(data, all, CPU, 0), 1e-3);
        assertTrue(clean.finite() && !clean.overflowed());
        assertEquals(1, optimizer.stepCount());
        assertEquals(new GradScaler.State(GradScaler.INITIAL_SCALE, 1), step.scaler().state());
    }

    /**
     * The schedule holds on a step the scaler skipped, as HF's Trainer holds it (no lr_scheduler.step() when
     * optimizer_step_was_skipped). A 6-step run at 1e-3 with 4 warmup steps, saved every 2 steps, is stopped after
     * step 3; its checkpoint-2's scale set to 2¹⁰⁰⁰ (the scaled float32 loss is inf, so every step overflows) and
     * resumed: steps 3 to 5 are skipped and the rate stays lr(2) = 1e-3 × 2/4, and checkpoint-4 keeps the scheduler
     * at step 2 (last_epoch). That checkpoint's scale set back to 2¹⁶ and resumed again: steps 5 and 6 update at
     * lr(2) and lr(3), and the rates after them are lr(3) = 7.5e-4 and lr(4) = 1e-3 (advancing with the global
     * step, they would be 5e-4 and 0).
     */
    @Test
    void theScheduleHoldsOnAStepTheScalerSkipped(@TempDir Path out) throws IOException {
        List<Batches.Tokenized> train = TrainerTest.data(48, 4, false);
        TrainingArgs args = TrainerTest.args(out).maxSteps(6).warmupSteps(4).learningRate(1e-3).saveStrategy(TrainingArgs.Strategy.STEPS)
                .saveSteps(2).evalStrategy(TrainingArgs.Strategy.NO).loggingSteps(1).build();
        trainFp16(args, train, null, 3, new LinkedHashMap<>());
        setLossScale(out.resolve("checkpoint-2"), 0x1p1000);
        Map<Long, Double> overflowing = new LinkedHashMap<>();
        trainFp16(args, train, out.resolve("checkpoint-2"), 5, overflowing);
        assertEquals(Map.of(3L, 5e-4, 4L, 5e-4, 5L, 5e-4), overflowing);
        JsonNode sched = TrainerState.JSON.readTree(out.resolve("checkpoint-4").resolve(Checkpoint.SCHEDULER_FILE).toFile());
        assertEquals(2, sched.get("last_epoch").asLong());
        assertEquals(5e-4, sched.get("last_lr").get(0).asDouble());

        setLossScale(out.resolve("checkpoint-4"), GradScaler.INITIAL_SCALE);
        Map<Long, Double> clean = new LinkedHashMap<>();
        trainFp16(args, train, out.resolve("checkpoint-4"), -1, clean);
        assertEquals(Map.of(5L, 7.5e-4, 6L, 1e-3), clean);
        List<Double> logged = new ArrayList<>();
        TrainerState.JSON.readTree(out.resolve(Checkpoints.STATE_FILE).toFile()).get("log_history").forEach(e -> {
            if (e.has("learning_rate")) logged.add(e.get("learning_rate").asDouble());
        });
        assertEquals(List.of(2.5e-4, 5e-4, 5e-4, 5e-4, 7.5e-4, 1e-3), logged, "learning_rate as the log history keeps it");
    }

    /**
     * Puts into {@code rates} each step's rate after it (the one HF logs) of an fp16 run from {@code resume}, stopped
     * after step {@code stopAfter} (-1: run to the end).
     */
    private static void trainFp16(TrainingArgs args, List<Batches.Tokenized> train, Path resume, long stopAfter, Map<Long, Double> rates)
            throws IOException {
        RuntimeException stop = new RuntimeException("stopped");
        try {
            new Trainer(tinyBert(Precision.FP16), args, CPU, train, List.of(), 0, 3, new Trainer.Listener() {
                @Override
                public void onStep(long step, long max, double epoch, double loss, double lr, double sps) {
                    rates.put(step, lr);
                    if (step == stopAfter) throw stop;
                }
            }).train(resume);
        } catch (RuntimeException e) {
            assertSame(stop, e);
        }
    }

    private static void setLossScale(Path checkpoint, double scale) throws IOException {
        ObjectNode o = (ObjectNode) TrainerState.JSON.readTree(checkpoint.resolve(LossScaleFile.NAME).toFile());
        o.put("scale", scale);
        Files.write(checkpoint.resolve(LossScaleFile.NAME), TrainerState.JSON.writeValueAsBytes(o));
    }

    private static Map<String, float[]> weights(BertForSequenceClassification model) {
        Map<String, float[]> w = new LinkedHashMap<>();
        for (Map.Entry<String, Var> e : model.namedParameters().entrySet()) w.put(e.getKey(), e.getValue().value().toFloatArray());
        return w;
    }

    /** An fp16 run killed after step 6 and resumed from checkpoint-4 ends with the bits of the run that went through; checkpoints carry the scaler. */
    @Test
    void resumingAnFp16RunIsBitExact(@TempDir Path out) throws IOException {
        List<Batches.Tokenized> train = TrainerTest.data(32, 4, false);
        TrainingArgs.Builder a = TrainerTest.args(out).epochs(3).learningRate(1e-3).saveStrategy(TrainingArgs.Strategy.STEPS).saveSteps(4)
                .evalStrategy(TrainingArgs.Strategy.NO).loggingSteps(2);
        BertForSequenceClassification through = tinyBert(Precision.FP16);
        new Trainer(through, a.outputDir(out.resolve("through")).build(), CPU, train, List.of(), 0, 3, new Trainer.Listener() {}).train(null);

        Path killed = out.resolve("killed");
        RuntimeException kill = new RuntimeException("killed");
        assertSame(kill, assertThrows(RuntimeException.class, () -> new Trainer(tinyBert(Precision.FP16), a.outputDir(killed).build(), CPU,
                train, List.of(), 0, 3, new Trainer.Listener() {
                    @Override
                    public void onStep(long step, long max, double epoch, double loss, double lr, double sps) {
                        if (step == 6) throw kill;
                    }
                }).train(null)));
        JsonNode scaler = TrainerState.JSON.readTree(killed.resolve("checkpoint-4").resolve(LossScaleFile.NAME).toFile());
        assertEquals(GradScaler.INITIAL_SCALE, scaler.get("scale").asDouble());
        assertEquals(4, scaler.get("growth_tracker").asInt());
        BertForSequenceClassification resumed = tinyBert(Precision.FP16);
        new Trainer(resumed, a.outputDir(killed).build(), CPU, train, List.of(), 0, 3, new Trainer.Listener() {})
                .train(killed.resolve("checkpoint-4"));
        weights(through).forEach((name, w) -> assertArrayEquals(w, weights(resumed).get(name), name));
        assertArrayEquals(Files.readAllBytes(out.resolve("through/model.safetensors")), Files.readAllBytes(killed.resolve("model.safetensors")));
        JsonNode log = TrainerState.JSON.readTree(killed.resolve(Checkpoints.STATE_FILE).toFile()).get("log_history");
        assertEquals(GradScaler.INITIAL_SCALE, log.get(0).get("loss_scale").asDouble(), "the scale is logged");
    }
}
