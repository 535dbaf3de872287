package dev.bertft.data;

/**
 * One classification example as the Trainer sees it: the text (and, for sentence-pair tasks, the second
 * text, else null) and the label id, an index into {@link Dataset#labelNames()}.
 */
public record Example(String text, String textPair, int label) {
}
