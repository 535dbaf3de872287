package dev.bertft.cli;

import dev.bertft.api.BertClassifier;
import dev.bertft.api.ClassifierOptions;
import dev.bertft.api.Prediction;
import dev.bertft.data.DataLoader;
import dev.bertft.data.LabeledText;
import dev.bertft.data.TextColumns;
import dev.bertft.io.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * run_classification.py's --do_predict, after training: the --test_file's texts (its first --max_predict_samples),
 * read with the training data's text columns before the first step, so a bad file costs no training; then
 * classified by the model train saved and written as predict_results.txt in that script's format: a header line
 * "index\tprediction", then per text its index and the class name, the score to three decimals (regression), or
 * the list of classes above 0.5 (multi-label, as Python prints a list).
 */
final class TestPredictions {
    static final String FILE = "predict_results.txt";

    private final List<LabeledText> rows;

    private TestPredictions(List<LabeledText> rows) {
        this.rows = rows;
    }

    /** The texts to predict; a label column, if the file has one, is not read (the script removes it too). */
    static TestPredictions read(Path file, TextColumns columns, int maxSamples) throws IOException {
        List<LabeledText> rows = DataLoader.readTexts(file, columns);
        return new TestPredictions(maxSamples > 0 && maxSamples < rows.size() ? rows.subList(0, maxSamples) : rows);
    }

    int size() {
        return rows.size();
    }

    /** Classifies the texts with the model in {@code modelDir} and writes predict_results.txt beside it. */
    Path write(Path modelDir, ClassifierOptions options) throws IOException {
        List<Prediction> predictions;
        try (BertClassifier classifier = BertClassifier.load(modelDir, options)) {
            predictions = PredictCommand.predict(classifier, rows);
        }
        StringBuilder out = new StringBuilder("index\tprediction\n");
        for (int i = 0; i < predictions.size(); i++) out.append(i).append('\t').append(text(predictions.get(i))).append('\n');
        Path file = modelDir.resolve(FILE);
        AtomicFiles.write(file, out.toString().getBytes(StandardCharsets.UTF_8));
        return file;
    }

    /** A prediction as the script writes it: f"{item:3.3f}", the class name, or a Python list of names. */
    static String text(Prediction p) {
        return switch (p.problemType()) {
            case REGRESSION -> String.format(Locale.ROOT, "%3.3f", p.score());
            case SINGLE_LABEL_CLASSIFICATION -> p.label();
            case MULTI_LABEL_CLASSIFICATION -> p.labels().stream().map(TestPredictions::pythonString)
                    .collect(Collectors.joining(", ", "[", "]"));
        };
    }

    /** Python's repr of a str: single quotes, unless the text holds one and no double quote. */
    private static String pythonString(String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder b = new StringBuilder().append(quote);
        for (char c : s.toCharArray()) {
            if (c == '\\' || c == quote) b.append('\\');
            b.append(c);
        }
        return b.append(quote).toString();
    }
}
