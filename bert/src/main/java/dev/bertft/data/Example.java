package dev.bertft.data;

/**
 * One example as the Trainer sees it: the text (and, for sentence-pair tasks, the second text, else null)
 * and its label. A single-label example has a class id, an index into {@link Dataset#labelNames()}, and
 * no targets; a regression example has the score as its one target, a multi-label example a multi-hot row
 * of {@code labelNames().size()} targets, and both the class id {@link #NO_CLASS}.
 */
public record Example(String text, String textPair, int label, float[] targets) {
    public static final int NO_CLASS = -1;

    public Example {
        if ((targets == null) == (label == NO_CLASS)) {
            throw new IllegalArgumentException("an example has a class id or float targets, not both or neither");
        }
    }

    /** A single-label example. */
    public Example(String text, String textPair, int label) {
        this(text, textPair, label, null);
    }

    /** A regression or multi-label example. */
    public Example(String text, String textPair, float[] targets) {
        this(text, textPair, NO_CLASS, targets);
    }
}
