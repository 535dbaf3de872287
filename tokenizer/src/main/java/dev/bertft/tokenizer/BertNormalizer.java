package dev.bertft.tokenizer;

import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;

/**
 * HF's BERT normalizer as a function of one code point, tabulated for the Basic Multilingual
 * Plane. HF applies, in this order, to the whole text:
 * <ol>
 *   <li>clean_text: drop U+0000, U+FFFD and control characters; whitespace becomes ' ';</li>
 *   <li>handle_chinese_chars: put spaces around each CJK ideograph (the caller does this, by
 *       making each one a word of its own);</li>
 *   <li>strip_accents: NFD, then drop nonspacing marks (Mn);</li>
 *   <li>lowercase: per code point, Rust's {@code char::to_lowercase} (no final-sigma rule, and
 *       U+0130 becomes "i" + U+0307).</li>
 * </ol>
 * Every step but NFD maps one code point to zero or more independently of its neighbours; NFD
 * does too except for the canonical reordering of combining marks. Stripping removes the Mn
 * marks, so reordering could only change the output for two adjacent spacing marks of
 * non-zero combining class in the wrong order (U+302E/U+302F, a few musical symbols): this
 * per-code-point table does not reorder those.
 * <p>
 * The pre-tokenizer then looks at each output code point: whitespace separates words,
 * punctuation is a word of its own, anything else extends the current word.
 */
final class BertNormalizer {
    static final int WORD = 0, SPACE = 1, PUNCT = 2;

    private static final int[] NOTHING = new int[0];

    private final NormalizerSettings settings;
    /** BMP code point -> its only output code point (>= 0), -1 for none, or -2 - k for multi[k]. */
    private final int[] bmpMap = new int[0x10000];
    private final int[][] multi;
    /** BMP output code point -> WORD, SPACE or PUNCT. */
    private final byte[] bmpClass = new byte[0x10000];

    BertNormalizer(NormalizerSettings settings) {
        this.settings = settings;
        List<int[]> multis = new ArrayList<>();
        for (int cp = 0; cp < 0x10000; cp++) {
            int[] out = normalize(cp);
            if (out.length == 1) {
                bmpMap[cp] = out[0];
            } else if (out.length == 0) {
                bmpMap[cp] = -1;
            } else {
                bmpMap[cp] = -2 - multis.size();
                multis.add(out);
            }
            bmpClass[cp] = (byte) preTokenizerClass(cp);
        }
        multi = multis.toArray(new int[0][]);
    }

    NormalizerSettings settings() {
        return settings;
    }

    /** The normalizer's table entry for a BMP code point (see {@link #bmpMap}). */
    int bmpEntry(int cp) {
        return bmpMap[cp];
    }

    int[] multi(int entry) {
        return multi[-2 - entry];
    }

    int classOf(int cp) {
        return cp < 0x10000 ? bmpClass[cp] : preTokenizerClass(cp);
    }

    boolean isolates(int cp) {
        return settings.handleChineseChars() && BertUnicode.isChinese(cp);
    }

    /** The normalizer's output for one input code point (steps 1, 3 and 4 above). */
    int[] normalize(int cp) {
        if (settings.cleanText()) {
            if (cp == 0 || cp == 0xFFFD || BertUnicode.isControl(cp)) return NOTHING;
            if (BertUnicode.isWhitespace(cp)) return new int[] {' '};
        }
        int[] out = {cp};
        if (settings.stripAccents()) {
            String s = Character.toString(cp);
            String nfd = Normalizer.isNormalized(s, Normalizer.Form.NFD) ? s : Normalizer.normalize(s, Normalizer.Form.NFD);
            out = nfd.codePoints().filter(c -> !BertUnicode.isNonspacingMark(c)).toArray();
        }
        if (settings.lowercase()) {
            int n = 0;
            for (int c : out) n += c == 0x130 ? 2 : 1;
            int[] lower = new int[n];
            int k = 0;
            for (int c : out) {
                if (c == 0x130) {
                    lower[k++] = 'i';
                    lower[k++] = 0x307;
                } else {
                    lower[k++] = Character.toLowerCase(c);
                }
            }
            out = lower;
        }
        return out;
    }

    private static int preTokenizerClass(int cp) {
        if (BertUnicode.isWhitespace(cp)) return SPACE;
        if (BertUnicode.isPunctuation(cp)) return PUNCT;
        return WORD;
    }
}
