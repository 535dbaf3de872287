package dev.bertft.tokenizer;

/**
 * The character classes of Hugging Face's BERT normalizer and pre-tokenizer, one function each,
 * written from their definitions in the Rust {@code tokenizers} crate:
 * <ul>
 *   <li>whitespace: tab, newline, carriage return, or the Unicode White_Space property
 *       (Rust's {@code char::is_whitespace}; Java's {@code Character.isWhitespace} differs: it
 *       rejects no-break spaces and accepts U+001C..U+001F);</li>
 *   <li>control: general category C* other than unassigned (Cc, Cf, Co, Cs), except tab,
 *       newline and carriage return, which count as whitespace;</li>
 *   <li>punctuation: every ASCII symbol ({@code !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~}) or a
 *       code point of category P*;</li>
 *   <li>Chinese: the CJK Unified Ideographs blocks and their extensions and compatibility
 *       blocks, HF's ranges (Hangul and Kana are not in it).</li>
 * </ul>
 * Categories come from the running JDK's Unicode tables, less {@link HfUnicodeCategories the code
 * points that HF's older tables do not know}.
 */
final class BertUnicode {
    private BertUnicode() {}

    static boolean isWhitespace(int cp) {
        return switch (cp) {
            case 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000 -> true;
            default -> cp >= 0x2000 && cp <= 0x200A;
        };
    }

    static boolean isControl(int cp) {
        if (cp == '\t' || cp == '\n' || cp == '\r') return false;
        int type = HfUnicodeCategories.type(cp);
        return type == Character.CONTROL || type == Character.FORMAT
                || type == Character.PRIVATE_USE || type == Character.SURROGATE;
    }

    static boolean isPunctuation(int cp) {
        if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
            return true;
        }
        return switch (HfUnicodeCategories.type(cp)) {
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                    Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION, Character.FINAL_QUOTE_PUNCTUATION,
                    Character.OTHER_PUNCTUATION -> true;
            default -> false;
        };
    }

    static boolean isNonspacingMark(int cp) {
        return HfUnicodeCategories.type(cp) == Character.NON_SPACING_MARK;
    }

    static boolean isChinese(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF)
                || (cp >= 0x3400 && cp <= 0x4DBF)
                || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F)
                || (cp >= 0x2B740 && cp <= 0x2B81F)
                || (cp >= 0x2B920 && cp <= 0x2CEAF) // sic: HF starts at 0x2B920, Google's BERT at 0x2B820
                || (cp >= 0xF900 && cp <= 0xFAFF)
                || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }
}
