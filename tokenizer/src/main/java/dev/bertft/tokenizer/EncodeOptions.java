package dev.bertft.tokenizer;

/**
 * How texts become encodings.
 *
 * @param maxLength        the cap on the number of tokens, special tokens included; 0 = none
 * @param truncation       how to cut a too-long input down to {@code maxLength}
 * @param padding          to which length a batch is padded
 * @param padToMultipleOf  when padding, round the padded length up to a multiple of this; 0 = off
 * @param addSpecialTokens whether to wrap the text(s) in the template ([CLS] A [SEP] B [SEP])
 */
public record EncodeOptions(int maxLength, Truncation truncation, Padding padding, int padToMultipleOf,
                            boolean addSpecialTokens) {

    public EncodeOptions {
        if (maxLength < 0) throw new IllegalArgumentException("maxLength must be >= 0, got " + maxLength);
        if (padToMultipleOf < 0) throw new IllegalArgumentException("padToMultipleOf must be >= 0, got " + padToMultipleOf);
        if (padding == Padding.MAX_LENGTH && maxLength == 0) {
            throw new IllegalArgumentException("padding to max length needs a maxLength");
        }
        if (truncation != Truncation.NONE && maxLength == 0) {
            throw new IllegalArgumentException("truncation " + truncation + " needs a maxLength");
        }
    }

    /** Special tokens, no padding; longest-first truncation to {@code maxLength} when it is positive. */
    public static EncodeOptions of(int maxLength) {
        return new EncodeOptions(maxLength, maxLength > 0 ? Truncation.LONGEST_FIRST : Truncation.NONE,
                Padding.NONE, 0, true);
    }

    public EncodeOptions withPadding(Padding p) {
        return new EncodeOptions(maxLength, truncation, p, padToMultipleOf, addSpecialTokens);
    }

    public EncodeOptions withTruncation(Truncation t) {
        return new EncodeOptions(maxLength, t, padding, padToMultipleOf, addSpecialTokens);
    }

    public EncodeOptions withPadToMultipleOf(int m) {
        return new EncodeOptions(maxLength, truncation, padding, m, addSpecialTokens);
    }

    public EncodeOptions withSpecialTokens(boolean add) {
        return new EncodeOptions(maxLength, truncation, padding, padToMultipleOf, add);
    }
}
