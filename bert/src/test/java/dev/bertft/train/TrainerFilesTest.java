package dev.bertft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The files a transformers user reads after a run: all_results.json, the final log entry, trainer_state.json. */
class TrainerFilesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static List<String> keys(JsonNode o) {
        List<String> out = new ArrayList<>();
        o.fieldNames().forEachRemaining(out::add);
        return out;
    }

    private static JsonNode read(Path file) throws IOException {
        return JSON.readTree(file.toFile());
    }

    /** Early stopping ends a 3-epoch run at step 15 of 10 a epoch: every file says epoch 1.5, as HF's do. */
    @Test
    void anEarlyStoppedRunReportsTheEpochItReached(@TempDir Path out) throws IOException {
        TrainingArgs a = TrainerTest.args(out).learningRate(0).saveStrategy(TrainingArgs.Strategy.STEPS).saveSteps(5)
                .evalStrategy(TrainingArgs.Strategy.STEPS).evalSteps(5).metricForBestModel("accuracy")
                .earlyStoppingPatience(2).build();
        TrainerTest.trainer(TrainerTest.model(0), a, TrainerTest.data(80, 6, false), TrainerTest.data(20, 7, false),
                new Trainer.Listener() {}).train(null);

        JsonNode all = read(out.resolve("all_results.json"));
        assertEquals(List.of("epoch", "eval_accuracy", "eval_f1", "eval_loss", "eval_runtime", "eval_samples",
                "eval_samples_per_second", "eval_steps_per_second", "total_flos", "train_loss", "train_runtime", "train_samples",
                "train_samples_per_second", "train_steps_per_second"), keys(all), "save_metrics' keys, sorted");
        assertEquals(1.5, all.get("epoch").asDouble(), 0);
        assertEquals(80, all.get("train_samples").asInt());
        assertEquals(20, all.get("eval_samples").asInt());

        JsonNode state = read(out.resolve("trainer_state.json"));
        assertEquals(1.5, state.get("epoch").asDouble(), 0);
        // lr 0: the first evaluation (step 5) stays the best; steps 10 and 15 fail to improve it
        assertEquals(5, state.get("best_global_step").asInt());
        JsonNode early = state.get("stateful_callbacks").get("EarlyStoppingCallback");
        assertEquals(2, early.get("args").get("early_stopping_patience").asInt());
        assertEquals(0.0, early.get("args").get("early_stopping_threshold").asDouble(), 0);
        assertEquals(2, early.get("attributes").get("early_stopping_patience_counter").asInt());
        assertTrue(state.get("stateful_callbacks").get("TrainerControl").get("args").get("should_training_stop").asBoolean(),
                "stopped by early stopping");
    }

    /** The last log entry carries train_loss, the mean of every update's loss, in HF's key order. */
    @Test
    void theFinalLogEntryHasTheMeanTrainingLoss(@TempDir Path out) throws IOException {
        List<Double> losses = new ArrayList<>();
        TrainingArgs a = TrainerTest.args(out).epochs(2).saveStrategy(TrainingArgs.Strategy.NO).build();
        TrainerTest.trainer(TrainerTest.model(0.1), a, TrainerTest.data(56, 9, false), TrainerTest.data(16, 10, false),
                new Trainer.Listener() {
                    @Override
                    public void onStep(long step, long max, double epoch, double loss, double lr, double sps) {
                        losses.add(loss);
                    }
                }).train(null);
        assertEquals(14, losses.size(), "56 examples / batch 8, 2 epochs");
        double mean = losses.stream().mapToDouble(Double::doubleValue).sum() / losses.size();

        JsonNode history = read(out.resolve("trainer_state.json")).get("log_history");
        JsonNode last = history.get(history.size() - 1);
        assertEquals(List.of("train_runtime", "train_samples_per_second", "train_steps_per_second", "total_flos", "train_loss",
                "epoch", "step"), keys(last));
        assertEquals(mean, last.get("train_loss").asDouble(), 1e-12 * mean);
        assertEquals(mean, read(out.resolve("all_results.json")).get("train_loss").asDouble(), 1e-12 * mean);
        List<String> lines = Files.readAllLines(out.resolve("logs/log.jsonl"));
        assertTrue(lines.stream().anyMatch(l -> l.contains("\"train_loss\"")), "log.jsonl has the summary entry");
        try (var files = Files.list(out.resolve("logs"))) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().contains("tfevents")), "no TensorBoard unless asked for");
        }
    }

    /**
     * Each checkpoint's trainer_state.json names the step of the best evaluation so far (read back from its own log
     * history), records the control as it was while saving, and holds no EarlyStoppingCallback nobody asked for.
     */
    @Test
    void checkpointsRecordTheBestStepAndTheControlAtSaveTime(@TempDir Path out) throws IOException {
        TrainingArgs a = TrainerTest.args(out).epochs(2).saveStrategy(TrainingArgs.Strategy.STEPS).saveSteps(5)
                .evalStrategy(TrainingArgs.Strategy.STEPS).evalSteps(5).metricForBestModel("accuracy").build();
        TrainerTest.trainer(TrainerTest.model(0), a, TrainerTest.data(80, 11, false), TrainerTest.data(40, 12, false),
                new Trainer.Listener() {}).train(null);

        for (int step = 5; step <= 20; step += 5) {
            JsonNode state = read(out.resolve("checkpoint-" + step).resolve("trainer_state.json"));
            long best = -1;
            double bestAccuracy = Double.NEGATIVE_INFINITY;
            for (JsonNode e : state.get("log_history")) {
                if (e.has("eval_accuracy") && e.get("eval_accuracy").asDouble() > bestAccuracy) {
                    bestAccuracy = e.get("eval_accuracy").asDouble();
                    best = e.get("step").asLong();
                }
            }
            assertEquals(best, state.get("best_global_step").asLong(), "checkpoint-" + step);
            assertEquals(bestAccuracy, state.get("best_metric").asDouble(), 0);
            assertTrue(state.get("best_model_checkpoint").asText().endsWith("checkpoint-" + best));

            JsonNode callbacks = state.get("stateful_callbacks");
            assertEquals(List.of("TrainerControl"), keys(callbacks), "no early stopping was asked for");
            JsonNode control = callbacks.get("TrainerControl").get("args");
            assertEquals(List.of("should_epoch_stop", "should_evaluate", "should_log", "should_save", "should_training_stop"),
                    keys(control));
            assertTrue(control.get("should_save").asBoolean(), "saving");
            assertFalse(control.get("should_log").asBoolean(), "logged before saving");
            assertFalse(control.get("should_evaluate").asBoolean(), "evaluated before saving");
            assertFalse(control.get("should_epoch_stop").asBoolean());
            assertEquals(step == 20, control.get("should_training_stop").asBoolean(), "the last step ends training");
            assertTrue(callbacks.get("TrainerControl").get("attributes").isEmpty());
        }
        JsonNode control = read(out.resolve("trainer_state.json")).get("stateful_callbacks").get("TrainerControl").get("args");
        for (Iterator<String> it = control.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            assertEquals(k.equals("should_training_stop"), control.get(k).asBoolean(), "after training: " + k);
        }
    }
}
