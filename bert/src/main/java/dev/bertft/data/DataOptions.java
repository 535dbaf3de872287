package dev.bertft.data;

import dev.bertft.train.ProblemType;

import java.util.List;

/**
 * What the command line says about the data.
 *
 * @param data             "imdb", an aclImdb folder or .tar.gz, a .csv/.tsv/.jsonl file, or a folder with
 *                         train.{csv,tsv,jsonl} (and optionally validation.* or test.*)
 * @param evalData         an explicit evaluation source, or null
 * @param textColumns      the text column, or two for sentence pairs (ignored for aclImdb)
 * @param labelColumn      the label column (ignored for aclImdb)
 * @param validationSplit  fraction of the training data to hold out for evaluation, 0 for none
 * @param maxTrainSamples  keep a seeded random subset of this many training examples, 0 for all
 * @param maxEvalSamples   the same for evaluation examples
 * @param seed             seed for the validation split and the subsets
 * @param offline          never download (the imdb archive must already be in the cache)
 * @param problemType      what the labels must be, or null to tell from the training labels (see {@link Labels})
 */
public record DataOptions(String data, String evalData, List<String> textColumns, String labelColumn,
                          double validationSplit, int maxTrainSamples, int maxEvalSamples, long seed, boolean offline,
                          ProblemType problemType) {
    public DataOptions {
        textColumns = List.copyOf(textColumns);
    }

    /** Defaults: columns "text" and "label", no split, no subsets, seed 42 (the HF Trainer's default seed), problem type from the labels. */
    public static DataOptions of(String data) {
        return new DataOptions(data, null, List.of("text"), "label", 0, 0, 0, 42, false, null);
    }
}
