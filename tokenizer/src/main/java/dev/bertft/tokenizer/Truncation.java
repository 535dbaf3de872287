package dev.bertft.tokenizer;

/** How a too-long input (or pair) is cut to the maximum length, as HF's truncation strategies. */
public enum Truncation {
    /** No cutting, whatever the length. */
    NONE,
    /** Cut the longer of the two texts first (HF's balanced split when both are too long). */
    LONGEST_FIRST,
    /** Cut only the first text. */
    ONLY_FIRST,
    /** Cut only the second text of a pair. */
    ONLY_SECOND
}
