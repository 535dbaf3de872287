package dev.bertft.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.bertft.api.BertClassifier;
import dev.bertft.api.ClassifierOptions;
import dev.bertft.api.Prediction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code bert-ft predict} and {@link BertClassifier#predict} print and return the same floats for the same
 * texts on the real all-MiniLM-L6-v2 folder (its head is drawn at random from seed 0 by both, so the numbers are
 * arbitrary but must agree to the bit), one text truncated at the tokenizer's 512 tokens, one empty.
 */
class PredictApiParityTest {
    static final Path MINILM = Path.of("..", "..", "shared", "models", "all-MiniLM-L6-v2").toAbsolutePath().normalize();

    @TempDir
    Path tmp;

    @Test
    void apiReturnsWhatTheCommandPrints() throws IOException {
        assumeTrue(Files.isDirectory(MINILM), MINILM + " is not present: skipping the API/CLI parity check on MiniLM");
        // the long text in the last batch, which alone is padded to 512 tokens
        List<String> texts = List.of("a great film", "dull and long", "Ünïcödé and punctuation?!", "",
                "the plot ".repeat(600).strip(), "Zebras never watch films again.");
        Path input = tmp.resolve("texts.txt");
        Files.write(input, texts, StandardCharsets.UTF_8);
        PredictCommandTest.Run cli = PredictCommandTest.run("predict", "--device", "cpu", "--model", MINILM.toString(),
                "--input", input.toString(), "--batch-size", "4");
        assertEquals(0, cli.exit(), cli.err());
        List<String> lines = cli.out().lines().toList();

        try (BertClassifier clf = BertClassifier.load(MINILM, ClassifierOptions.defaults().batchSize(4))) {
            assertEquals(512, clf.maxLength());
            List<Prediction> api = clf.predict(texts);
            assertEquals(texts.size(), lines.size(), cli.out());
            for (int i = 0; i < texts.size(); i++) {
                JsonNode line = PredictCommandTest.JSON.readTree(lines.get(i));
                Prediction p = api.get(i);
                assertEquals(line.get("label").asText(), p.label(), "text " + i);
                assertEquals(line.get("label_id").asInt(), p.labelId(), "text " + i);
                assertEquals(line.get("probs").toString(), floats(p.probabilities()), "probabilities of text " + i);
                assertEquals(line.get("logits").toString(), floats(p.logits()), "logits of text " + i);
            }
        }
    }

    /** A float array as Jackson writes it: Float.toString of each element. */
    private static String floats(float[] xs) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < xs.length; i++) s.append(i > 0 ? "," : "").append(xs[i]);
        return s.append(']').toString();
    }
}
