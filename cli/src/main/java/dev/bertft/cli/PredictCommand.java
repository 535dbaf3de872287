package dev.bertft.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.api.BertClassifier;
import dev.bertft.autograd.Precision;
import dev.bertft.api.ClassifierOptions;
import dev.bertft.api.Prediction;
import dev.bertft.data.DataLoader;
import dev.bertft.data.LabeledText;
import dev.bertft.data.TextColumns;
import dev.bertft.data.Utf8Lines;
import dev.bertft.hub.ModelFiles;
import dev.bertft.tensor.Backend;
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
import java.util.regex.Pattern;

/**
 * Classifies texts with a fine-tuned model folder: one text per input line (or JSON Lines with a
 * "text" field, recognised when the first non-blank line starts with '{'; or a .csv/.tsv file with a header, or a
 * .json file as datasets reads one (JSON Lines, an array of objects, an object of columns);
 * --text-column names other fields, two of them a sentence pair), one JSON object per text on standard
 * output, in input order:
 * {"label":"pos","label_id":1,"probs":[...],"logits":[...]}, or for the other problem types what
 * {@link #print} says. In plain-text mode every line is a
 * text, the empty ones included; in JSON Lines mode blank lines are skipped. Input is read and
 * answered a window at a time (the classifier's length-sorted {@link BertClassifier#window}), or sooner when no
 * more input has arrived yet, so it can stream: a program that writes a line and waits for its answer gets it.
 */
@Command(name = "predict", mixinStandardHelpOptions = true,
        description = "Classify texts (one per line, JSON Lines with \"text\", or a CSV/TSV file's text column) with a model folder.")
final class PredictCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "DIR|HUB_ID",
            description = "A fine-tuned model folder (config.json, weights, tokenizer files), or a hub id found in (or downloaded to) the Hugging Face cache.")
    String model;

    @picocli.CommandLine.Mixin
    HubArgs hub;

    /** A first line that opens a JSON array: "[" alone, or "[" and the first object. */
    private static final Pattern JSON_ARRAY_START = Pattern.compile("\\s*\\[\\s*(\\{.*)?");

    @Option(names = "--input", paramLabel = "FILE", description = "Texts to classify: one a line, JSON Lines, a .csv/.tsv file "
            + "with a header, or a .json file (default: standard input).")
    Path input;

    /** JSON Lines and CSV/TSV input: which fields hold the text, or a sentence pair. */
    @picocli.CommandLine.Mixin
    TextColumnArgs text;

    @Option(names = "--max-length", paramLabel = "N",
            description = "Truncate to N tokens, [CLS] and [SEP] included (default: the tokenizer's model_max_length, at most max_position_embeddings).")
    Integer maxLength;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "32", description = "Texts per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @picocli.CommandLine.Mixin
    DeviceArgs device;

    @picocli.CommandLine.Mixin
    PrecisionArgs precisionArgs;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Integer call() throws IOException {
        Backend backend = device.open();
        Precision precision = precisionArgs.resolve(backend);
        if (batchSize <= 0) throw new IllegalArgumentException("--batch-size must be > 0, got " + batchSize);
        Path dir = hub.resolve(model, ModelFiles.Needs.MODEL);
        ClassifierOptions options = ClassifierOptions.defaults().backend(backend).batchSize(batchSize).precision(precision);
        if (maxLength != null) options = options.maxLength(checkedMaxLength(LoadedModel.maxPositions(dir)));
        try (BertClassifier classifier = BertClassifier.load(dir, options)) {
            if (!classifier.untrainedWeights().isEmpty()) {
                System.err.println("bert-ft predict: warning: " + dir + " has no trained weights for "
                        + classifier.untrainedWeights() + "; they are random, so are the predictions");
            }
            if (input != null && isTable(input)) classifyTable(classifier);
            else classifyLines(classifier);
        }
        return 0;
    }

    /** Files read whole, as train reads its data: CSV/TSV, and .json (JSON Lines, an array of objects or an object of columns). */
    private static boolean isTable(Path file) {
        String name = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        return name.endsWith(".csv") || name.endsWith(".tsv") || name.endsWith(".tab") || name.endsWith(".json");
    }

    /** A CSV/TSV file with a header, or a .json file: its text column(s), as train reads them (a label column is not read). */
    private void classifyTable(BertClassifier classifier) throws IOException {
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        List<LabeledText> rows = DataLoader.readTexts(input, text.textColumns());
        print(predict(classifier, rows), out);
        out.flush();
    }

    /** The texts (or pairs) through the classifier. */
    static List<Prediction> predict(BertClassifier classifier, List<LabeledText> texts) {
        List<String> first = texts.stream().map(LabeledText::text).toList();
        return texts.isEmpty() || texts.get(0).textPair() == null ? classifier.predict(first)
                : classifier.predict(first, texts.stream().map(LabeledText::textPair).toList());
    }

    private void classifyLines(BertClassifier classifier) throws IOException {
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        String source = input == null ? "<stdin>" : input.toString();
        TextColumns columns = text.textColumns();
        try (Utf8Lines in = new Utf8Lines(input == null ? System.in : Files.newInputStream(input), source)) {
            Boolean jsonLines = null;
            List<LabeledText> window = new ArrayList<>();
            long lineNumber = 0;
            try {
                for (String line; (line = in.next()) != null; ) {
                    lineNumber++;
                    if (jsonLines == null) {
                        if (line.isBlank()) {
                            window.add(LabeledText.of(line, null));
                            continue;
                        }
                        boolean json = line.stripLeading().startsWith("{");
                        if (!json && text.given()) {
                            throw new IllegalArgumentException("--text-column: " + source + " is plain text, one text a line; name fields"
                                    + " in JSON Lines, CSV or TSV input");
                        }
                        if (JSON_ARRAY_START.matcher(line).matches()) {
                            System.err.println("bert-ft predict: warning: " + source + " starts like a JSON array, but it is read as plain"
                                    + " text, one text a line; give a .json file with --input to read it as JSON");
                        }
                        jsonLines = json;
                        if (jsonLines) window.clear(); // blank lines before the first object are not texts
                    }
                    if (jsonLines) {
                        if (line.isBlank()) continue;
                        window.add(textOf(line, columns, source, lineNumber));
                    } else {
                        window.add(LabeledText.of(line, null));
                    }
                    if (window.size() == classifier.window() || in.idle()) answer(classifier, window, out);
                }
            } catch (IOException | IllegalArgumentException badLine) {
                // the texts read before a bad line still get their answers, as a shorter window would have given them
                if (jsonLines != null) answer(classifier, window, out);
                out.flush();
                throw badLine;
            }
            answer(classifier, window, out);
        }
        out.flush();
    }

    /** Answers the texts gathered so far, emptying the window first, so that texts whose answer failed are not tried again. */
    private static void answer(BertClassifier classifier, List<LabeledText> window, PrintStream out) throws JsonProcessingException {
        List<LabeledText> texts = List.copyOf(window);
        window.clear();
        print(predict(classifier, texts), out);
    }

    /** --max-length, checked here so that its error names the flag. */
    private int checkedMaxLength(int maxPositions) {
        if (maxLength < 2 || maxLength > maxPositions) {
            throw new IllegalArgumentException("--max-length must be in [2, " + maxPositions + "] (max_position_embeddings), got " + maxLength);
        }
        return maxLength;
    }

    /** A JSON Lines object's text (or pair) from the fields {@code columns} names. */
    private static LabeledText textOf(String line, TextColumns columns, String source, long lineNumber) {
        JsonNode node;
        try {
            node = JSON.readTree(line);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(source + ":" + lineNumber + ": not valid JSON: " + e.getOriginalMessage());
        }
        String[] values = new String[columns.names().size()];
        for (int i = 0; i < values.length; i++) {
            String field = columns.names().get(i);
            if (node == null || !node.isObject() || !node.path(field).isTextual()) {
                throw new IllegalArgumentException(source + ":" + lineNumber + ": expected a JSON object with a string \"" + field + "\"");
            }
            values[i] = node.get(field).asText();
        }
        return new LabeledText(columns.text(values), columns.secondText(values), null);
    }

    /**
     * One JSON line per prediction, by problem type: single-label {"label", "label_id", "probs" (softmax),
     * "logits"}; regression {"score"}; multi-label {"labels" and "label_ids" above 0.5, "probs" (sigmoid), "logits"}.
     */
    private static void print(List<Prediction> predictions, PrintStream out) throws JsonProcessingException {
        for (Prediction p : predictions) {
            ObjectNode line = JSON.createObjectNode();
            switch (p.problemType()) {
                case REGRESSION -> line.put("score", p.score());
                case SINGLE_LABEL_CLASSIFICATION -> {
                    line.put("label", p.label());
                    line.put("label_id", p.labelId());
                    floats(line.putArray("probs"), p.probabilities());
                    floats(line.putArray("logits"), p.logits());
                }
                case MULTI_LABEL_CLASSIFICATION -> {
                    ArrayNode names = line.putArray("labels"), ids = line.putArray("label_ids");
                    p.labels().forEach(names::add);
                    for (int id : p.labelIds()) ids.add(id);
                    floats(line.putArray("probs"), p.probabilities());
                    floats(line.putArray("logits"), p.logits());
                }
            }
            out.println(JSON.writeValueAsString(line));
        }
        out.flush();
    }

    private static void floats(ArrayNode array, float[] values) {
        for (float x : values) array.add(x);
    }
}
