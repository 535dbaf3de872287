package dev.bertft.tokenizer;

/**
 * One encoded text (or text pair), as the model consumes it. All arrays have the same length.
 *
 * @param ids               token ids, special tokens included, then padding
 * @param typeIds           segment of each token: 0 for the first text, 1 for the second
 * @param attentionMask     1 for real tokens, 0 for padding
 * @param specialTokensMask 1 for tokens the template added ([CLS], [SEP]) and for padding
 * @param charStarts        first UTF-16 index in the source text of each token (0 for special and padding tokens)
 * @param charEnds          end (exclusive) UTF-16 index in the source text; which text a token
 *                          belongs to is told by {@code typeIds}
 */
public record Encoding(int[] ids, int[] typeIds, int[] attentionMask, int[] specialTokensMask,
                       int[] charStarts, int[] charEnds) {

    public int length() {
        return ids.length;
    }

    /** This encoding padded on the right to {@code length} tokens (unchanged if already as long). */
    public Encoding padTo(int length, int padId) {
        int n = ids.length;
        if (length <= n) return this;
        int[] pi = java.util.Arrays.copyOf(ids, length);
        java.util.Arrays.fill(pi, n, length, padId);
        int[] ps = java.util.Arrays.copyOf(specialTokensMask, length);
        java.util.Arrays.fill(ps, n, length, 1);
        return new Encoding(pi, java.util.Arrays.copyOf(typeIds, length), java.util.Arrays.copyOf(attentionMask, length),
                ps, java.util.Arrays.copyOf(charStarts, length), java.util.Arrays.copyOf(charEnds, length));
    }
}
