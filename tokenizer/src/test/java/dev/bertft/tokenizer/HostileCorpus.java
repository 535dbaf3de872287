package dev.bertft.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Texts built to break a tokenizer: accents precomposed and decomposed, stacked combining marks,
 * CJK / Hangul / Kana, emoji sequences, zero-width and control characters, exotic spaces, case
 * traps (Greek sigma, Turkish dotted I, Kelvin sign, ß), special-token look-alikes, words around
 * the 100-character limit, long texts and empty ones. Seeded, so a failure replays.
 * <p>
 * No lone surrogates: they are not text in HF's Rust strings, and DJL's string conversion
 * garbles every supplementary character of a text that has one; see {@code HfParityTest}.
 */
final class HostileCorpus {
    /** Fragments, each a small trap; texts are random sequences of them. */
    static final String[] FRAGMENTS = {
        "Hello", "world", "don't", "I'm", "it's", "U.S.A.", "e-mail", "state-of-the-art", "3.14159", "1,000,000",
        "<br /><br />", "http://example.com/a?b=c&d=e", "user@host.org", "#hashtag", "@mention", "$5", "100%", "(a)", "[b]", "{c}",
        "café", "cafe\u0301", "naïve", "nai\u0308ve", "résumé", "Ångström", "A\u030Angstro\u0308m", "señor", "Zoë", "crème brûlée",
        "Tiếng Việt", "Tie\u0302\u0301ng Vie\u0323\u0302t", "a\u0301\u0302\u0303\u0304\u0305", "\u0344", "\u0301alone", "x\u20DD", "q\u0335\u0336",
        "ΣΑΣ", "ΟΔΟΣ", "σας", "ς", "İstanbul", "ıi", "KELVIN \u212A", "\u212Bngstrom", "\u2126hm", "Straße", "STRASSE", "ẞ", "ǅungla", "ﬁne ﬂow",
        "Ꭰ Ꮳ ꭰ", "Ა ა", "ǈ ǉ Ǉ", "Ⅻ ⅻ", "Ⓐ ⓐ", "ｆｕｌｌｗｉｄｔｈ", "ＡＢＣ１２３", "①②③", "x²", "½", "™", "℃",
        "日本語", "中文字符", "漢字テスト", "\uF900\uF901", "\uD840\uDC00\uD869\uDEDF", "\uD86E\uDC1F", "\uD873\uDD00", "\u3400\u4DBF",
        "한국어", "\u1112\u1161\u11AB", "ひらがな", "カタカナ", "ｶﾀｶﾅ", "ー", "、。「」", "（括弧）", "・",
        "😀", "👍🏽", "👨\u200D👩\u200D👧\u200D👦", "🏳️\u200D🌈", "🇯🇵🇫🇷", "1\uFE0F\u20E3", "❤️", "🫠",
        "a\u200Bb", "a\u200Cb", "a\u200Db", "a\u2060b", "\uFEFFbom", "soft\u00ADhyphen", "rtl\u200Fmark", "\u202Aembed\u202C", "a\uFFFDb", "\uFFFE\uFFFF",
        "a\u0000b", "a\u0001b", "a\u007Fb", "a\u0085b", "a\u001Cb\u001Fc", "a\u009Fb", "\uE000pua", "\uDB80\uDC00",
        "a\u00A0b", "a\u2000b\u2001c\u2002d\u2003e\u2004f\u2005g\u2006h\u2007i\u2008j\u2009k\u200Al", "a\u202Fb", "a\u205Fb", "a\u3000b", "a\u1680b",
        "a\u2028b\u2029c", "a\tb", "a\nb", "a\r\nb", "a\u000Bb\u000Cc", "   ", "\t\n",
        "[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "[cls]", "[[SEP]]", "x[SEP]y", "[CLS", "[MASK][MASK]",
        "مرحبا بالعالم", "مَرْحَبًا", "שָׁלוֹם", "नमस्ते", "क़", "ภาษาไทย", "Привет, мир!", "Ёжик", "ελληνικά", "Ελληνικά",
        "¿Qué?", "¡Hola!", "«quote»", "“smart”", "‘single’", "—dash–", "…", "§¶", "†‡", "•", "‰", "€£¥", "±×÷", "∑∫√", "←→", "♠♥",
        "a\u166Db", "a\u111C9b", "a\u1734b", "a\u0F7Fb", "a\u0BCDb", "a\u302Eb\u302Fc",
    };

    static List<String> texts(int count, long seed) {
        Random r = new Random(seed);
        List<String> out = new ArrayList<>();
        out.add("");
        out.add(" ");
        out.add("\u0000");
        out.add("\u200B\u200B");
        out.add("[CLS] [SEP]");
        out.addAll(List.of(FRAGMENTS));
        out.add("a".repeat(100));
        out.add("a".repeat(101));
        out.add("é".repeat(100));
        out.add("e\u0301".repeat(60)); // 120 code points before stripping, 60 after
        out.add("😀".repeat(100));
        out.add("😀".repeat(101));
        out.add("un" + "believable".repeat(9));
        out.add("x".repeat(5000));
        while (out.size() < count) out.add(randomText(r, 1 + r.nextInt(r.nextInt(10) == 0 ? 400 : 30)));
        return out;
    }

    static String randomText(Random r, int fragments) {
        StringBuilder sb = new StringBuilder();
        String[] seps = {" ", " ", " ", "", "\n", "\t", "\u00A0", "\u3000", ", ", ". ", "\u200B", "-"};
        for (int i = 0; i < fragments; i++) {
            if (r.nextInt(8) == 0) {
                sb.appendCodePoint(randomCodePoint(r));
            } else {
                sb.append(FRAGMENTS[r.nextInt(FRAGMENTS.length)]);
            }
            sb.append(seps[r.nextInt(seps.length)]);
        }
        if (r.nextInt(4) == 0) sb.append("a".repeat(95 + r.nextInt(10)));
        return sb.toString();
    }

    /** Any valid code point, biased towards the interesting planes. */
    private static int randomCodePoint(Random r) {
        int cp;
        do {
            cp = switch (r.nextInt(4)) {
                case 0 -> r.nextInt(0x80);
                case 1 -> r.nextInt(0x3000);
                case 2 -> r.nextInt(0x10000);
                default -> r.nextInt(0x110000);
            };
        } while (cp >= 0xD800 && cp <= 0xDFFF);
        return cp;
    }
}
