package dev.bertft.data;

import dev.bertft.classifier.ProblemType;

/**
 * What the command line says about the data. Immutable; each {@code with...} returns a changed copy.
 *
 * @param data             "imdb", an aclImdb folder or .tar.gz, a .csv/.tsv/.jsonl file, or a folder with
 *                         train.{csv,tsv,jsonl} (and optionally validation.* or test.*)
 * @param evalData         an explicit evaluation source, or null
 * @param textColumns      where the text is: one column, a sentence pair, or columns joined (ignored for aclImdb)
 * @param labelColumn      the label column (ignored for aclImdb)
 * @param validationSplit  fraction of the training data to hold out for evaluation, 0 for none
 * @param maxTrainSamples  keep a seeded random subset of this many training examples, 0 for all
 * @param maxEvalSamples   the same for evaluation examples
 * @param seed             seed for the validation split and the subsets
 * @param offline          never download (the imdb archive must already be in the cache)
 * @param problemType      what the labels must be, or null to tell from the training labels (see {@link Labels})
 */
public record DataOptions(String data, String evalData, TextColumns textColumns, String labelColumn,
                          double validationSplit, int maxTrainSamples, int maxEvalSamples, long seed, boolean offline,
                          ProblemType problemType) {

    /** Defaults: columns "text" and "label", no split, no subsets, seed 42 (the HF Trainer's default seed), problem type from the labels. */
    public static DataOptions of(String data) {
        return new DataOptions(data, null, TextColumns.of("text"), "label", 0, 0, 0, 42, false, null);
    }

    public DataOptions withEvalData(String source) {
        return new DataOptions(data, source, textColumns, labelColumn, validationSplit, maxTrainSamples, maxEvalSamples, seed, offline,
                problemType);
    }

    public DataOptions withTextColumns(TextColumns columns) {
        return new DataOptions(data, evalData, columns, labelColumn, validationSplit, maxTrainSamples, maxEvalSamples, seed, offline,
                problemType);
    }

    public DataOptions withLabelColumn(String column) {
        return new DataOptions(data, evalData, textColumns, column, validationSplit, maxTrainSamples, maxEvalSamples, seed, offline,
                problemType);
    }

    public DataOptions withValidationSplit(double fraction) {
        return new DataOptions(data, evalData, textColumns, labelColumn, fraction, maxTrainSamples, maxEvalSamples, seed, offline,
                problemType);
    }

    public DataOptions withMaxTrainSamples(int n) {
        return new DataOptions(data, evalData, textColumns, labelColumn, validationSplit, n, maxEvalSamples, seed, offline, problemType);
    }

    public DataOptions withMaxEvalSamples(int n) {
        return new DataOptions(data, evalData, textColumns, labelColumn, validationSplit, maxTrainSamples, n, seed, offline, problemType);
    }

    /** The run's part: its seed, whether it may download, and the problem type it settled (null: tell from the labels). */
    public DataOptions forRun(long runSeed, boolean runOffline, ProblemType type) {
        return new DataOptions(data, evalData, textColumns, labelColumn, validationSplit, maxTrainSamples, maxEvalSamples, runSeed,
                runOffline, type);
    }
}
