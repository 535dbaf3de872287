package dev.bertft.cli;

import dev.bertft.api.TrainingData;
import dev.bertft.classifier.ProblemType;
import dev.bertft.data.DataLoader;
import dev.bertft.data.DataOptions;
import dev.bertft.data.Dataset;
import dev.bertft.hub.ModelFiles;
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

/** The options shared by train, eval and prepare: where model and data come from, and how to tokenize. */
final class DataArgs {
    @Option(names = "--model", defaultValue = "bert-base-uncased", paramLabel = "DIR|HUB_ID",
            description = "A model folder, or a hub id found in (or downloaded to) the Hugging Face cache. Default: ${DEFAULT-VALUE}.")
    String model;

    @Option(names = "--data", defaultValue = "imdb", paramLabel = "SOURCE",
            description = "imdb, an aclImdb folder or .tar.gz, or CSV/TSV/JSONL files. Default: ${DEFAULT-VALUE}.")
    String data;

    @Option(names = "--eval-data", paramLabel = "SOURCE", description = "A separate file or folder to evaluate on.")
    String evalData;

    @Option(names = "--text-column", defaultValue = "text", split = ",",
            description = "Text column (two, comma-separated, for sentence pairs). Default: ${DEFAULT-VALUE}.")
    List<String> textColumns;

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

    @Mixin
    HubArgs hub;

    /** The command these options are mixed into: --seed and --max-length are its options, made from the library's declaration. */
    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    /** --seed. */
    long seed() {
        return HyperparameterOptions.value(command, TrainingArgs.SEED);
    }

    Path resolveModel() throws IOException {
        return hub.resolve(model, ModelFiles.Needs.MODEL);
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
        TrainingData d = TrainingData.fromFiles(data).textColumns(textColumns.toArray(new String[0])).labelColumn(labelColumn)
                .validationSplit(validationSplit).maxTrainSamples(maxTrainSamples).maxEvalSamples(maxEvalSamples);
        if (evalData != null) d = d.evaluateOnFiles(evalData);
        ProblemType type = requestedProblemType();
        return type == null ? d : d.problemType(type);
    }

    /** --problem-type, or null. */
    private ProblemType requestedProblemType() {
        if (problemType == null) return null;
        try {
            return ProblemType.parse(problemType);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--problem-type: " + e.getMessage());
        }
    }

    private DataOptions options(ProblemType fallback) {
        ProblemType asked = requestedProblemType(), type = asked != null ? asked : fallback;
        return new DataOptions(data, evalData, textColumns, labelColumn, validationSplit, maxTrainSamples, maxEvalSamples, seed(),
                hub.isOffline(), type);
    }

    /** The sequence length to truncate to: --max-length, else the tokenizer's and model's limit. */
    int maxLength(WordPieceTokenizer tokenizer, int maxPositions) {
        return Tokenization.maxLength(HyperparameterOptions.value(command, TrainingArgs.MAX_LENGTH), tokenizer, maxPositions);
    }
}
