package dev.bertft.cli;

import dev.bertft.bert.BertConfig;
import dev.bertft.data.Dataset;
import dev.bertft.tensor.Backend;
import dev.bertft.tokenizer.WordPieceTokenizer;
import dev.bertft.train.Batches;
import dev.bertft.train.Metrics;
import dev.bertft.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code bert-ft eval}: a fine-tuned model's loss and the metrics of its problem type on a data set's eval
 * split, with the confusion matrix for single-label classification.
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Evaluate a fine-tuned model on the evaluation split (for IMDB: the test set).")
final class EvalCommand implements Callable<Integer> {
    @Mixin
    DataArgs source;

    @Mixin
    DeviceArgs device;

    @Option(names = "--batch-size", defaultValue = "64", description = "Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    @Override
    public Integer call() throws Exception {
        if (batchSize <= 0) throw new IllegalArgumentException("--batch-size must be > 0");
        Backend backend = device.open();
        Path modelDir = source.resolveModel();
        WordPieceTokenizer tokenizer = WordPieceTokenizer.load(modelDir);
        // With --eval-data the model's own labels number the examples, and --data (IMDB by default) is not read.
        BertConfig config = BertConfig.read(modelDir.resolve("config.json"));
        Dataset data = source.evalData != null
                ? source.loadEvaluation(List.copyOf(config.id2label().values()), config.resolvedProblemType())
                : source.loadData(config.resolvedProblemType());
        LoadedModel loaded = LoadedModel.fineTuned(modelDir, backend, data.labelNames(), data.problemType());
        List<Batches.Tokenized> eval = DataArgs.tokenize(tokenizer, data.eval(), source.maxLength(tokenizer, loaded.maxPositions()));
        if (eval.isEmpty()) {
            throw new IllegalArgumentException(source.evalData != null ? "--eval-data " + source.evalData + ": no examples"
                    : "--data " + source.data + ": no evaluation examples (it has no test or validation split; give the file to evaluate as --eval-data)");
        }
        long t0 = System.nanoTime();
        Metrics m = Trainer.evaluate(loaded.model(), eval, batchSize, backend, tokenizer.padId(), data.labelNames().size());
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.println(report(m, data.labelNames(), seconds));
        return 0;
    }

    static String report(Metrics m, List<String> labels, double seconds) {
        StringBuilder sb = new StringBuilder();
        m.scores().forEach((name, v) -> sb.append(String.format(Locale.ROOT, "eval_%s %.4f%n", name, v)));
        sb.append(String.format(Locale.ROOT, "eval_loss %.4f%neval_samples %d%neval_runtime %.2f s%n", m.loss(), m.count(), seconds));
        if (m.confusion() == null) return sb.toString().stripTrailing();
        int w = 8;
        for (String l : labels) w = Math.max(w, l.length() + 2);
        sb.append("confusion matrix (rows: true, columns: predicted)\n");
        sb.append(" ".repeat(w));
        for (String l : labels) sb.append(String.format("%" + w + "s", l));
        sb.append('\n');
        for (int i = 0; i < labels.size(); i++) {
            sb.append(String.format("%" + w + "s", labels.get(i)));
            for (long v : m.confusion()[i]) sb.append(String.format("%" + w + "d", v));
            sb.append('\n');
        }
        return sb.toString().stripTrailing();
    }

    /** The metrics on one line: "accuracy 0.9100, f1 0.9050, loss 0.2500". */
    static String summary(Metrics m) {
        StringBuilder sb = new StringBuilder();
        m.scores().forEach((name, v) -> sb.append(String.format(Locale.ROOT, "%s %.4f, ", name, v)));
        return sb.append(String.format(Locale.ROOT, "loss %.4f", m.loss())).toString();
    }

}
