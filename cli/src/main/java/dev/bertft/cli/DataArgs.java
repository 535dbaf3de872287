package dev.bertft.cli;

import dev.bertft.api.TrainingData;
import dev.bertft.classifier.ProblemType;
import dev.bertft.data.DataLoader;
import dev.bertft.data.DataOptions;
import dev.bertft.data.Dataset;
import dev.bertft.data.TextColumns;
import dev.bertft.hub.ModelResolver;
import dev.bertft.tokenizer.WordPieceTokenizer;
import dev.bertft.train.Tokenization;
import dev.bertft.train.TrainingArgs;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** The options shared by train, eval and prepare: where model and data come from, and how to tokenize. */
final class DataArgs {
    @Option(names = "--model", defaultValue = "bert-base-uncased", paramLabel = "DIR|HUB_ID",
            description = "A model folder, or a hub id found in (or downloaded to) the Hugging Face cache. Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--data", defaultValue = "imdb", paramLabel = "SOURCE",
            description = "imdb, an aclImdb folder or .tar.gz, or CSV/TSV/JSON files (JSON Lines, an array of objects or an object of "
                    + "columns, as datasets reads them). Default: ${DEFAULT-VALUE}.")
    String data;

    @Option(names = "--eval-data", paramLabel = "SOURCE", description = "A separate file or folder to evaluate on.")
    String evalData;

    @Mixin
    TextColumnArgs text;

    /** HF scripts' dataset_name: only IMDB is read by name. */
    @Option(names = "--dataset-name", hidden = true)
    String datasetName;

    /** run_classification.py's do_regression. */
    @Option(names = "--do-regression", arity = "0..1", fallbackValue = "true", hidden = true)
    Boolean doRegression;

    @Option(names = "--label-column", defaultValue = "label",
            description = "Label column: class names or integer ids; numbers such as 3.5 for regression; for multi-label, "
                    + "JSON lists in JSONL ([\"sports\", \"politics\"] or multi-hot [0, 1, 0]) or names separated by | in CSV/TSV "
                    + "(sports|politics). Default: ${DEFAULT-VALUE}.")
    String labelColumn;

    @Option(names = "--problem-type", paramLabel = "TYPE",
            description = "single_label_classification, regression or multi_label_classification (config.json's problem_type). "
                    + "Default: config.json's, else told by the training labels: lists mean multi-label, numbers with a fraction "
                    + "regression, others single-label. eval takes the model's.")
    String problemType;

    @Option(names = "--validation-split", defaultValue = "0", description = "Hold out this fraction of train for evaluation (seeded).")
    double validationSplit;

    @Option(names = "--max-train-samples", defaultValue = "0", description = "Seeded random subset of the training data (0: all).")
    int maxTrainSamples;

    @Option(names = "--max-eval-samples", defaultValue = "0", description = "Seeded random subset of the evaluation data (0: all).")
    int maxEvalSamples;

    @Option(names = "--tokenizer-name", paramLabel = "DIR|HUB_ID", description = "Take the tokenizer from this folder or hub id "
            + "instead of --model's (for a model folder saved without one); train saves its files with the model.")
    String tokenizerName;

    @Mixin
    HubArgs hub;

    /** The command these options are mixed into: --seed and --max-length are its options, made from the library's declaration. */
    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    /** --seed. */
    long seed() {
        return HyperparameterOptions.value(command, TrainingArgs.SEED);
    }

    /** The model folder, and the folder of its tokenizer: its own, or --tokenizer-name's. */
    ModelResolver.ModelAndTokenizer resolveModel() throws IOException {
        return hub.resolver().resolveWithTokenizer(model, tokenizerName);
    }

    /** The data, its labels read as --problem-type says, else as {@code fallback} says (a model's config.json; null: as they look). */
    Dataset loadData(ProblemType fallback) throws IOException {
        return DataLoader.fromEnvironment().load(options(fallback));
    }

    /** Only --eval-data, labelled by a fine-tuned model's labels and problem type: --data is not read. */
    Dataset loadEvaluation(List<String> modelLabels, ProblemType modelType) throws IOException {
        return DataLoader.fromEnvironment().loadEvaluation(options(null), modelLabels, modelType);
    }

    /** What train fine-tunes on: --data and the options that say how to read it. */
    TrainingData trainingData() {
        TrainingData d = TrainingData.fromFiles(source()).textColumns(textColumns()).labelColumn(labelColumn)
                .validationSplit(validationSplit).maxTrainSamples(maxTrainSamples).maxEvalSamples(maxEvalSamples);
        if (evalData != null) d = d.evaluateOnFiles(evalData);
        ProblemType type = requestedProblemType();
        return type == null ? d : d.problemType(type);
    }

    /** --problem-type (or --do_regression true), or null. */
    private ProblemType requestedProblemType() {
        if (Boolean.FALSE.equals(doRegression)) {
            throw new IllegalArgumentException("--do-regression false: give --problem-type single_label_classification or "
                    + "multi_label_classification; without it bert-ft tells the problem type from the training labels");
        }
        if (problemType == null) return Boolean.TRUE.equals(doRegression) ? ProblemType.REGRESSION : null;
        ProblemType type;
        try {
            type = ProblemType.parse(problemType);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--problem-type: " + e.getMessage());
        }
        if (Boolean.TRUE.equals(doRegression) && type != ProblemType.REGRESSION) {
            throw new IllegalArgumentException("--do-regression and --problem-type " + problemType + " disagree: give one");
        }
        return type;
    }

    /** --data, or the one dataset --dataset-name may name. */
    private String source() {
        if (datasetName == null) return data;
        if (!List.of("imdb", "stanfordnlp/imdb").contains(datasetName.toLowerCase(Locale.ROOT))) {
            throw new IllegalArgumentException("--dataset-name " + datasetName + ": bert-ft reads the imdb dataset by name and any other"
                    + " data from files; give them with --train_file and --validation_file (CSV, TSV or JSON)");
        }
        if (given("--data") && !data.equals("imdb")) {
            throw new IllegalArgumentException("--dataset-name " + datasetName + " and --data " + data + ": give one");
        }
        return "imdb";
    }

    TextColumns textColumns() {
        return text.textColumns();
    }

    private boolean given(String option) {
        return command.commandLine().getParseResult().hasMatchedOption(option);
    }

    private DataOptions options(ProblemType fallback) {
        ProblemType asked = requestedProblemType(), type = asked != null ? asked : fallback;
        return new DataOptions(source(), evalData, textColumns(), labelColumn, validationSplit, maxTrainSamples, maxEvalSamples, seed(),
                hub.isOffline(), type);
    }

    /** The sequence length to truncate to: --max-length, else the tokenizer's and model's limit. */
    int maxLength(WordPieceTokenizer tokenizer, int maxPositions) {
        return Tokenization.maxLength(HyperparameterOptions.value(command, TrainingArgs.MAX_LENGTH), tokenizer, maxPositions);
    }
}
