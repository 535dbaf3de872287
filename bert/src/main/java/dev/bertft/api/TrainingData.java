package dev.bertft.api;

import dev.bertft.classifier.ProblemType;
import dev.bertft.data.DataLoader;
import dev.bertft.data.DataOptions;
import dev.bertft.data.Dataset;
import dev.bertft.data.LabeledText;
import dev.bertft.data.TextColumns;

import java.io.IOException;
import java.util.List;
import java.util.Objects;

/**
 * What a {@link FineTuning} trains and evaluates on: files, as {@code bert-ft train --data} reads them, or
 * examples in memory. Immutable; each setter returns a changed copy.
 *
 * <p>Files: "imdb" (the IMDB archive, downloaded into the cache once), an aclImdb folder or .tar.gz, a
 * .csv/.tsv/.jsonl file, or a folder with train.{csv,tsv,jsonl} and optionally validation.* or test.* for
 * evaluation. In memory: lists of {@link LabeledText}, a text (or a sentence pair) with its label.
 *
 * <p>The problem type is the one set here, else config.json's problem_type of the model being fine-tuned,
 * else what the training labels tell (lists: multi-label; numbers with a fraction: regression; else
 * single-label), as for {@code bert-ft train}.
 */
public final class TrainingData {
    private final DataOptions files;
    private final List<LabeledText> train;
    private final List<LabeledText> eval;
    private final ProblemType problemType;

    private TrainingData(DataOptions files, List<LabeledText> train, List<LabeledText> eval, ProblemType problemType) {
        this.files = files;
        this.train = train;
        this.eval = eval;
        this.problemType = problemType;
    }

    /** Files, as {@code --data} names them: columns "text" and "label", the data's own evaluation part if it has one. */
    public static TrainingData fromFiles(String source) {
        Objects.requireNonNull(source, "data source is null");
        return new TrainingData(DataOptions.of(source), null, null, null);
    }

    /** The IMDB reviews: 25,000 to train on, the 25,000 test reviews to evaluate on. */
    public static TrainingData imdb() {
        return fromFiles("imdb");
    }

    /** Examples in memory, with no evaluation set unless {@link #evaluateOn(List)} gives one. */
    public static TrainingData of(List<LabeledText> train) {
        return new TrainingData(null, List.copyOf(Objects.requireNonNull(train, "training examples are null")), List.of(), null);
    }

    /** Evaluation examples in memory, beside in-memory training examples. */
    public TrainingData evaluateOn(List<LabeledText> examples) {
        requireMemory("evaluation examples in memory");
        return new TrainingData(null, train, List.copyOf(Objects.requireNonNull(examples, "evaluation examples are null")), problemType);
    }

    /** A separate file or folder to evaluate on (as --eval-data). */
    public TrainingData evaluateOnFiles(String source) {
        return withFiles(requireFiles("evaluation files").withEvalData(source));
    }

    /** The text column, or two for sentence pairs (ignored for IMDB). */
    public TrainingData textColumns(String... columns) {
        return textColumns(TextColumns.of(columns));
    }

    /** Where the text is: one column, a sentence pair, or columns joined into one text (ignored for IMDB). */
    public TrainingData textColumns(TextColumns columns) {
        return withFiles(requireFiles("text columns").withTextColumns(Objects.requireNonNull(columns, "text columns are null")));
    }

    /** The label column (ignored for IMDB). */
    public TrainingData labelColumn(String column) {
        return withFiles(requireFiles("a label column").withLabelColumn(column));
    }

    /** Hold out this fraction of the training files for evaluation, drawn with the run's seed. */
    public TrainingData validationSplit(double fraction) {
        return withFiles(requireFiles("a validation split").withValidationSplit(fraction));
    }

    /** Train on a random subset of this many examples of the files, drawn with the run's seed (0: all). */
    public TrainingData maxTrainSamples(int n) {
        return withFiles(requireFiles("a training subset").withMaxTrainSamples(n));
    }

    /** Evaluate on a random subset of this many examples of the files, drawn with the run's seed (0: all). */
    public TrainingData maxEvalSamples(int n) {
        return withFiles(requireFiles("an evaluation subset").withMaxEvalSamples(n));
    }

    /** What the labels are, instead of config.json's problem_type or what the labels tell. */
    public TrainingData problemType(ProblemType type) {
        return new TrainingData(files, train, eval, Objects.requireNonNull(type, "problem type is null"));
    }

    /** The data sets to train and evaluate on, drawn with {@code seed}; {@code fallback} is the model's problem type, or null. */
    Dataset load(long seed, boolean offline, ProblemType fallback) throws IOException {
        ProblemType type = problemType != null ? problemType : fallback;
        if (files == null) return DataLoader.fromMemory(train, eval, type);
        return DataLoader.fromEnvironment().load(files.forRun(seed, offline, type));
    }

    private TrainingData withFiles(DataOptions f) {
        return new TrainingData(f, null, null, problemType);
    }

    private DataOptions requireFiles(String what) {
        if (files == null) throw new IllegalStateException(what + " only apply to data from files; these examples are in memory");
        return files;
    }

    private void requireMemory(String what) {
        if (files != null) throw new IllegalStateException(what + " need training examples in memory; this data is read from " + files.data());
    }
}
