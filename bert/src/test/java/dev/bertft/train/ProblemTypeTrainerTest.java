package dev.bertft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bertft.autograd.Var;
import dev.bertft.classifier.Batch;
import dev.bertft.classifier.ProblemType;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Trainer on regression and multi-label data: it learns, logs HF's metric names, and checks the best-model metric first. */
class ProblemTypeTrainerTest {
    private static final CpuBackend CPU = new CpuBackend(2);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Tokens 1..39; the score is 4 × the share of tokens from 20..39, minus 1. */
    static List<Batches.Tokenized> scored(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Batches.Tokenized> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = 4 + r.nextInt(8), upper = 0;
            double share = r.nextDouble();
            int[] ids = new int[len];
            for (int t = 0; t < len; t++) {
                boolean high = r.nextDouble() < share;
                ids[t] = high ? 20 + r.nextInt(20) : 1 + r.nextInt(19);
                if (high) upper++;
            }
            out.add(new Batches.Tokenized(ids, new int[len], -1, new float[] {4f * upper / len - 1}));
        }
        return out;
    }

    /** Label 0 when a token from 20..29 occurs, label 1 when one from 30..39 does: any of none, one or both. */
    static List<Batches.Tokenized> tagged(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<Batches.Tokenized> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            boolean a = r.nextBoolean(), b = r.nextBoolean();
            List<Integer> tokens = new ArrayList<>();
            for (int t = 0; t < 3 + r.nextInt(6); t++) tokens.add(1 + r.nextInt(19));
            if (a) tokens.add(r.nextInt(tokens.size() + 1), 20 + r.nextInt(10));
            if (b) tokens.add(r.nextInt(tokens.size() + 1), 30 + r.nextInt(10));
            int[] ids = tokens.stream().mapToInt(Integer::intValue).toArray();
            out.add(new Batches.Tokenized(ids, new int[ids.length], -1, new float[] {a ? 1 : 0, b ? 1 : 0}));
        }
        return out;
    }

    static TrainingArgs.Builder args(Path out) {
        return TrainingArgs.builder().outputDir(out).loggingDir(out.resolve("logs")).epochs(4).batchSize(8).evalBatchSize(16)
                .learningRate(0.05).warmupSteps(5).seed(42).loggingSteps(10)
                .evalStrategy(TrainingArgs.Strategy.EPOCH).saveStrategy(TrainingArgs.Strategy.NO);
    }

    @Test
    void regressionLearnsTheScoreAndLogsHfMetricNames(@TempDir Path out) throws IOException {
        TinyClassifier model = new TinyClassifier(CPU, 40, 16, 1, 7, 0, ProblemType.REGRESSION);
        List<Batches.Tokenized> eval = scored(60, 2);
        Metrics before = Trainer.evaluate(model, eval, 16, CPU, 0, 1);
        Trainer.Result r = new Trainer(model, args(out).build(), CPU, scored(200, 1), eval, 0, 1, new Trainer.Listener() {}).train(null);
        Metrics after = r.finalEval();
        assertTrue(after.get("mse") < before.get("mse") / 4, "mse " + before.get("mse") + " → " + after.get("mse"));
        assertTrue(after.get("pearson") > 0.9 && after.get("spearmanr") > 0.9, after.scores().toString());
        assertEquals(after.get("mse"), after.loss(), 1e-6, "the MSE loss is the mse metric");
        JsonNode all = JSON.readTree(out.resolve("all_results.json").toFile());
        for (String k : List.of("eval_mse", "eval_rmse", "eval_pearson", "eval_spearmanr", "eval_loss")) assertTrue(all.has(k), k);
        assertFalse(all.has("eval_accuracy"));
        List<JsonNode> evals = new ArrayList<>();
        JSON.readTree(out.resolve("trainer_state.json").toFile()).get("log_history").forEach(e -> { if (e.has("eval_rmse")) evals.add(e); });
        assertEquals(4, evals.size(), "one evaluation an epoch");
        assertEquals(after.get("rmse"), evals.get(3).get("eval_rmse").asDouble(), 1e-12);
    }

    /**
     * Evaluation runs its batches longest first: each example is still scored by its own output, as computed
     * one example at a time here (lengths 4..11 in batches of 7, so most batches pad and reorder).
     */
    @Test
    void evaluationInLengthOrderScoresEachExampleByItsOwnOutput() {
        TinyClassifier model = new TinyClassifier(CPU, 40, 16, 1, 7, 0, ProblemType.REGRESSION);
        List<Batches.Tokenized> eval = scored(45, 5);
        double squares = 0;
        double[] labels = new double[eval.size()], predictions = new double[eval.size()];
        for (int i = 0; i < eval.size(); i++) {
            Batch one = Batches.collate(eval, new int[] {i}, CPU, 0);
            predictions[i] = model.logits(one).value().toFloatArray()[0];
            labels[i] = eval.get(i).targets()[0];
            squares += (predictions[i] - labels[i]) * (predictions[i] - labels[i]);
        }
        Metrics m = Trainer.evaluate(model, eval, 7, CPU, 0, 1);
        Metrics alone = Metrics.regression(squares / eval.size(), labels, predictions);
        assertEquals(alone.loss(), m.loss(), 1e-6);
        for (String k : List.of("mse", "pearson", "spearmanr")) assertEquals(alone.get(k), m.get(k), 1e-6, k);
    }

    @Test
    void multiLabelLearnsBothTagsAndLogsHfMetricNames(@TempDir Path out) throws IOException {
        TinyClassifier model = new TinyClassifier(CPU, 40, 16, 2, 7, 0, ProblemType.MULTI_LABEL_CLASSIFICATION);
        List<Batches.Tokenized> eval = tagged(60, 4);
        Metrics before = Trainer.evaluate(model, eval, 16, CPU, 0, 2);
        Trainer.Result r = new Trainer(model, args(out).epochs(8).build(), CPU, tagged(200, 3), eval, 0, 2, new Trainer.Listener() {})
                .train(null);
        Metrics m = r.finalEval();
        // A mean of embeddings dilutes one telling token in a long text, so not every example is learnt.
        assertTrue(m.get("accuracy") > 0.75 && m.get("f1_micro") > 0.85 && m.get("f1_macro") > 0.85, m.scores().toString());
        assertTrue(m.loss() < before.loss() / 2, "loss " + before.loss() + " → " + m.loss());
        JsonNode all = JSON.readTree(out.resolve("all_results.json").toFile());
        for (String k : List.of("eval_accuracy", "eval_f1_micro", "eval_f1_macro", "eval_loss")) assertTrue(all.has(k), k);
    }

    /** The loss the Trainer minimises is torch's BCE with logits on the head's output: checked here by hand for one batch. */
    @Test
    void multiLabelLossIsTheMeanBinaryCrossEntropy() {
        TinyClassifier model = new TinyClassifier(CPU, 40, 16, 2, 7, 0, ProblemType.MULTI_LABEL_CLASSIFICATION);
        List<Batches.Tokenized> data = tagged(5, 9);
        Batch batch = Batches.collate(data, new int[] {0, 1, 2, 3, 4}, CPU, 0);
        Var logits = model.logits(batch);
        float[] x = logits.value().toFloatArray();
        double sum = 0;
        for (int i = 0; i < 5; i++) {
            for (int c = 0; c < 2; c++) {
                double y = data.get(i).targets()[c], p = 1 / (1 + Math.exp(-x[i * 2 + c]));
                sum -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
            }
        }
        assertEquals(sum / 10, model.loss(logits, batch.labels()).value().item(), 1e-6);
    }

    @Test
    void bestModelMetricMustBeOneOfTheProblemTypesBeforeAnyStep(@TempDir Path out) throws IOException {
        TinyClassifier model = new TinyClassifier(CPU, 40, 16, 1, 7, 0, ProblemType.REGRESSION);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer(model,
                args(out).metricForBestModel("eval_f1").build(), CPU, scored(20, 1), scored(10, 2), 0, 1, new Trainer.Listener() {})
                .train(null));
        assertEquals("metric for the best model f1 is not a metric of regression (loss, mse, rmse, pearson, spearmanr)", e.getMessage());
        assertFalse(out.resolve("logs").toFile().exists(), "nothing written");
        e = assertThrows(IllegalArgumentException.class, () -> args(out).metricForBestModel("r2").build());
        assertEquals("metric for the best model must be one of loss, accuracy, f1, mse, rmse, pearson, spearmanr, f1_micro, f1_macro,"
                + " got r2", e.getMessage());
        assertFalse(args(out).metricForBestModel("eval_rmse").build().greaterIsBetter(), "a smaller error is better");
        assertTrue(args(out).metricForBestModel("spearmanr").build().greaterIsBetter());
    }

    @Test
    void labelSmoothingIsRefusedBeforeAnyStepWhereThereIsNoSingleLabel(@TempDir Path out) {
        for (ProblemType type : List.of(ProblemType.REGRESSION, ProblemType.MULTI_LABEL_CLASSIFICATION)) {
            int labels = type == ProblemType.REGRESSION ? 1 : 2;
            TinyClassifier model = new TinyClassifier(CPU, 40, 16, labels, 7, 0, type);
            List<Batches.Tokenized> data = type == ProblemType.REGRESSION ? scored(20, 1) : tagged(20, 1);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer(model,
                    args(out).labelSmoothingFactor(0.1).build(), CPU, data, data, 0, labels, new Trainer.Listener() {}).train(null));
            assertEquals("label smoothing applies to single-label classification only, not " + type.hfName(), e.getMessage());
            assertFalse(out.resolve("logs").toFile().exists(), "nothing written");
        }
    }
}
