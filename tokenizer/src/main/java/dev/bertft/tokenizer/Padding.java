package dev.bertft.tokenizer;

/** Which length a batch is padded to. */
public enum Padding {
    /** Each encoding keeps its own length. */
    NONE,
    /** Every encoding padded to the longest in its batch. */
    LONGEST,
    /** Every encoding padded to the options' maximum length. */
    MAX_LENGTH
}
