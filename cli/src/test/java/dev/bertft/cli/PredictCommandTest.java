package dev.bertft.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bertft.bert.TestResources;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bert-ft predict} on the tiny model against the PyTorch fixture tiny_predict.json
 * (make_bert_fixtures.py tokenizes the same texts with the same vocab.txt and runs the
 * plain-PyTorch BERT on them in one padded batch).
 */
class PredictCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path TINY = TestResources.tinyModel();

    @TempDir
    Path tmp;

    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            int code = Main.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    static void assertMatchesPyTorch(JsonNode expected, String output) throws IOException {
        List<String> lines = output.lines().toList();
        assertEquals(expected.get("texts").size(), lines.size(), output);
        for (int i = 0; i < lines.size(); i++) {
            JsonNode got = JSON.readTree(lines.get(i));
            assertEquals(expected.get("labels").get(i).asText(), got.get("label").asText(), "text " + i);
            for (String field : List.of("logits", "probs")) {
                JsonNode want = expected.get(field).get(i), have = got.get(field);
                assertEquals(want.size(), have.size());
                for (int j = 0; j < want.size(); j++) {
                    // float32 logits; batches are padded to different lengths than PyTorch's one batch,
                    // which changes only summation rounding
                    double w = want.get(j).asDouble(), h = have.get(j).asDouble();
                    assertTrue(Math.abs(w - h) <= 1e-5 + 1e-5 * Math.abs(w), field + " of text " + i + ": " + h + " vs " + w);
                }
            }
            int argmax = got.get("label_id").asInt();
            assertEquals(expected.get("labels").get(i).asText(), List.of("neg", "neu", "pos").get(argmax));
        }
    }

    @Test
    void plainTextLinesMatchPyTorch() throws IOException {
        JsonNode expected = JSON.readTree(TINY.resolveSibling("tiny_predict.json").toFile());
        List<String> texts = new ArrayList<>();
        expected.get("texts").forEach(t -> texts.add(t.asText()));
        Path input = tmp.resolve("texts.txt");
        Files.write(input, texts, StandardCharsets.UTF_8);
        Run r = run("predict", "--device", "cpu", "--model", TINY.toString(), "--input", input.toString(), "--batch-size", "2");
        assertEquals(0, r.exit(), r.err());
        assertMatchesPyTorch(expected, r.out());
    }

    /** JSON Lines, and a .json file holding one array of objects as json.dump writes it (pretty-printed: not a text a line). */
    @Test
    void jsonLinesAndJsonArraysMatchPyTorch() throws IOException {
        JsonNode expected = JSON.readTree(TINY.resolveSibling("tiny_predict.json").toFile());
        StringBuilder jsonl = new StringBuilder();
        List<java.util.Map<String, Object>> objects = new ArrayList<>();
        for (JsonNode t : expected.get("texts")) {
            jsonl.append(JSON.writeValueAsString(java.util.Map.of("text", t.asText(), "id", 7))).append("\n\n");
            objects.add(java.util.Map.of("text", t.asText(), "id", 7));
        }
        Path lines = Files.writeString(tmp.resolve("texts.jsonl"), jsonl);
        Path array = Files.writeString(tmp.resolve("texts.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(objects));
        for (Path input : List.of(lines, array)) {
            Run r = run("predict", "--device", "cpu", "--model", TINY.toString(), "--input", input.toString());
            assertEquals(0, r.exit(), r.err());
            assertMatchesPyTorch(expected, r.out());
            assertFalse(r.err().contains("warning"), r.err());
        }
        // the same array under another name is text, one a line, as the README says; a line says how to read it as JSON
        Path text = Files.copy(array, tmp.resolve("texts-array.txt"));
        Run r = run("predict", "--device", "cpu", "--model", TINY.toString(), "--input", text.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("bert-ft predict: warning: " + text + " starts like a JSON array, but it is read as plain text"), r.err());
    }

    /**
     * Sentence pairs from a CSV file's two columns and from JSON Lines' two fields, against PyTorch's logits for the
     * same pairs (tiny_pairs.json, at its max length); one column of the CSV as plain lines give the same output.
     */
    @Test
    void sentencePairsFromTablesMatchPyTorch() throws IOException {
        JsonNode expected = JSON.readTree(TINY.resolveSibling("tiny_pairs.json").toFile());
        List<String> csv = new ArrayList<>(List.of("first,second,label")), jsonl = new ArrayList<>();
        for (int i = 0; i < expected.get("texts").size(); i++) {
            String first = expected.get("texts").get(i).asText(), second = expected.get("pairs").get(i).asText();
            csv.add(quoted(first) + "," + quoted(second) + ",x");
            jsonl.add(JSON.writeValueAsString(java.util.Map.of("first", first, "second", second)));
        }
        Path table = Files.write(tmp.resolve("pairs.csv"), csv), lines = Files.write(tmp.resolve("pairs.jsonl"), jsonl);
        String maxLength = expected.get("max_length").asText();
        for (Path input : List.of(table, lines)) {
            Run r = run("predict", "--device", "cpu", "--model", TINY.toString(), "--input", input.toString(), "--text-column",
                    "first,second", "--max-length", maxLength);
            assertEquals(0, r.exit(), r.err());
            List<String> out = r.out().lines().toList();
            assertEquals(expected.get("logits").size(), out.size(), r.out());
            for (int i = 0; i < out.size(); i++) {
                JsonNode logits = JSON.readTree(out.get(i)).get("logits");
                for (int j = 0; j < logits.size(); j++) {
                    assertEquals(expected.get("logits").get(i).get(j).asDouble(), logits.get(j).asDouble(), 1e-5, input + " pair " + i);
                }
            }
        }
        Path firstOnly = Files.write(tmp.resolve("first.txt"), textsOf(expected.get("texts")));
        Run plain = run("predict", "--device", "cpu", "--model", TINY.toString(), "--input", firstOnly.toString());
        Run column = run("predict", "--device", "cpu", "--model", TINY.toString(), "--input", table.toString(), "--text-column", "first");
        assertEquals(0, column.exit(), column.err());
        assertEquals(plain.out(), column.out(), "a CSV column reads as the same texts in lines");
        Run wrong = run("predict", "--device", "cpu", "--model", TINY.toString(), "--input", firstOnly.toString(), "--text-column", "a,b");
        assertEquals(1, wrong.exit());
        assertTrue(wrong.err().contains("--text-column: " + firstOnly + " is plain text"), wrong.err());
    }

    /**
     * A writer that sends one line and waits for its answer before the next (a coprocess) gets each answer before
     * predict reads on: with no more input waiting, the lines read so far are answered then, not when a window fills.
     */
    @Test
    void eachLineIsAnsweredBeforeTheNextIsReadWhenTheWriterWaits() {
        List<String> texts = List.of("a fine film", "dull and long", "", "great acting");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        List<Long> answeredBeforeLine = new ArrayList<>();
        java.io.InputStream writer = new java.io.InputStream() {
            private int line = -1;
            private byte[] pending = new byte[0];
            private int at;

            @Override
            public int read() {
                if (at == pending.length) {
                    if (++line == texts.size()) return -1;
                    if (line > 0) answeredBeforeLine.add(out.toString(StandardCharsets.UTF_8).lines().count());
                    pending = (texts.get(line) + "\n").getBytes(StandardCharsets.UTF_8);
                    at = 0;
                }
                return pending[at++];
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (len == 0) return 0;
                int first = read();
                if (first < 0) return -1;
                b[off] = (byte) first;
                int n = 1;
                while (n < len && at < pending.length) b[off + n++] = pending[at++];
                return n;
            }

            @Override
            public int available() {
                return pending.length - at; // nothing of the next line until this one is answered
            }
        };
        java.io.InputStream stdin = System.in;
        PrintStream stdout = System.out, stderr = System.err;
        System.setIn(writer);
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        int code;
        try {
            code = Main.run("predict", "--device", "cpu", "--model", TINY.toString());
        } finally {
            System.setIn(stdin);
            System.setOut(stdout);
            System.setErr(stderr);
        }
        assertEquals(0, code);
        assertEquals(List.of(1L, 2L, 3L), answeredBeforeLine, "answers printed before lines 2, 3 and 4 were read");
        assertEquals(texts.size(), out.toString(StandardCharsets.UTF_8).lines().count());
    }

    private static List<String> textsOf(JsonNode texts) {
        List<String> out = new ArrayList<>();
        texts.forEach(t -> out.add(t.asText()));
        return out;
    }

    private static String quoted(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }

    @Test
    void errorsAreOneClearLineAndNonZero() throws IOException {
        Run missing = run("predict", "--device", "cpu", "--model", tmp.resolve("nowhere").toString());
        assertEquals(1, missing.exit());
        assertEquals(1, missing.err().lines().count(), missing.err());
        assertTrue(missing.err().contains("nowhere") && missing.err().contains("does not exist"), missing.err());

        Run cuda = run("predict", "--model", TINY.toString(), "--device", "cuda");
        if (cuda.exit() != 0) {
            // no silent fall back to the CPU: one line saying why the GPU cannot be used (no driver, no device, ...)
            assertEquals(1, cuda.exit());
            assertEquals(1, cuda.err().lines().count(), cuda.err());
            assertTrue(cuda.err().toLowerCase(java.util.Locale.ROOT).contains("cuda"), cuda.err());
        }

        Path broken = tmp.resolve("broken");
        Files.createDirectories(broken);
        try (Stream<Path> files = Files.list(TINY)) {
            for (Path f : files.toList()) Files.copy(f, broken.resolve(f.getFileName()));
        }
        Files.writeString(broken.resolve("config.json"), "{\"hidden_size\": 32,");
        Run badConfig = run("predict", "--device", "cpu", "--model", broken.toString());
        assertEquals(1, badConfig.exit());
        assertEquals(1, badConfig.err().lines().count(), badConfig.err());
        assertTrue(badConfig.err().contains("config.json") && badConfig.err().contains("not valid JSON"), badConfig.err());

        Run verbose = run("predict", "--device", "cpu", "--model", broken.toString(), "--verbose");
        assertTrue(verbose.err().lines().count() > 1 && verbose.err().contains("at dev.bertft"), "--verbose adds the stack trace");

        Files.copy(TINY.resolve("config.json"), broken.resolve("config.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.write(broken.resolve("model.safetensors"), new byte[] {1, 2, 3});
        Run badWeights = run("predict", "--device", "cpu", "--model", broken.toString());
        assertEquals(1, badWeights.exit());
        assertTrue(badWeights.err().contains("model.safetensors"), badWeights.err());

        Path input = tmp.resolve("bad.jsonl");
        Files.writeString(input, "{\"text\": \"fine\"}\n{\"label\": 1}\n");
        Run badLine = run("predict", "--device", "cpu", "--model", TINY.toString(), "--input", input.toString());
        assertEquals(1, badLine.exit());
        assertTrue(badLine.err().contains("bad.jsonl:2") && badLine.err().contains("\"text\""), badLine.err());
    }
}
