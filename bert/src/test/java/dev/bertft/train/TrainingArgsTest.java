package dev.bertft.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bertft.nn.LearningRateSchedule;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The one declaration of the training settings: its defaults are the recipe the README documents, its
 * errors speak of the settings in words (the command line renames them, see CliFlagsTest), and its Hugging
 * Face names are TrainingArguments' own.
 */
class TrainingArgsTest {

    private static String error(TrainingArgs.Builder b) {
        return assertThrows(HyperparameterException.class, b::build).getMessage();
    }

    @Test
    void defaultsAreTheRecipeOfBertFtTrain() {
        TrainingArgs a = TrainingArgs.builder().build();
        // README: 3 epochs, batch 32, eval batch 64, warmup 500, weight decay 0.01, a log every 10 steps, lr 5e-5
        assertEquals(3.0, a.epochs());
        assertEquals(32, a.batchSize());
        assertEquals(64, a.evalBatchSize());
        assertEquals(500, a.warmupSteps());
        assertEquals(0.0, a.warmupRatio());
        assertEquals(0.01, a.weightDecay());
        assertEquals(10, a.loggingSteps());
        assertEquals(10, a.evalSteps(), "HF: eval_steps defaults to logging_steps");
        assertEquals(5e-5, a.learningRate());
        assertEquals(42, a.seed());
        assertEquals(Path.of("./results"), a.outputDir());
        assertTrue(a.loggingDir().startsWith(Path.of("./results", "runs")), "HF: output_dir/runs/<time>_<host>: " + a.loggingDir());
        assertEquals(List.of("none"), a.reportTo());
        assertEquals(LearningRateSchedule.Kind.LINEAR, a.lrSchedulerType(), "HF's default");
        assertEquals(Map.of(), a.lrSchedulerKwargs());
        assertEquals(0.0, a.labelSmoothingFactor());
    }

    @Test
    void aWarmupRatioAloneReplacesTheRecipesStepsAndStepsAboveZeroWin() {
        assertEquals(0, TrainingArgs.builder().warmupRatio(0.1).build().warmupSteps());
        TrainingArgs both = TrainingArgs.builder().warmupRatio(0.1).warmupSteps(7).build();
        assertEquals(7, both.warmupSteps());
        assertEquals(0.1, both.warmupRatio());
    }

    @Test
    void errorsNameTheSettingInWordsWithTheValue() {
        assertEquals("learning rate must be >= 0, got -1.0", error(TrainingArgs.builder().learningRate(-1)));
        assertEquals("batch size must be > 0, got 0", error(TrainingArgs.builder().batchSize(0)));
        assertEquals("warmup ratio must be in [0, 1], got 1.5", error(TrainingArgs.builder().warmupRatio(1.5)));
        assertEquals("evaluation strategy must be no, steps or epoch, got 'daily'", assertThrows(HyperparameterException.class,
                () -> TrainingArgs.EVAL_STRATEGY.parse("daily")).getMessage());
        assertEquals("number of epochs or maximum number of steps must be > 0", error(TrainingArgs.builder().epochs(0)));
        assertEquals("loading the best model at the end needs the same evaluation strategy and save strategy (not 'no'), or save strategy best",
                error(TrainingArgs.builder().loadBestModelAtEnd(true)));
        assertEquals("early stopping patience needs an evaluation strategy", error(TrainingArgs.builder().earlyStoppingPatience(2)));
        assertEquals("report to: 'wandb' is not supported; use one of none, all, tensorboard",
                error(TrainingArgs.builder().reportTo(List.of("wandb"))));

        assertEquals("label smoothing must be in [0, 1), got 1.0", error(TrainingArgs.builder().labelSmoothingFactor(1)));
        assertEquals("learning-rate schedule options cosine takes num_cycles, not lr_end",
                error(TrainingArgs.builder().lrSchedulerType(LearningRateSchedule.Kind.COSINE).lrSchedulerKwargs("{\"lr_end\": 0}")));
        assertEquals("learning-rate schedule options lr_end (1.0E-4) must be smaller than the learning rate (1.0E-4)", error(TrainingArgs
                .builder().lrSchedulerType(LearningRateSchedule.Kind.POLYNOMIAL).learningRate(1e-4).lrSchedulerKwargs("{\"lr_end\": 1e-4}")));
        assertEquals(Map.of("num_cycles", 2.0), TrainingArgs.builder().lrSchedulerType(LearningRateSchedule.Kind.COSINE_WITH_RESTARTS)
                .lrSchedulerKwargs("{\"num_cycles\": 2}").build().lrSchedulerKwargs());

        assertEquals(Map.of("num_decay_steps", 100.0, "decay_type", "linear"), TrainingArgs.builder()
                .lrSchedulerType(LearningRateSchedule.Kind.WARMUP_STABLE_DECAY)
                .lrSchedulerKwargs("{\"num_decay_steps\": 100, \"decay_type\": \"linear\"}").build().lrSchedulerKwargs());
        assertEquals("learning-rate schedule options warmup_stable_decay needs num_decay_steps",
                error(TrainingArgs.builder().lrSchedulerType(LearningRateSchedule.Kind.WARMUP_STABLE_DECAY)));
        assertEquals("learning-rate schedule options must be a JSON object of numbers and names, e.g. {\"num_cycles\": 2}, got "
                + "{\"num_cycles\": [2]}", error(TrainingArgs.builder().lrSchedulerKwargs("{\"num_cycles\": [2]}")));
        assertEquals("optimizer must be adamw_torch or adamw_torch_fused: the AdamW bert-ft runs, got sgd",
                error(TrainingArgs.builder().optim("sgd")));
        assertEquals("early stopping threshold must be >= 0, got -0.1", error(TrainingArgs.builder().earlyStoppingThreshold(-0.1)));
        TrainingArgs.Builder checkpointing = TrainingArgs.builder().gradientCheckpointing(true);
        assertEquals("gradient checkpointing options takes use_reentrant and preserve_rng_state, not debug",
                error(checkpointing.set(TrainingArgs.GRADIENT_CHECKPOINTING_KWARGS, "{\"debug\": true}")));
        assertEquals("gradient checkpointing options preserve_rng_state false: bert-ft always replays the forward's dropout masks",
                error(checkpointing.set(TrainingArgs.GRADIENT_CHECKPOINTING_KWARGS, "{\"preserve_rng_state\": false}")));
        assertEquals("gradient checkpointing options use_reentrant must be true or false",
                error(checkpointing.set(TrainingArgs.GRADIENT_CHECKPOINTING_KWARGS, "{\"use_reentrant\": 0}")));
        assertEquals("gradient checkpointing options needs gradient checkpointing", error(TrainingArgs.builder()
                .set(TrainingArgs.GRADIENT_CHECKPOINTING_KWARGS, "{\"use_reentrant\": false}")));

        HyperparameterException e = assertThrows(HyperparameterException.class, () -> TrainingArgs.builder().gradAccumSteps(0).build());
        assertEquals(List.of(TrainingArgs.GRAD_ACCUM_STEPS), e.subjects());
        assertEquals("--gradient_accumulation_steps must be > 0, got 0", e.message(p -> "--" + p.hfName()), "another caller's names");
    }

    @Test
    void hfNamesAreTrainingArgumentsOwnAndEachNamesOneSetting() {
        Set<String> ours = new HashSet<>(), hfs = new HashSet<>();
        for (Hyperparameter<?> p : TrainingArgs.HYPERPARAMETERS) {
            assertTrue(ours.add(p.name()), p.name());
            assertTrue(hfs.add(p.hfName()), p.hfName());
        }
        // transformers' TrainingArguments field names where ours differ
        assertEquals("per_device_train_batch_size", TrainingArgs.BATCH_SIZE.hfName());
        assertEquals("num_train_epochs", TrainingArgs.EPOCHS.hfName());
        assertEquals("gradient_accumulation_steps", TrainingArgs.GRAD_ACCUM_STEPS.hfName());
        Map<String, Object> hf = TrainingArgs.builder().learningRate(3e-4).evalStrategy(TrainingArgs.Strategy.EPOCH).build().hfValues();
        assertEquals(3e-4, hf.get("learning_rate"));
        assertEquals("epoch", hf.get("eval_strategy"));
        assertEquals("./results", hf.get("output_dir"));
        assertEquals(TrainingArgs.HYPERPARAMETERS.size(), hf.size());
        // lr_scheduler_kwargs as the dict transformers writes, not its text
        JsonNode kwargs = (JsonNode) TrainingArgs.builder().lrSchedulerType(LearningRateSchedule.Kind.COSINE)
                .lrSchedulerKwargs("{\"num_cycles\": 2}").build().hfValues().get("lr_scheduler_kwargs");
        assertTrue(kwargs.isObject() && kwargs.get("num_cycles").isInt(), kwargs.toString());
    }

    @Test
    void greaterIsBetterFollowsTheMetricUnlessGiven() {
        assertFalse(TrainingArgs.builder().build().greaterIsBetter(), "loss");
        assertFalse(TrainingArgs.builder().metricForBestModel("eval_rmse").build().greaterIsBetter());
        assertTrue(TrainingArgs.builder().metricForBestModel("f1").build().greaterIsBetter());
        assertTrue(TrainingArgs.builder().metricForBestModel("mse").greaterIsBetter(true).build().greaterIsBetter(), "given wins");
        assertFalse(TrainingArgs.builder().metricForBestModel("accuracy").greaterIsBetter(false).build().greaterIsBetter());
    }

    @Test
    void aBuilderFromBuiltArgumentsChangesOnlyWhatItSets() {
        TrainingArgs a = TrainingArgs.builder().batchSize(8).seed(5).build();
        TrainingArgs b = a.toBuilder().learningRate(1e-3).build();
        assertEquals(8, b.batchSize());
        assertEquals(5, b.seed());
        assertEquals(1e-3, b.learningRate());
        assertEquals(a.loggingDir(), b.loggingDir());
    }
}
