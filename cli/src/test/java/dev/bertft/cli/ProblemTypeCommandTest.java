package dev.bertft.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bertft.bert.TestResources;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * train, eval and predict on regression and multi-label data, end to end on the tiny BERT without its
 * classification head (a pretrained encoder, as bert-base-uncased is), and the one-line errors.
 */
class ProblemTypeCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private Path encoderOnly() throws IOException {
        return TestResources.tinyEncoder(tmp.resolve("tiny-encoder"));
    }

    /** Reviews scored by their sentiment words (+1 each positive, −1 each negative), as in STS-B a float column. */
    private Path scoredReviews(String name, int n, long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed);
        List<String> lines = new ArrayList<>(List.of("text,label"));
        for (int i = 0; i < n; i++) {
            StringBuilder text = new StringBuilder("the movie");
            double score = 0.5;
            for (int w = 0, len = 1 + r.nextInt(4); w < len; w++) {
                boolean positive = r.nextBoolean();
                String[] pool = positive ? TrainCommandTest.POSITIVE : TrainCommandTest.NEGATIVE;
                text.append(' ').append(pool[r.nextInt(pool.length)]);
                score += positive ? 1 : -1;
            }
            lines.add(text + "," + score);
        }
        return Files.write(tmp.resolve(name), lines);
    }

    /** Reviews tagged with the aspects they mention: "acting", "music" and "plot", any of them or none. */
    private Path taggedReviews(String name, int n, long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            List<String> tags = new ArrayList<>();
            StringBuilder text = new StringBuilder("the film was");
            for (String[] aspect : new String[][] {{"acting", "actors"}, {"music", "music"}, {"plot", "story"}}) {
                if (r.nextBoolean()) {
                    tags.add(aspect[0]);
                    text.append(' ').append(aspect[1]);
                }
            }
            lines.add(JSON.writeValueAsString(JSON.createObjectNode().put("text", text.toString()).set("label", JSON.valueToTree(tags))));
        }
        return Files.write(tmp.resolve(name), lines);
    }

    /** bert-ft predict's lines for these texts with the model in {@code model}, at the training's length. */
    private List<JsonNode> predictions(Path model, List<String> texts) throws IOException {
        Path input = Files.write(tmp.resolve("predict-input.txt"), texts);
        PredictCommandTest.Run p = PredictCommandTest.run("predict", "--model", model.toString(), "--input", input.toString(),
                "--max-length", "16", "--threads", "2");
        assertEquals(0, p.exit(), p.err());
        List<JsonNode> out = new ArrayList<>();
        for (String line : p.out().lines().toList()) out.add(JSON.readTree(line));
        assertEquals(texts.size(), out.size());
        return out;
    }

    private String[] train(Path out, Path data, Path eval, String... extra) throws IOException {
        List<String> a = new ArrayList<>(List.of("train", "--model", encoderOnly().toString(), "--data", data.toString(),
                "--eval-data", eval.toString(), "--output-dir", out.toString(), "--logging-dir", out.resolve("logs").toString(),
                "--max-steps", "6", "--batch-size", "8", "--learning-rate", "2e-3", "--warmup-steps", "0",
                "--save-strategy", "no", "--max-length", "16", "--threads", "2"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    @Test
    void regressionTrainsEvaluatesAndPredictsScores() throws IOException {
        Path out = tmp.resolve("sts");
        Path eval = scoredReviews("eval.csv", 16, 2);
        PredictCommandTest.Run r = PredictCommandTest.run(train(out, scoredReviews("train.csv", 48, 1), eval, "--do_predict",
                "--test_file", eval.toString()));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("regression"), r.err());
        // run_classification.py's predict_results.txt: each score as f"{item:3.3f}", here from bert-ft predict's
        List<String> scores = new ArrayList<>(List.of("index\tprediction"));
        for (JsonNode j : predictions(out, Files.readAllLines(eval).stream().skip(1).map(l -> l.substring(0, l.indexOf(','))).toList())) {
            scores.add(scores.size() - 1 + "\t" + String.format(java.util.Locale.ROOT, "%.3f", j.get("score").floatValue()));
        }
        assertEquals(scores, Files.readAllLines(out.resolve("predict_results.txt")));
        JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
        assertEquals("regression", config.get("problem_type").asText());
        assertEquals("4.46.0", config.get("transformers_version").asText());
        assertEquals(JSON.readTree("{\"0\": \"LABEL_0\"}"), config.get("id2label"));
        JsonNode all = JSON.readTree(out.resolve("all_results.json").toFile());
        assertEquals(Math.sqrt(all.get("eval_mse").asDouble()), all.get("eval_rmse").asDouble(), 1e-9);
        assertEquals(all.get("eval_mse").asDouble(), all.get("eval_loss").asDouble(), 1e-5);

        PredictCommandTest.Run e = PredictCommandTest.run("eval", "--model", out.toString(), "--eval-data", eval.toString(), "--threads", "2");
        assertEquals(0, e.exit(), e.err());
        assertTrue(e.out().startsWith(String.format(java.util.Locale.ROOT, "eval_mse %.4f%neval_rmse", all.get("eval_mse").asDouble())), e.out());
        assertTrue(e.out().contains("eval_spearmanr") && !e.out().contains("confusion"), e.out());

        Path texts = Files.writeString(tmp.resolve("texts.txt"), "great great loved\nawful boring\n");
        PredictCommandTest.Run p = PredictCommandTest.run("predict", "--model", out.toString(), "--input", texts.toString(), "--threads", "2");
        assertEquals(0, p.exit(), p.err());
        List<String> lines = p.out().lines().toList();
        assertEquals(2, lines.size(), p.out());
        for (String line : lines) {
            JsonNode j = JSON.readTree(line);
            assertEquals(List.of("score"), fieldNames(j));
            assertTrue(Double.isFinite(j.get("score").asDouble()));
        }
    }

    @Test
    void multiLabelTrainsAndPredictsSigmoidProbabilities() throws IOException {
        Path out = tmp.resolve("aspects");
        Path eval = taggedReviews("eval.jsonl", 16, 4);
        PredictCommandTest.Run r = PredictCommandTest.run(train(out, taggedReviews("train.jsonl", 48, 3), eval,
                "--eval-strategy", "steps", "--eval-steps", "3", "--metric-for-best-model", "f1_macro", "--do_predict", "--test_file",
                eval.toString()));
        assertEquals(0, r.exit(), r.err());
        // run_classification.py's predict_results.txt: the classes above 0.5 as a Python list, here from bert-ft predict's
        List<String> tagged = new ArrayList<>(List.of("index\tprediction"));
        List<String> evalTexts = new ArrayList<>();
        for (String line : Files.readAllLines(eval)) evalTexts.add(JSON.readTree(line).get("text").asText());
        for (JsonNode j : predictions(out, evalTexts)) {
            List<String> quoted = new ArrayList<>();
            j.get("labels").forEach(l -> quoted.add("'" + l.asText() + "'"));
            tagged.add(tagged.size() - 1 + "\t[" + String.join(", ", quoted) + "]");
        }
        assertEquals(tagged, Files.readAllLines(out.resolve("predict_results.txt")));
        JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
        assertEquals("multi_label_classification", config.get("problem_type").asText());
        assertEquals(JSON.readTree("{\"0\": \"acting\", \"1\": \"music\", \"2\": \"plot\"}"), config.get("id2label"));
        JsonNode state = JSON.readTree(out.resolve("trainer_state.json").toFile());
        assertTrue(state.get("best_metric").isNumber(), "f1_macro tracked: " + state);
        assertTrue(JSON.readTree(out.resolve("all_results.json").toFile()).has("eval_f1_micro"));

        Path texts = Files.writeString(tmp.resolve("texts.txt"), "the actors and the story\nmusic\n");
        PredictCommandTest.Run p = PredictCommandTest.run("predict", "--model", out.toString(), "--input", texts.toString(), "--threads", "2");
        assertEquals(0, p.exit(), p.err());
        for (String line : p.out().lines().toList()) {
            JsonNode j = JSON.readTree(line);
            assertEquals(List.of("labels", "label_ids", "probs", "logits"), fieldNames(j));
            List<String> above = new ArrayList<>();
            for (int c = 0; c < 3; c++) {
                double logit = j.get("logits").get(c).asDouble();
                assertEquals(1 / (1 + Math.exp(-logit)), j.get("probs").get(c).asDouble(), 1e-6, "sigmoid, not softmax");
                if (logit > 0) above.add(config.get("id2label").get(Integer.toString(c)).asText());
            }
            assertEquals(above, texts(j.get("labels")), "the labels whose sigmoid is above 0.5");
        }
    }

    @Test
    void labelsOrFlagsThatFitNoProblemTypeFailBeforeTraining() throws IOException {
        Path mixed = Files.write(tmp.resolve("mixed.csv"), List.of("text,label", "great movie,4.5", "bad movie,pos"));
        Path out = tmp.resolve("never");
        PredictCommandTest.Run r = PredictCommandTest.run(train(out, mixed, mixed));
        assertEquals(1, r.exit());
        assertOneErrorLine(r.err(), mixed + ":3: label 'pos' is not a number (regression, as the label 4.5 at " + mixed + ":2 tells)");
        assertFalse(Files.exists(out), "nothing written");

        Path scores = scoredReviews("s.csv", 8, 5);
        r = PredictCommandTest.run(train(out, scores, scores, "--problem-type", "ordinal"));
        assertOneErrorLine(r.err(), "--problem-type: problem type 'ordinal' is not one of single_label_classification, regression, "
                + "multi_label_classification");
        r = PredictCommandTest.run(train(out, scores, scores, "--problem-type", "single_label_classification"));
        assertOneErrorLine(r.err(), scores + ":2: label '");
        assertTrue(r.err().contains("is a fractional number, not a class (problem_type single_label_classification)"), r.err());
        r = PredictCommandTest.run(train(out, scores, scores, "--eval-strategy", "epoch", "--metric-for-best-model", "accuracy"));
        assertOneErrorLine(r.err(), "--metric-for-best-model accuracy is not a metric of regression (loss, mse, rmse, pearson, spearmanr)");
        assertFalse(Files.exists(out.resolve("logs")), "no step taken");
    }

    private static void assertOneErrorLine(String err, String what) {
        List<String> lines = err.lines().filter(l -> l.contains("error")).toList();
        assertEquals(1, lines.size(), err);
        assertTrue(lines.get(0).contains(what), err);
        assertFalse(err.contains("Exception") || err.contains("dev.bertft"), err);
    }

    private static List<String> fieldNames(JsonNode object) {
        List<String> names = new ArrayList<>();
        object.fieldNames().forEachRemaining(names::add);
        return names;
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
