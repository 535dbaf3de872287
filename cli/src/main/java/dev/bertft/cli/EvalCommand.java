package dev.bertft.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.autograd.Precision;
import dev.bertft.bert.BertConfig;
import dev.bertft.data.Dataset;
import dev.bertft.io.AtomicFiles;
import dev.bertft.tensor.Backend;
import dev.bertft.hub.ModelResolver;
import dev.bertft.tokenizer.WordPieceTokenizer;
import dev.bertft.train.Batches;
import dev.bertft.train.Metrics;
import dev.bertft.train.OutputFolders;
import dev.bertft.train.Tokenization;
import dev.bertft.train.Trainer;
import dev.bertft.train.TrainingArgs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/**
 * {@code bert-ft eval}: a fine-tuned model's loss and the metrics of its problem type on a data set's eval
 * split, with the confusion matrix for single-label classification.
 */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false, modelTransformer = HyperparameterOptions.class,
        description = "Evaluate a fine-tuned model on the evaluation split (for IMDB: the test set).")
final class EvalCommand implements Callable<Integer> {
    @Mixin
    DataArgs source;

    @Mixin
    DeviceArgs device;

    @Mixin
    PrecisionArgs precisionArgs;

    @Mixin
    ProgressArgs progressArgs;

    @Option(names = "--batch-size", defaultValue = "64", description = "Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--output-dir", paramLabel = "DIR",
            description = "Where eval_results.json goes (default: the model folder, unless it came from the Hugging Face cache).")
    Path outputDir;

    @Option(names = "--json", description = "Print eval_results.json on standard output instead of the text report.")
    boolean json;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Integer call() throws Exception {
        if (batchSize <= 0) throw new IllegalArgumentException("--batch-size must be > 0");
        if (outputDir != null) OutputFolders.requireWritable(TrainingArgs.OUTPUT_DIR, outputDir);
        Backend backend = device.open();
        Precision precision = precisionArgs.resolve(backend);
        ModelResolver.ModelAndTokenizer folders = source.resolveModel();
        Path modelDir = folders.model();
        WordPieceTokenizer tokenizer = WordPieceTokenizer.load(folders.tokenizer());
        // With --eval-data the model's own labels number the examples, and --data (IMDB by default) is not read.
        BertConfig config = BertConfig.read(modelDir.resolve("config.json"));
        Dataset data = source.evalData != null
                ? source.loadEvaluation(List.copyOf(config.id2label().values()), config.resolvedProblemType())
                : source.loadData(config.resolvedProblemType());
        LoadedModel loaded = LoadedModel.fineTuned(modelDir, backend, data.labelNames(), data.problemType(), precision);
        List<Batches.Tokenized> eval = Tokenization.tokenize(tokenizer, data.eval(), source.maxLength(tokenizer, loaded.maxPositions()));
        if (eval.isEmpty()) {
            throw new IllegalArgumentException(source.evalData != null ? "--eval-data " + source.evalData + ": no examples"
                    : "--data " + source.data + ": no evaluation examples (it has no test or validation split; give the file to evaluate as --eval-data)");
        }
        long t0 = System.nanoTime();
        Metrics m = Trainer.evaluate(loaded.model(), eval, batchSize, backend, tokenizer.padId(), data.labelNames().size(),
                progressArgs.console());
        double seconds = (System.nanoTime() - t0) / 1e9;
        String results = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(results(m, seconds, modelDir));
        // a hub model's folder is the shared cache, not a place for results
        Path folder = outputDir != null ? outputDir : modelDir.equals(Path.of(source.model)) ? modelDir : null;
        if (folder != null) {
            AtomicFiles.write(folder.resolve(RESULTS_FILE), (results + "\n").getBytes(StandardCharsets.UTF_8));
        } else {
            System.err.println("bert-ft eval: " + RESULTS_FILE + " not written: the model is in the Hugging Face cache; give --output-dir");
        }
        System.out.println(json ? results : report(m, data.labelNames(), seconds));
        return 0;
    }

    static final String RESULTS_FILE = "eval_results.json";

    /**
     * What HF's run scripts save as eval_results.json: the metrics with HF's names, sorted, speeds rounded as
     * HF's speed_metrics rounds them, and the epoch the model was trained for when its trainer_state.json says.
     */
    private ObjectNode results(Metrics m, double seconds, Path modelDir) {
        Map<String, Object> sorted = new TreeMap<>(Trainer.evalMetrics(m, seconds, batchSize));
        sorted.put("eval_samples", m.count());
        sorted.computeIfPresent("eval_runtime", (k, v) -> round((Double) v, 4));
        sorted.computeIfPresent("eval_samples_per_second", (k, v) -> round((Double) v, 3));
        sorted.computeIfPresent("eval_steps_per_second", (k, v) -> round((Double) v, 3));
        JsonNode epoch = trainedEpoch(modelDir.resolve("trainer_state.json"));
        if (epoch != null) sorted.put("epoch", epoch);
        return JSON.valueToTree(sorted);
    }

    private static double round(double v, int decimals) {
        double scale = Math.pow(10, decimals);
        return Math.round(v * scale) / scale;
    }

    /** The epoch in a trainer_state.json, or null when there is none to read. */
    private static JsonNode trainedEpoch(Path stateFile) {
        if (!Files.isRegularFile(stateFile)) return null;
        try {
            JsonNode epoch = JSON.readTree(stateFile.toFile()).get("epoch");
            return epoch != null && epoch.isNumber() ? epoch : null;
        } catch (IOException unreadable) {
            return null;   // the epoch is a courtesy; the evaluation stands without it
        }
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
}
