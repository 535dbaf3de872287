package dev.bertft.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bertft.bert.TestResources;
import dev.bertft.classifier.ProblemType;
import dev.bertft.data.DataException;
import dev.bertft.data.DataSettingException;
import dev.bertft.data.LabeledText;
import dev.bertft.train.LogEntry;
import dev.bertft.train.Trainer;
import dev.bertft.train.TrainingArgs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link FineTuning} on the tiny model with examples in memory: the README's example compiled and run, what a
 * run leaves and reports, a stopped run resumed to the uninterrupted run's weights, and the errors a Java
 * caller sees.
 */
class FineTuningTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path tmp;

    /** A pretrained encoder without a classifier head, as bert-base-uncased is. */
    private Path base() throws IOException {
        return TestResources.tinyEncoder(tmp.resolve("tiny-encoder"));
    }

    static List<LabeledText> reviews(int n) {
        String[] good = {"great", "good", "loved", "fun", "best"}, bad = {"bad", "awful", "boring", "hated", "worst"};
        List<LabeledText> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            boolean pos = i % 2 == 0;
            out.add(LabeledText.of("the film was " + (pos ? good : bad)[i % 5] + " and " + (pos ? good : bad)[(i / 2) % 5], pos ? "pos" : "neg"));
        }
        return out;
    }

    /** 4 updates of 2 examples, a checkpoint every 2, a log every step, no warmup, on 2 CPU threads. */
    private TrainingArgs.Builder args(Path out) {
        return TrainingArgs.builder().outputDir(out).maxSteps(4).batchSize(2).learningRate(1e-3).warmupSteps(0).loggingSteps(1)
                .saveSteps(2);
    }

    private FineTuning job(Path out, List<LabeledText> train) throws IOException {
        return FineTuning.of(base(), TrainingData.of(train).evaluateOn(reviews(6)), args(out).build()).threads(2);
    }

    @Test
    void readmeExampleFineTunesAFolderTheClassifierLoads() throws Exception {
        List<String> blocks = JavaSnippets.readmeBlocks("## Fine-tune from Java");
        assertEquals(1, blocks.size(), "the section's one example");
        Path out = tmp.resolve("readme-model");
        String body = blocks.get(0).replace("\"my-base-model\"", '"' + base().toAbsolutePath().toString().replace("\\", "\\\\") + '"')
                .replace("\"my-fine-tuned-model\"", '"' + out.toString().replace("\\", "\\\\") + '"');
        String printed = JavaSnippets.compileAndRun(tmp, "FineTuneExample", JavaSnippets.imports("dev.bertft.api.*",
                "dev.bertft.data.LabeledText", "dev.bertft.train.*", "java.nio.file.Path", "java.util.List"), body);
        List<String> lines = printed.lines().toList();
        assertEquals(5, lines.size(), printed);
        for (int s = 1; s <= 4; s++) assertTrue(lines.get(s - 1).startsWith("step " + s + " loss "), printed);
        try (BertClassifier clf = BertClassifier.load(out)) {
            assertEquals(List.of("neg", "pos"), clf.labels(), "the labels of the examples, sorted");
            assertEquals(clf.predict(List.of("a great film")).get(0).label(), lines.get(4));
            assertTrue(clf.untrainedWeights().isEmpty(), "the folder holds the trained head");
        }
    }

    @Test
    void aRunReportsEachStepInPlainValuesAndLeavesHfFiles() throws IOException {
        Path out = tmp.resolve("run");
        List<LogEntry> logs = new ArrayList<>();
        TrainingResult r = job(out, reviews(16)).run(new Trainer.Listener() {
            @Override
            public void onLog(LogEntry entry) {
                logs.add(entry);
            }
        });
        assertEquals(4, r.globalStep());
        assertEquals(4, r.stepsRun());
        assertEquals(out, r.outputDir());
        assertEquals(0.5, r.epoch(), "4 updates of 2 over 16 examples");
        List<LogEntry> training = logs.stream().filter(e -> e.loss() != null).toList();
        assertEquals(4, training.size());
        for (int s = 1; s <= 4; s++) {
            LogEntry e = training.get(s - 1);
            assertEquals(s, e.step());
            // linear decay from 1e-3 to 0 over 4 updates without warmup, as HF's get_linear_schedule_with_warmup
            assertEquals(1e-3 * (4 - s) / 4, e.learningRate(), 1e-12, "step " + s);
            assertTrue(e.gradNorm() > 0 && Double.isFinite(e.loss()), e.toString());
            assertTrue(e.evalMetrics().isEmpty());
        }
        double mean = training.stream().mapToDouble(LogEntry::loss).average().orElseThrow();
        assertEquals(mean, r.trainLoss(), 1e-9, "train_loss is the mean of the updates' losses");
        assertEquals(List.of("eval_loss", "eval_accuracy", "eval_f1"), List.copyOf(r.evalMetrics().keySet()));
        assertNull(r.bestCheckpoint(), "no evaluation was saved with a checkpoint");

        JsonNode recorded = JSON.readTree(out.resolve("training_args.json").toFile());
        assertEquals(1e-3, recorded.get("learning_rate").asDouble());
        assertEquals(2, recorded.get("per_device_train_batch_size").asInt());
        assertEquals(out.toString(), recorded.get("output_dir").asText());
        for (String file : List.of("model.safetensors", "config.json", "optimizer.safetensors", "scheduler.json", "rng_state.json",
                "trainer_state.json", "training_args.json")) {
            assertTrue(Files.isRegularFile(out.resolve("checkpoint-4").resolve(file)), file);
        }
        assertEquals(0.5, JSON.readTree(out.resolve("all_results.json").toFile()).get("epoch").asDouble());
    }

    @Test
    void aStoppedRunResumesToTheUninterruptedRunsWeights() throws IOException {
        Path through = tmp.resolve("through"), stopped = tmp.resolve("stopped");
        job(through, reviews(8)).run();

        FineTuning first = job(stopped, reviews(8));
        assertThrows(Trainer.StoppedException.class, () -> first.run(new Trainer.Listener() {
            @Override
            public void onStep(long step, long maxSteps, double epoch, double loss, double lr, double samplesPerSecond) {
                if (step == 2) first.stop();
            }
        }));
        assertTrue(Files.isDirectory(stopped.resolve("checkpoint-2")) && !Files.exists(stopped.resolve("checkpoint-4")));
        TrainingResult resumed = job(stopped, reviews(8)).resumeFromLatest().run();
        assertEquals(4, resumed.globalStep());
        assertEquals(2, resumed.stepsRun());
        assertArrayEquals(Files.readAllBytes(through.resolve("model.safetensors")), Files.readAllBytes(stopped.resolve("model.safetensors")),
                "bit for bit the weights of the run that was not stopped");
    }

    @Test
    void mistakesAreNamedInTheApisWords() throws IOException {
        Path out = tmp.resolve("used");
        Files.createDirectories(out.resolve("checkpoint-3"));
        Files.writeString(out.resolve("checkpoint-3/trainer_state.json"), "{\"global_step\": 3, \"log_history\": []}");
        IllegalArgumentException used = assertThrows(IllegalArgumentException.class, () -> job(out, reviews(4)).run());
        assertEquals("output folder " + out + ": not empty (checkpoint-3); overwriteOutputDir(true) replaces the run in it, a resume"
                + " continues it", used.getMessage());
        assertEquals("overwriting the output folder and resuming exclude each other: the first deletes the checkpoints the second"
                + " continues", assertThrows(IllegalArgumentException.class,
                () -> job(out, reviews(4)).overwriteOutputDir(true).resumeFromLatest().run()).getMessage());

        List<LabeledText> unlabelled = new ArrayList<>(reviews(4));
        unlabelled.set(1, LabeledText.of("no label here", null));
        assertEquals("training example 1: label null is neither a class name, a number nor a list",
                assertThrows(DataException.class, () -> job(tmp.resolve("a"), unlabelled).run()).getMessage());
        assertEquals("metric for the best model f1 is not a metric of regression (loss, mse, rmse, pearson, spearmanr)",
                assertThrows(IllegalArgumentException.class, () -> FineTuning.of(base(), TrainingData.of(scored(4)),
                        args(tmp.resolve("b")).metricForBestModel("f1").build()).run()).getMessage());
        Path csv = Files.writeString(tmp.resolve("reviews.csv"), "text,label\na great film,pos\ndull and long,neg\n");
        assertEquals("validation split must be at least 0 and below 1, got 1.5", assertThrows(DataSettingException.class,
                () -> FineTuning.of(base(), TrainingData.fromFiles(csv.toString()).validationSplit(1.5), args(tmp.resolve("c")).build())
                        .run()).getMessage());
    }

    private static List<LabeledText> scored(int n) {
        List<LabeledText> out = new ArrayList<>();
        for (int i = 0; i < n; i++) out.add(LabeledText.pair("a film", "rated " + i, i + 0.5));
        return out;
    }

    @Test
    void sentencePairsWithScoresTrainARegression() throws IOException {
        TrainingResult r = FineTuning.of(base(), TrainingData.of(scored(6)).evaluateOn(scored(4)), args(tmp.resolve("reg")).build())
                .threads(2).run();
        assertEquals(List.of("eval_loss", "eval_mse", "eval_rmse", "eval_pearson", "eval_spearmanr"), List.copyOf(r.evalMetrics().keySet()));
        try (BertClassifier clf = BertClassifier.load(r.outputDir())) {
            assertEquals(ProblemType.REGRESSION, clf.problemType());
        }
    }
}
