package dev.bertft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.autograd.Var;
import dev.bertft.nn.Module;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The Trainer's mechanics on a tiny model: learning, accumulation, checkpoints, resume, early stopping, NaN. */
class TrainerTest {
    private static final CpuBackend CPU = new CpuBackend(2);
    private static final int VOCAB = 40, PAD = 0;

    /** Label 1 when most tokens come from the upper half of the vocabulary. */
    static List<Batches.Tokenized> data(int n, long seed, boolean fixedLength) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Batches.Tokenized> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int label = r.nextInt(2);
            int len = fixedLength ? 8 : 3 + r.nextInt(12);
            int[] ids = new int[len];
            for (int t = 0; t < len; t++) {
                boolean upper = r.nextDouble() < (label == 1 ? 0.8 : 0.2);
                ids[t] = upper ? 20 + r.nextInt(20) : 1 + r.nextInt(19);
            }
            out.add(new Batches.Tokenized(ids, new int[len], label));
        }
        return out;
    }

    static TrainingArgs.Builder args(Path out) {
        return TrainingArgs.builder().outputDir(out).loggingDir(out.resolve("logs")).epochs(3).batchSize(8).evalBatchSize(16)
                .learningRate(0.05).warmupSteps(5).weightDecay(0.01).seed(42).loggingSteps(5)
                .evalStrategy(TrainingArgs.Strategy.EPOCH).saveStrategy(TrainingArgs.Strategy.EPOCH);
    }

    static Trainer trainer(TinyClassifier model, TrainingArgs a, List<Batches.Tokenized> train, List<Batches.Tokenized> eval,
                           Trainer.Listener listener) {
        return new Trainer(model, a, CPU, train, eval, PAD, 2, listener);
    }

    static TinyClassifier model(double dropout) {
        return new TinyClassifier(CPU, VOCAB, 16, 2, 7, dropout);
    }

    @Test
    void learnsTheTaskAndWritesHfStyleOutputs(@TempDir Path out) throws IOException {
        TinyClassifier m = model(0.1);
        Trainer.Result r = trainer(m, args(out).build(), data(240, 1, false), data(100, 2, false), new Trainer.Listener() {}).train(null);
        assertTrue(r.finalEval().get("accuracy") > 0.9, "accuracy " + r.finalEval().get("accuracy"));
        // 240 examples / batch 8 = 30 updates per epoch, 3 epochs
        assertEquals(90, r.state().globalStep);
        JsonNode state = new ObjectMapper().readTree(out.resolve("checkpoint-90/trainer_state.json").toFile());
        assertEquals(90, state.get("global_step").asInt());
        JsonNode first = state.get("log_history").get(0);
        assertEquals(5, first.get("step").asInt());
        for (String k : List.of("loss", "grad_norm", "learning_rate", "epoch")) assertTrue(first.has(k), k);
        // lr logged after 5 warmup steps is the peak
        assertEquals(0.05, first.get("learning_rate").asDouble(), 1e-12);
        long evals = 0;
        for (JsonNode e : state.get("log_history")) if (e.has("eval_accuracy")) evals++;
        assertEquals(3, evals);
        for (String f : List.of("model.safetensors", "optimizer.safetensors", "scheduler.json", "rng_state.json", "trainer_state.json")) {
            assertTrue(Files.isRegularFile(out.resolve("checkpoint-30").resolve(f)), f);
        }
        assertTrue(Files.isRegularFile(out.resolve("model.safetensors")));
        JsonNode all = new ObjectMapper().readTree(out.resolve("all_results.json").toFile());
        assertEquals(r.finalEval().get("accuracy"), all.get("eval_accuracy").asDouble(), 0);
        assertTrue(all.get("train_runtime").asDouble() > 0);
        // save_metrics' split files: each split's keys, with its sample count; all_results.json is their union
        JsonNode trainResults = new ObjectMapper().readTree(out.resolve("train_results.json").toFile());
        JsonNode evalResults = new ObjectMapper().readTree(out.resolve("eval_results.json").toFile());
        assertEquals(240, trainResults.get("train_samples").asInt());
        assertEquals(100, evalResults.get("eval_samples").asInt());
        assertFalse(trainResults.has("eval_loss") || evalResults.has("train_loss") || trainResults.has("step"), trainResults.toString());
        assertEquals(3.0, evalResults.get("epoch").asDouble());
        ObjectNode union = trainResults.deepCopy();
        union.setAll((ObjectNode) evalResults);
        assertEquals(union, all);
        List<String> lines = Files.readAllLines(out.resolve("logs/log.jsonl"));
        assertEquals(state.get("log_history").size() + 1, lines.size(), "every log entry plus the final eval");
        byte[] png = Files.readAllBytes(out.resolve("logs/training.png"));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
    }

    @Test
    void gradientAccumulationMatchesOneLargeBatch(@TempDir Path out) throws IOException {
        List<Batches.Tokenized> train = data(64, 3, true);
        TinyClassifier big = model(0), small = model(0);
        trainer(big, args(out.resolve("a")).batchSize(16).shuffle(false).epochs(2).evalStrategy(TrainingArgs.Strategy.NO)
                .saveStrategy(TrainingArgs.Strategy.NO).build(), train, List.of(), new Trainer.Listener() {}).train(null);
        trainer(small, args(out.resolve("b")).batchSize(4).gradAccumSteps(4).shuffle(false).epochs(2)
                .evalStrategy(TrainingArgs.Strategy.NO).saveStrategy(TrainingArgs.Strategy.NO).build(), train, List.of(),
                new Trainer.Listener() {}).train(null);
        // HF's FLOP estimate: 6 × non-embedding parameters (the 16→2 head) × input tokens (64 × 8, 2 epochs)
        assertEquals(16 * 2 + 2, Module.nonEmbeddingParameterCount(big));
        for (String run : List.of("a", "b")) {
            JsonNode state = new ObjectMapper().readTree(out.resolve(run).resolve("trainer_state.json").toFile());
            assertEquals(6.0 * (16 * 2 + 2) * 64 * 8 * 2, state.get("total_flos").asDouble(), 0, run);
        }
        Map<String, Var> a = big.namedParameters(), b = small.namedParameters();
        for (String name : a.keySet()) {
            float[] x = a.get(name).value().toFloatArray(), y = b.get(name).value().toFloatArray();
            for (int i = 0; i < x.length; i++) assertEquals(x[i], y[i], 1e-5 * (1 + Math.abs(x[i])), name + "[" + i + "]");
        }
    }

    /** A run killed after a checkpoint and resumed ends with exactly the weights of a run that went through. */
    @Test
    void resumeIsExact(@TempDir Path out) throws IOException {
        List<Batches.Tokenized> train = data(100, 4, false), eval = data(30, 5, false);
        TrainingArgs.Builder a = args(out).saveStrategy(TrainingArgs.Strategy.STEPS).saveSteps(7)
                .evalStrategy(TrainingArgs.Strategy.STEPS).evalSteps(7).groupByLength(true);
        TinyClassifier through = model(0.2);
        trainer(through, a.outputDir(out.resolve("through")).build(), train, eval, new Trainer.Listener() {}).train(null);

        Path killed = out.resolve("killed");
        RuntimeException kill = new RuntimeException("killed");
        TinyClassifier first = model(0.2);
        RuntimeException thrown = assertThrows(RuntimeException.class, () -> trainer(first, a.outputDir(killed).build(), train, eval,
                new Trainer.Listener() {
                    @Override
                    public void onStep(long step, long max, double epoch, double loss, double lr, double sps) {
                        if (step == 18) throw kill;
                    }
                }).train(null));
        assertSame(kill, thrown);
        Path latest = Checkpoints.latest(killed).orElseThrow();
        assertEquals("checkpoint-14", latest.getFileName().toString());
        TinyClassifier resumed = model(0.2);
        Trainer.Result r = trainer(resumed, a.outputDir(killed).build(), train, eval, new Trainer.Listener() {}).train(latest);
        assertEquals(39, r.state().globalStep);
        assertEquals(39 - 14, r.stepsRun());
        JsonNode throughState = new ObjectMapper().readTree(out.resolve("through/trainer_state.json").toFile());
        JsonNode resumedState = new ObjectMapper().readTree(killed.resolve("trainer_state.json").toFile());
        assertEquals(throughState.get("total_flos").asDouble(), resumedState.get("total_flos").asDouble(), 0);
        assertEquals(throughState.get("best_global_step"), resumedState.get("best_global_step"), "read back from the checkpoint");
        for (Map.Entry<String, Var> e : through.namedParameters().entrySet()) {
            assertArrayEquals(e.getValue().value().toFloatArray(), resumed.namedParameters().get(e.getKey()).value().toFloatArray(),
                    e.getKey());
        }
        assertArrayEquals(Files.readAllBytes(out.resolve("through/model.safetensors")), Files.readAllBytes(killed.resolve("model.safetensors")));
    }

    /**
     * reduce_lr_on_plateau halves the rate after each evaluation whose loss is not under a tenth of the best
     * (patience 0, threshold 0.9), as the logged rates show against that rule worked from the logged losses;
     * a run killed after a checkpoint resumes with the rate where it was and ends with the same weights.
     */
    @Test
    void reduceLrOnPlateauFollowsTheEvaluationsAndResumesExactly(@TempDir Path out) throws IOException {
        List<Batches.Tokenized> train = data(100, 4, false), eval = data(30, 5, false);
        TrainingArgs.Builder a = args(out).saveStrategy(TrainingArgs.Strategy.STEPS).saveSteps(7)
                .evalStrategy(TrainingArgs.Strategy.STEPS).evalSteps(7)
                .lrSchedulerType(dev.bertft.nn.LearningRateSchedule.Kind.REDUCE_LR_ON_PLATEAU)
                .lrSchedulerKwargs("{\"patience\": 0, \"factor\": 0.5, \"threshold\": 0.9}");
        TinyClassifier through = model(0.2);
        Trainer.Result full = trainer(through, a.outputDir(out.resolve("through")).build(), train, eval, new Trainer.Listener() {})
                .train(null);
        double rate = 0.05, best = Double.POSITIVE_INFINITY;
        List<long[]> reductions = new ArrayList<>();   // {eval step} after which the rate halved
        List<double[]> rateAfterEval = new ArrayList<>();
        int logged = 0;
        for (JsonNode e : full.state().logHistory) {
            long step = e.get("step").asLong();
            if (e.has("learning_rate")) {
                double want = 0.05;
                for (double[] r : rateAfterEval) if (r[0] < step) want = r[1];
                assertEquals(want, e.get("learning_rate").asDouble(), 1e-15, "rate logged at step " + step);
                logged++;
            }
            if (e.has("eval_loss")) {
                double loss = e.get("eval_loss").asDouble();
                if (loss < best * (1 - 0.9)) best = loss;
                else {
                    rate *= 0.5;
                    reductions.add(new long[] {step});
                }
                rateAfterEval.add(new double[] {step, rate});
            }
        }
        assertTrue(reductions.size() >= 2 && logged >= 7, "the run reduced the rate " + reductions.size() + " times");

        Path killed = out.resolve("killed");
        RuntimeException kill = new RuntimeException("killed");
        assertSame(kill, assertThrows(RuntimeException.class, () -> trainer(model(0.2), a.outputDir(killed).build(), train, eval,
                new Trainer.Listener() {
                    @Override
                    public void onStep(long step, long max, double epoch, double loss, double lr, double sps) {
                        if (step == 18) throw kill;
                    }
                }).train(null)));
        Path latest = Checkpoints.latest(killed).orElseThrow();
        JsonNode saved = new ObjectMapper().readTree(latest.resolve("scheduler.json").toFile()).get("plateau");
        assertEquals(2, saved.get("evaluations").asInt(), saved.toString());
        TinyClassifier resumed = model(0.2);
        trainer(resumed, a.outputDir(killed).build(), train, eval, new Trainer.Listener() {}).train(latest);
        for (Map.Entry<String, Var> e : through.namedParameters().entrySet()) {
            assertArrayEquals(e.getValue().value().toFloatArray(), resumed.namedParameters().get(e.getKey()).value().toFloatArray(),
                    e.getKey());
        }
    }

    @Test
    void saveTotalLimitKeepsTheBestAndEarlyStoppingStops(@TempDir Path out) throws IOException {
        // lr 0 after the first evaluation never improves: patience 2 stops after the third evaluation
        TrainingArgs a = args(out).learningRate(0).saveStrategy(TrainingArgs.Strategy.STEPS).saveSteps(5)
                .evalStrategy(TrainingArgs.Strategy.STEPS).evalSteps(5).saveTotalLimit(1).loadBestModelAtEnd(true)
                .metricForBestModel("accuracy").earlyStoppingPatience(2).build();
        Trainer.Result r = trainer(model(0), a, data(80, 6, false), data(20, 7, false), new Trainer.Listener() {}).train(null);
        assertEquals(15, r.state().globalStep, "stopped after three evaluations");
        List<Path> left = Checkpoints.list(out);
        assertEquals(List.of(out.resolve("checkpoint-5"), out.resolve("checkpoint-15")), left, "best (first) and newest kept");
        assertEquals(out.resolve("checkpoint-5").toString(), r.state().bestModelCheckpoint);
    }

    /** save_strategy best: a checkpoint at each evaluation whose loss is below every earlier one, and only there. */
    @Test
    void saveStrategyBestSavesAtEachNewBest(@TempDir Path out) throws IOException {
        TrainingArgs a = args(out).learningRate(0.2).evalStrategy(TrainingArgs.Strategy.STEPS).evalSteps(3)
                .saveStrategy(TrainingArgs.Strategy.BEST).loadBestModelAtEnd(true).build();
        Trainer.Result r = trainer(model(0), a, data(80, 6, false), data(20, 7, false), new Trainer.Listener() {}).train(null);
        List<Path> newBests = new ArrayList<>();
        double lowest = Double.POSITIVE_INFINITY;
        int evaluations = 0;
        for (JsonNode e : r.state().logHistory) {
            if (e.has("train_runtime")) break;   // the evaluations in training, not the final one of the best model
            if (!e.has("eval_loss")) continue;
            evaluations++;
            if (e.get("eval_loss").asDouble() < lowest) {
                lowest = e.get("eval_loss").asDouble();
                newBests.add(out.resolve("checkpoint-" + e.get("step").asLong()));
            }
        }
        assertEquals(10, evaluations, "an evaluation every 3 of 30 updates");
        assertTrue(newBests.size() > 1 && newBests.size() < evaluations, "the loss both improved and failed to: " + newBests);
        assertEquals(newBests, Checkpoints.list(out));
        assertEquals(newBests.get(newBests.size() - 1).toString(), r.state().bestModelCheckpoint);

        assertThrows(HyperparameterException.class, () -> args(out).evalStrategy(TrainingArgs.Strategy.NO)
                .saveStrategy(TrainingArgs.Strategy.BEST).build(), "best needs evaluations");
        assertThrows(HyperparameterException.class, () -> args(out).evalStrategy(TrainingArgs.Strategy.BEST).build(),
                "best is a save strategy only");
    }

    @Test
    void earlyStoppingThresholdAndEvalOnStartAsHfCountsThem(@TempDir Path out) throws IOException {
        // A learning run whose loss cannot fall by 1,000: the evaluations after the first count as no improvement, so
        // patience 2 stops at the third (step 15). The evaluation before the first update is logged but counts for
        // nothing (with it counted, the run would stop at step 10); the best is still the lowest loss seen.
        TrainingArgs a = args(out).evalStrategy(TrainingArgs.Strategy.STEPS).evalSteps(5).saveStrategy(TrainingArgs.Strategy.NO)
                .earlyStoppingPatience(2).earlyStoppingThreshold(1000).evalOnStart(true).build();
        Trainer.Result r = trainer(model(0), a, data(80, 6, false), data(20, 7, false), new Trainer.Listener() {}).train(null);
        assertEquals(15, r.state().globalStep, "stopped after the third evaluation of the run");
        List<Long> evalSteps = new ArrayList<>();
        double lowest = Double.POSITIVE_INFINITY;
        for (JsonNode e : r.state().logHistory) {
            if (!e.has("eval_loss")) continue;
            evalSteps.add(e.get("step").asLong());
            if (e.get("step").asLong() > 0) lowest = Math.min(lowest, e.get("eval_loss").asDouble());
        }
        assertEquals(List.of(0L, 5L, 10L, 15L), evalSteps);
        assertEquals(lowest, r.state().bestMetric(), 0, "the best metric ignores the threshold");
    }

    @Test
    void loggingByEpochAndTheFirstStep(@TempDir Path out) throws IOException {
        // 80 examples / batch 8 = 10 updates an epoch, 3 epochs
        TrainingArgs a = args(out).loggingStrategy(TrainingArgs.Strategy.EPOCH).loggingFirstStep(true)
                .evalStrategy(TrainingArgs.Strategy.NO).saveStrategy(TrainingArgs.Strategy.NO).build();
        Trainer.Result r = trainer(model(0), a, data(80, 6, false), List.of(), new Trainer.Listener() {}).train(null);
        List<Long> logged = new ArrayList<>();
        for (JsonNode e : r.state().logHistory) if (e.has("loss")) logged.add(e.get("step").asLong());
        assertEquals(List.of(1L, 10L, 20L, 30L), logged);
        a = args(out.resolve("quiet")).loggingStrategy(TrainingArgs.Strategy.NO).evalStrategy(TrainingArgs.Strategy.NO)
                .saveStrategy(TrainingArgs.Strategy.NO).build();
        r = trainer(model(0), a, data(80, 6, false), List.of(), new Trainer.Listener() {}).train(null);
        for (JsonNode e : r.state().logHistory) assertFalse(e.has("loss"), e.toString());
    }

    @Test
    void dropLastAndEvalDelayAsHfTimesThem(@TempDir Path out) throws IOException {
        // 84 examples in batches of 8: 10 full batches and one of 4, which drop_last leaves out: 10 updates an epoch, not 11
        TrainingArgs a = args(out).epochs(2).dataloaderDropLast(true).evalStrategy(TrainingArgs.Strategy.STEPS).evalSteps(4)
                .evalDelay(9).saveStrategy(TrainingArgs.Strategy.NO).build();
        List<Long> evalSteps = new ArrayList<>();
        Trainer.Result r = trainer(model(0), a, data(84, 6, false), data(20, 7, false), new Trainer.Listener() {}).train(null);
        assertEquals(20, r.state().globalStep);
        assertEquals(84 / 8 * 8 * 2, r.trainSamples(), "each epoch's 4 examples left over are never seen");
        for (JsonNode e : r.state().logHistory) {
            if (e.has("eval_loss") && e.get("step").asLong() < 20) evalSteps.add(e.get("step").asLong());
        }
        assertEquals(List.of(12L, 16L), evalSteps, "every 4 updates, none before update 9");
        TrainingArgs few = args(out.resolve("few")).dataloaderDropLast(true).build();
        var e = assertThrows(HyperparameterException.class,
                () -> trainer(model(0), few, data(5, 6, false), List.of(), new Trainer.Listener() {}).train(null));
        assertEquals("dropping the last batch leaves no batch: 5 training examples, batches of 8", e.getMessage());
    }

    @Test
    void saveOnlyModelLeavesOutWhatOnlyAResumeReadsAndResumingSaysSo(@TempDir Path out) throws IOException {
        TrainingArgs a = args(out).saveOnlyModel(true).saveStrategy(TrainingArgs.Strategy.STEPS).saveSteps(5)
                .evalStrategy(TrainingArgs.Strategy.NO).build();
        trainer(model(0), a, data(40, 6, false), List.of(), new Trainer.Listener() {}).train(null);
        Path checkpoint = out.resolve("checkpoint-5");
        for (String kept : List.of("model.safetensors", "trainer_state.json")) {
            assertTrue(Files.isRegularFile(checkpoint.resolve(kept)), kept);
        }
        for (String left : List.of("optimizer.safetensors", "scheduler.json", "rng_state.json")) {
            assertFalse(Files.exists(checkpoint.resolve(left)), left);
        }
        IOException e = assertThrows(IOException.class,
                () -> trainer(model(0), a, data(40, 6, false), List.of(), new Trainer.Listener() {}).train(checkpoint));
        assertEquals(checkpoint + ": saved with save_only_model (no optimizer, schedule or random state), so a run cannot resume from it; "
                + "its model folder loads as any other", e.getMessage());
        TinyClassifier loaded = model(0);
        loaded.loadWeights(checkpoint);
    }

    /**
     * The classifier's weight turned to NaN once update 3 is read: update 4 was queued before that (the Trainer
     * queues the next update before it reads an outcome), so it is update 5 that is not finite. The run stops
     * there; checkpoint-2, saved before, holds finite weights and loads again.
     */
    @Test
    void nonFiniteLossStopsWithoutTouchingSavedCheckpoints(@TempDir Path out) throws IOException {
        List<Batches.Tokenized> train = data(40, 8, false);
        TrainingArgs a = args(out).saveStrategy(TrainingArgs.Strategy.STEPS).saveSteps(2).evalStrategy(TrainingArgs.Strategy.NO).build();
        TinyClassifier m = model(0);
        Trainer t = trainer(m, a, train, List.of(), new Trainer.Listener() {
            @Override
            public void onStep(long step, long max, double epoch, double loss, double lr, double sps) {
                if (step == 3) m.namedParameters().get("classifier.weight").setValue(
                        CPU.full(dev.bertft.tensor.DType.F32, m.namedParameters().get("classifier.weight").shape(), Double.NaN));
            }
        });
        Trainer.NonFiniteLossException e = assertThrows(Trainer.NonFiniteLossException.class, () -> t.train(null));
        assertTrue(e.getMessage().contains("step 5"), e.getMessage());
        assertEquals(List.of(out.resolve("checkpoint-2"), out.resolve("checkpoint-4")), Checkpoints.list(out));
        TinyClassifier again = model(0);
        again.loadWeights(out.resolve("checkpoint-2"));
        for (float v : again.namedParameters().get("classifier.weight").value().toFloatArray()) assertTrue(Float.isFinite(v));
    }
}
