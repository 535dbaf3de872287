package dev.bertft.tokenizer;

import ai.djl.huggingface.tokenizers.jni.CharSpan;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Our tokenizer against Hugging Face's (Rust, through DJL) on the hostile corpus: ids, type ids,
 * attention masks, special-token masks and character offsets, for single texts and pairs, with
 * and without truncation and padding, and decoding. Every comparison counts mismatches; the
 * expected count is 0.
 */
class HfParityTest {
    private static Path dir;
    private static WordPieceTokenizer ours;
    private static List<String> texts;
    private static List<String> firsts, seconds;
    /**
     * The pairs under 400 characters: for truncated pairs HF also builds every combination of
     * the overflowing parts of both texts, gigabytes for the long ones.
     */
    private static List<String> shortA = new ArrayList<>(), shortB = new ArrayList<>();

    /** Loads once; every test calls it first, so a missing model folder skips each test visibly. */
    @BeforeEach
    void load() throws IOException {
        if (ours != null) return;
        dir = SharedData.miniLm();
        ours = WordPieceTokenizer.load(dir);
        texts = HostileCorpus.texts(3000, 42);
        List<String> more = HostileCorpus.texts(3000, 7);
        firsts = texts.subList(0, 1500);
        seconds = more.subList(more.size() - 1500, more.size());
        for (int i = 0; i < firsts.size(); i++) {
            if (firsts.get(i).length() + seconds.get(i).length() < 400) {
                shortA.add(firsts.get(i));
                shortB.add(seconds.get(i));
            }
        }
    }

    @Test
    void singleTexts() throws IOException {
        try (HfOracle hf = new HfOracle(dir.resolve("tokenizer.json"))) {
            List<String> bad = compare(hf.encode(texts), ours.encodeBatch(texts, null, EncodeOptions.of(0)), texts, null);
            assertNoMismatch(bad);
        }
    }

    @Test
    void pairs() throws IOException {
        try (HfOracle hf = new HfOracle(dir.resolve("tokenizer.json"))) {
            List<String> bad = compare(hf.encodePairs(firsts, seconds),
                    ours.encodeBatch(firsts, seconds, EncodeOptions.of(0)), firsts, seconds);
            assertNoMismatch(bad);
        }
    }

    @Test
    void withoutSpecialTokens() throws IOException {
        try (HfOracle hf = new HfOracle(dir.resolve("tokenizer.json"), Map.of("addSpecialTokens", "false"))) {
            EncodeOptions plain = EncodeOptions.of(0).withSpecialTokens(false);
            List<String> bad = new ArrayList<>(compare(hf.encode(texts), ours.encodeBatch(texts, null, plain), texts, null));
            bad.addAll(compare(hf.encodePairs(firsts, seconds), ours.encodeBatch(firsts, seconds, plain), firsts, seconds));
            assertNoMismatch(bad);
        }
    }

    @Test
    void longestFirstTruncation() throws IOException {
        List<String> bad = new ArrayList<>();
        for (int max : new int[] {3, 4, 5, 8, 17, 64, 200}) {
            try (HfOracle hf = new HfOracle(dir.resolve("tokenizer.json"),
                    Map.of("truncation", "LONGEST_FIRST", "maxLength", "" + max))) {
                EncodeOptions o = EncodeOptions.of(max);
                                bad.addAll(compare(hf.encode(texts), ours.encodeBatch(texts, null, o), texts, null));
                // HF's overflow combinations grow as (na / max) * (nb / max): tiny lengths get tiny pairs
                List<String> a = new ArrayList<>(), b = new ArrayList<>();
                for (int i = 0; i < shortA.size(); i++) {
                    if (shortA.get(i).length() + shortB.get(i).length() < 20 * max) {
                        a.add(shortA.get(i));
                        b.add(shortB.get(i));
                    }
                }
                if (max >= 5) bad.addAll(compare(hf.encodePairs(a, b), ours.encodeBatch(a, b, o), a, b));
            }
        }
        assertNoMismatch(bad);
    }

    @Test
    void onlyFirstAndOnlySecondTruncation() throws IOException {
        List<String> bad = new ArrayList<>();
        int max = 48;
        // HF aborts the process on a pair whose truncated side is too short, so the pairs are chosen by
        // HF's own token counts: a bug in ours must show as a mismatch, not as a crash of the oracle
        List<HfOracle.Expected> hfA, hfB;
        try (HfOracle plain = new HfOracle(dir.resolve("tokenizer.json"), Map.of("addSpecialTokens", "false"))) {
            hfA = plain.encode(shortA);
            hfB = plain.encode(shortB);
        }
        for (Truncation t : new Truncation[] {Truncation.ONLY_FIRST, Truncation.ONLY_SECOND}) {
            List<String> a = new ArrayList<>(), b = new ArrayList<>();
            for (int i = 0; i < shortA.size(); i++) {
                int na = hfA.get(i).ids().length, nb = hfB.get(i).ids().length;
                int remove = na + nb + 3 - max;
                if (remove <= 0 || (t == Truncation.ONLY_FIRST ? na : nb) > remove) {
                    a.add(shortA.get(i));
                    b.add(shortB.get(i));
                }
            }
            try (HfOracle hf = new HfOracle(dir.resolve("tokenizer.json"), Map.of("truncation", t.name(), "maxLength", "" + max))) {
                bad.addAll(compare(hf.encodePairs(a, b), ours.encodeBatch(a, b, EncodeOptions.of(max).withTruncation(t)), a, b));
                if (t == Truncation.ONLY_FIRST) {
                    bad.addAll(compare(hf.encode(texts), ours.encodeBatch(texts, null, EncodeOptions.of(max).withTruncation(t)), texts, null));
                }
            }
        }
        assertNoMismatch(bad);
    }

    @Test
    void padding() throws IOException {
        List<String> bad = new ArrayList<>();
        List<String> batch = texts.subList(0, 300);
        try (HfOracle hf = new HfOracle(dir.resolve("tokenizer.json"),
                Map.of("padding", "LONGEST", "truncation", "LONGEST_FIRST", "maxLength", "100", "padToMultipleOf", "8"))) {
            EncodeOptions o = EncodeOptions.of(100).withPadding(Padding.LONGEST).withPadToMultipleOf(8);
            bad.addAll(compare(hf.encode(batch), ours.encodeBatch(batch, null, o), batch, null));
        }
        try (HfOracle hf = new HfOracle(dir.resolve("tokenizer.json"),
                Map.of("padding", "MAX_LENGTH", "truncation", "LONGEST_FIRST", "maxLength", "64"))) {
            EncodeOptions o = EncodeOptions.of(64).withPadding(Padding.MAX_LENGTH);
            bad.addAll(compare(hf.encode(batch), ours.encodeBatch(batch, null, o), batch, null));
            bad.addAll(compare(hf.encodePairs(shortA, shortB), ours.encodeBatch(shortA, shortB, o), shortA, shortB));
        }
        assertNoMismatch(bad);
    }

    @Test
    void decode() throws IOException {
        List<String> bad = new ArrayList<>();
        try (HfOracle hf = new HfOracle(dir.resolve("tokenizer.json"))) {
            for (String t : texts) {
                int[] ids = ours.encode(t).ids();
                long[] l = Arrays.stream(ids).asLongStream().toArray();
                for (boolean skip : new boolean[] {false, true}) {
                    String want = hf.hf.decode(l, skip), got = ours.decode(ids, skip);
                    if (!want.equals(got)) bad.add("decode(skip=" + skip + ") of " + quote(t) + ": hf=" + quote(want) + " ours=" + quote(got));
                }
            }
        }
        assertNoMismatch(bad);
    }

    /** Loaded from vocab.txt + tokenizer_config.json alone, the tokenizer must be the same. */
    @Test
    void vocabTxtFolderMatchesToo() throws IOException {
        Path tmp = Files.createTempDirectory("vocab-only");
        Files.copy(dir.resolve("vocab.txt"), tmp.resolve("vocab.txt"));
        Files.copy(dir.resolve("tokenizer_config.json"), tmp.resolve("tokenizer_config.json"));
        WordPieceTokenizer fromVocab = WordPieceTokenizer.load(tmp);
        try (HfOracle hf = new HfOracle(dir.resolve("tokenizer.json"))) {
            assertNoMismatch(compare(hf.encodePairs(firsts, seconds), fromVocab.encodeBatch(firsts, seconds, EncodeOptions.of(0)), firsts, seconds));
        }
    }

    /**
     * A lone surrogate cannot reach HF's Rust code as itself (Rust strings are valid UTF-8): we
     * read it as U+FFFD, which the cleaner drops, so a text with lone surrogates must give what HF
     * gives for the same text with U+FFFD in their place.
     */
    @Test
    void loneSurrogatesActAsReplacementCharacters() throws IOException {
        List<String> withLone = new ArrayList<>(), replaced = new ArrayList<>();
        for (String t : texts.subList(0, 500)) {
            withLone.add("x\uDE00y " + t + " \uD83D" + t.length() + "\uD83D");
            replaced.add("x\uFFFDy " + t + " \uFFFD" + t.length() + "\uFFFD");
        }
        try (HfOracle hf = new HfOracle(dir.resolve("tokenizer.json"))) {
            assertNoMismatch(compare(hf.encode(replaced), ours.encodeBatch(withLone, null, EncodeOptions.of(0)), replaced, null));
        }
    }

    static void assertNoMismatch(List<String> bad) {
        bad.stream().limit(20).forEach(System.out::println);
        assertEquals(0, bad.size(), "mismatches with HF; first: " + (bad.isEmpty() ? "" : bad.get(0)));
    }

    /** Descriptions of every difference between HF's encodings and ours. */
    static List<String> compare(List<HfOracle.Expected> want, List<Encoding> got, List<String> a, List<String> b) {
        List<String> bad = new ArrayList<>();
        assertEquals(want.size(), got.size());
        for (int i = 0; i < want.size(); i++) {
            String what = quote(a.get(i)) + (b == null ? "" : " + " + quote(b.get(i)));
            Encoding g = got.get(i);
            var w = want.get(i);
            check(bad, "ids", what, w.ids(), g.ids());
            check(bad, "type ids", what, w.typeIds(), g.typeIds());
            check(bad, "attention mask", what, w.attentionMask(), g.attentionMask());
            check(bad, "special tokens mask", what, w.specialTokensMask(), g.specialTokensMask());
            CharSpan[] spans = w.spans();
            // HF counts offsets in code points, we in UTF-16 units
            int[] cpA = codePointIndex(a.get(i)), cpB = b == null ? null : codePointIndex(b.get(i));
            for (int k = 0; k < Math.min(spans.length, g.length()); k++) {
                if (spans[k] == null) continue;
                int[] cp = g.typeIds()[k] == 0 || b == null ? cpA : cpB;
                int s = cp[g.charStarts()[k]], e = cp[g.charEnds()[k]];
                if (s != spans[k].getStart() || e != spans[k].getEnd()) {
                    bad.add("offsets of token " + k + " of " + what + ": hf=" + spans[k].getStart() + ".." + spans[k].getEnd()
                            + " ours=" + s + ".." + e);
                    break;
                }
            }
        }
        return bad;
    }

    /** For each UTF-16 index of s (and its length), the number of code points before it. */
    private static int[] codePointIndex(String s) {
        int[] idx = new int[s.length() + 1];
        int cp = 0;
        for (int i = 0; i < s.length(); i++) {
            idx[i] = cp;
            if (!(Character.isLowSurrogate(s.charAt(i)) && i > 0 && Character.isHighSurrogate(s.charAt(i - 1)))) cp++;
            else idx[i] = cp - 1;
        }
        idx[s.length()] = cp;
        return idx;
    }

    private static void check(List<String> bad, String field, String what, int[] want, int[] got) {
        if (!Arrays.equals(want, got)) bad.add(field + " of " + what + ":\n  hf=  " + Arrays.toString(want) + "\n  ours=" + Arrays.toString(got));
    }

    static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().limit(120).forEach(c -> {
            if (c < 0x20 || (c >= 0x7F && c < 0xA0) || Character.getType(c) == Character.FORMAT || Character.isSurrogate((char) c)
                    || Character.getType(c) == Character.NON_SPACING_MARK) sb.append(String.format("\\u%04X", c));
            else sb.appendCodePoint(c);
        });
        return sb.append(s.codePointCount(0, s.length()) > 120 ? "...\"" : "\"").toString();
    }
}
