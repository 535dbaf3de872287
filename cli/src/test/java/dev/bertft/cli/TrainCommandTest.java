package dev.bertft.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code bert-ft train} and {@code eval} end to end on the tiny BERT folder and a small
 * sentiment CSV: HF-compatible outputs, exact resumption from a checkpoint, and one-line
 * errors for bad input.
 */
class TrainCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String[] POSITIVE = {"great", "good", "loved"}, NEGATIVE = {"bad", "awful", "boring", "hated", "worst"};
    static final String[] FILLER = {"the", "movie", "film", "was", "is", "it", "i", "this", "very", "so", "actors", "music"};

    @TempDir
    Path tmp;

    /** Reviews whose sentiment words decide the label (the tiny model's head has three: neg, neu, pos). */
    static Path reviews(Path file, int n, long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed);
        List<String> lines = new ArrayList<>(List.of("text,label"));
        String[] names = {"neg", "neu", "pos"};
        for (int i = 0; i < n; i++) {
            int label = r.nextInt(3);
            StringBuilder sb = new StringBuilder();
            for (int w = 0, len = 4 + r.nextInt(8); w < len; w++) {
                String[] pool = label != 1 && (w == 0 || r.nextBoolean()) ? (label == 2 ? POSITIVE : NEGATIVE) : FILLER;
                sb.append(sb.length() == 0 ? "" : " ").append(pool[r.nextInt(pool.length)]);
            }
            lines.add("\"" + sb + "\"," + names[label]);
        }
        Files.write(file, lines);
        return file;
    }

    String[] trainArgs(Path out, String... extra) throws IOException {
        List<String> a = new ArrayList<>(List.of("train", "--model", PredictCommandTest.TINY.toString(),
                "--data", reviews(tmp.resolve("train.csv"), 160, 1).toString(),
                "--eval-data", reviews(tmp.resolve("eval.csv"), 40, 2).toString(),
                "--output-dir", out.toString(), "--logging-dir", out.resolve("logs").toString(),
                "--epochs", "2", "--batch-size", "8", "--eval-batch-size", "16", "--learning-rate", "2e-3",
                "--warmup-steps", "3", "--logging-steps", "4", "--eval-strategy", "epoch", "--save-strategy", "epoch",
                "--max-length", "32", "--threads", "2", "--device", "cpu"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    @Test
    void aDataOptionsMistakeNamesTheOption() throws IOException {
        PredictCommandTest.Run r = PredictCommandTest.run(trainArgs(tmp.resolve("split"), "--validation-split", "1.5"));
        assertNotEquals(0, r.exit());
        assertTrue(r.err().contains("--validation-split must be at least 0 and below 1, got 1.5"), r.err());
    }

    @Test
    void trainsAndWritesWhatTransformersLoads() throws IOException {
        Path out = tmp.resolve("run");
        PredictCommandTest.Run r = PredictCommandTest.run(trainArgs(out));
        assertEquals(0, r.exit(), r.err());
        assertFalse(r.err().contains("\r"), "no carriage returns when stderr is not a terminal");
        // 160 examples / batch 8 = 20 updates per epoch
        assertEquals(List.of("checkpoint-20", "checkpoint-40"), listCheckpoints(out));
        JsonNode config = JSON.readTree(out.resolve("config.json").toFile());
        assertEquals("BertForSequenceClassification", config.get("architectures").get(0).asText());
        assertEquals("neg", config.get("id2label").get("0").asText());
        assertEquals(2, config.get("label2id").get("pos").asInt());
        for (String f : List.of("model.safetensors", "vocab.txt", "all_results.json", "trainer_state.json")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        }
        JsonNode state = JSON.readTree(out.resolve("checkpoint-40/trainer_state.json").toFile());
        assertEquals(40, state.get("global_step").asInt());
        assertEquals(2.0, state.get("epoch").asDouble());
        List<JsonNode> evals = new ArrayList<>();
        state.get("log_history").forEach(e -> { if (e.has("eval_accuracy")) evals.add(e); });
        assertEquals(2, evals.size());
        // the random tiny model starts learning the sentiment words: loss falls, accuracy leaves chance (1/3)
        assertTrue(evals.get(1).get("eval_loss").asDouble() < evals.get(0).get("eval_loss").asDouble(), evals.toString());
        // above chance (1/3 of 40 examples) by more than two binomial standard deviations
        double chance = 1.0 / 3, twoSigma = 2 * Math.sqrt(chance * (1 - chance) / 40);
        assertTrue(evals.get(1).get("eval_accuracy").asDouble() > chance + twoSigma, evals.toString());
        assertTrue(Files.size(out.resolve("logs/training.png")) > 1000);

        // eval on the saved model reproduces the final evaluation
        PredictCommandTest.Run e = PredictCommandTest.run("eval", "--device", "cpu", "--model", out.toString(), "--data", tmp.resolve("train.csv").toString(),
                "--eval-data", tmp.resolve("eval.csv").toString(), "--max-length", "32");
        assertEquals(0, e.exit(), e.err());
        double acc = JSON.readTree(out.resolve("all_results.json").toFile()).get("eval_accuracy").asDouble();
        assertTrue(e.out().contains(String.format(java.util.Locale.ROOT, "eval_accuracy %.4f", acc)), e.out());
        assertTrue(e.out().contains("confusion matrix"), e.out());
        // --eval-data alone: the model's labels number the examples, and --data (IMDB by default,
        // not there offline) is never read
        PredictCommandTest.Run alone = PredictCommandTest.run("eval", "--device", "cpu", "--model", out.toString(), "--eval-data",
                tmp.resolve("eval.csv").toString(), "--max-length", "32", "--offline");
        assertEquals(0, alone.exit(), alone.err());
        assertTrue(alone.out().contains(String.format(java.util.Locale.ROOT, "eval_accuracy %.4f", acc)), alone.out());
        Path unknown = tmp.resolve("unknown-label.csv");
        Files.writeString(unknown, "text,label\ngreat fun,excellent\n");
        PredictCommandTest.Run bad = PredictCommandTest.run("eval", "--device", "cpu", "--model", out.toString(), "--eval-data", unknown.toString(), "--offline");
        assertEquals(1, bad.exit());
        assertOneLineNaming(bad.err(), unknown + ":2: label 'excellent' is not among the model's labels (neg, neu, pos)");
    }

    @Test
    void resumingFromACheckpointEndsWithTheSameWeights() throws IOException {
        Path through = tmp.resolve("through"), resumed = tmp.resolve("resumed");
        assertEquals(0, PredictCommandTest.run(trainArgs(through)).exit());
        // a run that stopped after its first checkpoint: only that checkpoint is on disk
        copyTree(through.resolve("checkpoint-20"), resumed.resolve("checkpoint-20"));
        PredictCommandTest.Run r = PredictCommandTest.run(trainArgs(resumed, "--resume"));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("resumed from"), r.err());
        assertArrayEquals(Files.readAllBytes(through.resolve("model.safetensors")), Files.readAllBytes(resumed.resolve("model.safetensors")));
    }

    @Test
    void badInputIsOneClearLine() throws IOException {
        Path out = tmp.resolve("bad");
        assertEquals(0, PredictCommandTest.run(trainArgs(out, "--epochs", "1")).exit());
        // a truncated optimizer state in the checkpoint to resume from
        Path opt = out.resolve("checkpoint-20/optimizer.safetensors");
        byte[] bytes = Files.readAllBytes(opt);
        Files.write(opt, Arrays.copyOf(bytes, bytes.length / 2));
        byte[] model = Files.readAllBytes(out.resolve("checkpoint-20/model.safetensors"));
        PredictCommandTest.Run r = PredictCommandTest.run(trainArgs(out, "--epochs", "2", "--resume"));
        assertEquals(1, r.exit());
        assertOneLineNaming(r.err(), "optimizer.safetensors");
        assertArrayEquals(model, Files.readAllBytes(out.resolve("checkpoint-20/model.safetensors")), "nothing saved is touched");

        Path empty = Files.createDirectories(tmp.resolve("empty"));
        r = PredictCommandTest.run("train", "--device", "cpu", "--model", PredictCommandTest.TINY.toString(), "--data", empty.toString(),
                "--output-dir", tmp.resolve("o2").toString());
        assertEquals(1, r.exit());
        assertOneLineNaming(r.err(), empty.toString());

        r = PredictCommandTest.run(trainArgs(tmp.resolve("o3"), "--eval-strategy", "sometimes"));
        assertEquals(1, r.exit());
        assertOneLineNaming(r.err(), "--eval-strategy");

        r = PredictCommandTest.run(trainArgs(tmp.resolve("o4"), "--resume", tmp.resolve("nowhere").toString()));
        assertEquals(1, r.exit());
        assertOneLineNaming(r.err(), "nowhere");
    }

    private static void assertOneLineNaming(String err, String what) {
        List<String> lines = err.lines().filter(l -> l.contains("error")).toList();
        assertEquals(1, lines.size(), err);
        assertTrue(lines.get(0).contains(what), err);
    }

    private static List<String> listCheckpoints(Path out) throws IOException {
        try (var s = Files.list(out)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("checkpoint-")).sorted().toList();
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var s = Files.list(from)) {
            for (Path p : s.toList()) Files.copy(p, to.resolve(p.getFileName()));
        }
    }
}
