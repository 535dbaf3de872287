package dev.bertft.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bertft.autograd.GradMode;
import dev.bertft.bert.BertForSequenceClassification;
import dev.bertft.data.Utf8Lines;
import dev.bertft.hub.ModelFiles;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Tensor;
import dev.bertft.tokenizer.Encoding;
import dev.bertft.tokenizer.Padding;
import dev.bertft.tokenizer.WordPieceTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Classifies texts with a fine-tuned model folder: one text per input line (or JSON Lines with a
 * "text" field, recognised when the first non-blank line starts with '{'), one JSON object per
 * text on standard output, in input order:
 * {"label":"pos","label_id":1,"probs":[...],"logits":[...]}, or for the other problem types what
 * {@link PredictionLine} says. In plain-text mode every line is a
 * text, the empty ones included; in JSON Lines mode blank lines are skipped. Input is read and
 * answered batch by batch, so it can stream.
 */
@Command(name = "predict", mixinStandardHelpOptions = true,
        description = "Classify texts (one per line, or JSON Lines with \"text\") with a model folder.")
final class PredictCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "DIR|HUB_ID",
            description = "A fine-tuned model folder (config.json, weights, tokenizer files), or a hub id found in (or downloaded to) the Hugging Face cache.")
    String model;

    @picocli.CommandLine.Mixin
    HubArgs hub;

    @Option(names = "--input", paramLabel = "FILE", description = "Texts to classify (default: standard input).")
    Path input;

    @Option(names = "--max-length", paramLabel = "N",
            description = "Truncate to N tokens, [CLS] and [SEP] included (default: the tokenizer's model_max_length, at most max_position_embeddings).")
    Integer maxLength;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "32", description = "Texts per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @picocli.CommandLine.Mixin
    DeviceArgs device;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Integer call() throws IOException {
        Backend backend = device.open();
        if (batchSize <= 0) throw new IllegalArgumentException("--batch-size must be > 0, got " + batchSize);
        Path dir = hub.resolve(model, ModelFiles.Needs.MODEL);
        BertForSequenceClassification classifier = BertForSequenceClassification.fromPretrained(dir, backend,
                BertForSequenceClassification.LoadOptions.seed(0));
        if (!classifier.loadReport().newlyInitialized().isEmpty()) {
            System.err.println("bert-ft predict: warning: " + dir + " has no trained weights for "
                    + classifier.loadReport().newlyInitialized() + "; they are random, so are the predictions");
        }
        classifier.setTraining(false);
        WordPieceTokenizer tokenizer = WordPieceTokenizer.load(dir);
        int limit = maxLength(tokenizer, classifier.config().maxPositionEmbeddings());

        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        String source = input == null ? "<stdin>" : input.toString();
        try (Utf8Lines in = new Utf8Lines(input == null ? System.in : Files.newInputStream(input), source)) {
            Boolean jsonLines = null;
            List<String> batch = new ArrayList<>();
            long lineNumber = 0;
            for (String line; (line = in.next()) != null; ) {
                lineNumber++;
                if (jsonLines == null) {
                    if (line.isBlank()) {
                        batch.add(line);
                        continue;
                    }
                    jsonLines = line.stripLeading().startsWith("{");
                    if (jsonLines) batch.clear(); // blank lines before the first object are not texts
                }
                if (jsonLines) {
                    if (line.isBlank()) continue;
                    batch.add(textOf(line, source, lineNumber));
                } else {
                    batch.add(line);
                }
                if (batch.size() == batchSize) {
                    classify(classifier, tokenizer, limit, batch, backend, out);
                    batch.clear();
                }
            }
            if (!batch.isEmpty()) classify(classifier, tokenizer, limit, batch, backend, out);
        }
        out.flush();
        return 0;
    }

    private int maxLength(WordPieceTokenizer tokenizer, int maxPositions) {
        if (maxLength != null) {
            if (maxLength < 2 || maxLength > maxPositions) {
                throw new IllegalArgumentException("--max-length must be in [2, " + maxPositions + "] (max_position_embeddings), got " + maxLength);
            }
            return maxLength;
        }
        int fromTokenizer = tokenizer.modelMaxLength();
        return fromTokenizer > 0 ? Math.min(fromTokenizer, maxPositions) : maxPositions;
    }

    private static String textOf(String line, String source, long lineNumber) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(source + ":" + lineNumber + ": not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject() || !node.path("text").isTextual()) {
            throw new IllegalArgumentException(source + ":" + lineNumber + ": expected a JSON object with a string \"text\"");
        }
        return node.get("text").asText();
    }

    /** One padded batch through the model; one JSON line per text. */
    private static void classify(BertForSequenceClassification classifier, WordPieceTokenizer tokenizer, int maxLength,
                                 List<String> texts, Backend backend, PrintStream out) throws JsonProcessingException {
        List<Encoding> enc = tokenizer.encodeBatch(texts, maxLength, Padding.LONGEST);
        int b = enc.size(), t = enc.get(0).length();
        int[] ids = new int[b * t], types = new int[b * t], mask = new int[b * t];
        for (int i = 0; i < b; i++) {
            System.arraycopy(enc.get(i).ids(), 0, ids, i * t, t);
            System.arraycopy(enc.get(i).typeIds(), 0, types, i * t, t);
            System.arraycopy(enc.get(i).attentionMask(), 0, mask, i * t, t);
        }
        float[] logits;
        try (GradMode off = GradMode.off(); Backend.Scope batch = backend.openScope()) {
            logits = classifier.logits(Tensor.of(backend, ids, b, t), Tensor.of(backend, types, b, t), Tensor.of(backend, mask, b, t))
                    .value().toFloatArray();
        }
        int c = logits.length / b;
        for (int i = 0; i < b; i++) {
            out.println(JSON.writeValueAsString(PredictionLine.of(classifier.problemType(), classifier.config().id2label(), logits, i * c, c)));
        }
        out.flush();
    }
}
