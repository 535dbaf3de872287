package dev.bertft.tokenizer;

/**
 * The switches of HF's {@code BertNormalizer}. {@code stripAccents} is already resolved: HF's
 * "null" means "strip whenever lowercasing".
 */
public record NormalizerSettings(boolean cleanText, boolean handleChineseChars, boolean stripAccents, boolean lowercase) {
    /** bert-base-uncased: clean, split CJK, strip accents, lowercase. */
    public static final NormalizerSettings UNCASED = new NormalizerSettings(true, true, true, true);
}
