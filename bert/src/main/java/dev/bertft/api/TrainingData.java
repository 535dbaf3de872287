package dev.bertft.api;

import dev.bertft.classifier.ProblemType;
import dev.bertft.data.DataLoader;
import dev.bertft.data.DataOptions;
import dev.bertft.data.Dataset;
import dev.bertft.data.LabeledText;

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
        DataOptions f = requireFiles("evaluation files");
        return withFiles(new DataOptions(f.data(), source, f.textColumns(), f.labelColumn(), f.validationSplit(), f.maxTrainSamples(),
                f.maxEvalSamples(), f.seed(), f.offline(), f.problemType()));
    }

    /** The text column, or two for sentence pairs (ignored for IMDB). */
    public TrainingData textColumns(String... columns) {
        DataOptions f = requireFiles("text columns");
        return withFiles(new DataOptions(f.data(), f.evalData(), List.of(columns), f.labelColumn(), f.validationSplit(), f.maxTrainSamples(),
                f.maxEvalSamples(), f.seed(), f.offline(), f.problemType()));
    }

    /** The label column (ignored for IMDB). */
    public TrainingData labelColumn(String column) {
        DataOptions f = requireFiles("a label column");
        return withFiles(new DataOptions(f.data(), f.evalData(), f.textColumns(), column, f.validationSplit(), f.maxTrainSamples(),
                f.maxEvalSamples(), f.seed(), f.offline(), f.problemType()));
    }

    /** Hold out this fraction of the training files for evaluation, drawn with the run's seed. */
    public TrainingData validationSplit(double fraction) {
        DataOptions f = requireFiles("a validation split");
        return withFiles(new DataOptions(f.data(), f.evalData(), f.textColumns(), f.labelColumn(), fraction, f.maxTrainSamples(),
                f.maxEvalSamples(), f.seed(), f.offline(), f.problemType()));
    }

    /** Train on a random subset of this many examples of the files, drawn with the run's seed (0: all). */
    public TrainingData maxTrainSamples(int n) {
        DataOptions f = requireFiles("a training subset");
        return withFiles(new DataOptions(f.data(), f.evalData(), f.textColumns(), f.labelColumn(), f.validationSplit(), n,
                f.maxEvalSamples(), f.seed(), f.offline(), f.problemType()));
    }

    /** Evaluate on a random subset of this many examples of the files, drawn with the run's seed (0: all). */
    public TrainingData maxEvalSamples(int n) {
        DataOptions f = requireFiles("an evaluation subset");
        return withFiles(new DataOptions(f.data(), f.evalData(), f.textColumns(), f.labelColumn(), f.validationSplit(), f.maxTrainSamples(),
                n, f.seed(), f.offline(), f.problemType()));
    }

    /** What the labels are, instead of config.json's problem_type or what the labels tell. */
    public TrainingData problemType(ProblemType type) {
        return new TrainingData(files, train, eval, Objects.requireNonNull(type, "problem type is null"));
    }

    /** The data sets to train and evaluate on, drawn with {@code seed}; {@code fallback} is the model's problem type, or null. */
    Dataset load(long seed, boolean offline, ProblemType fallback) throws IOException {
        ProblemType type = problemType != null ? problemType : fallback;
        if (files == null) return DataLoader.fromMemory(train, eval, type);
        return DataLoader.fromEnvironment().load(new DataOptions(files.data(), files.evalData(), files.textColumns(), files.labelColumn(),
                files.validationSplit(), files.maxTrainSamples(), files.maxEvalSamples(), seed, offline, type));
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
