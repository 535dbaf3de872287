package dev.bertft.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A hand-written vocabulary whose every expected id is worked out by hand from the algorithm's
 * definition (BERT paper / HF docs), so these run without the shared model folder.
 */
class TinyVocabTest {
    //                                      0      1      2      3      4       5    6     7      8     9     10   11   12      13     14   15     16    17
    static final List<String> VOCAB = List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "the", "cafe", "σ", "##ς", "##σ", "##ας", "日", "本", ",", "a");

    @TempDir
    Path dir;

    WordPieceTokenizer tokenizer() throws IOException {
        Files.write(dir.resolve("vocab.txt"), VOCAB);
        return WordPieceTokenizer.load(dir);
    }

    @Test
    void greedyLongestMatchFirst() throws IOException {
        WordPieceTokenizer t = tokenizer();
        assertArrayEquals(new int[] {2, 5, 6, 7, 3}, t.encode("unaffable").ids());
        // no piece covers "x": the whole word is [UNK], not "un" + [UNK]
        assertArrayEquals(new int[] {2, 1, 3}, t.encode("unx").ids());
        assertArrayEquals(new int[] {2, 3}, t.encode("").ids());
    }

    @Test
    void normalizationLowercaseAccentsCjkPunctuation() throws IOException {
        WordPieceTokenizer t = tokenizer();
        // THE -> the; Café and Cafe + combining acute -> cafe; 日本 split into single ideographs; ',' split off
        assertArrayEquals(new int[] {2, 8, 9, 16, 9, 14, 15, 3}, t.encode("THE Café,Cafe\u0301日本").ids());
        // Greek: per-code-point lowercase, so a final capital sigma is σ, never ς (Java's String.toLowerCase
        // would give ς); "σς" keeps its ς
        assertArrayEquals(new int[] {2, 10, 10, 11, 3}, t.encode("Σ σς").ids());
        // zero-width space and NUL dropped inside a word, NBSP and ideographic space separate words
        assertArrayEquals(new int[] {2, 5, 6, 7, 17, 17, 3}, t.encode("un\u200Baff\u0000able a\u3000a").ids());
        assertArrayEquals(new int[] {2, 17, 17, 3}, t.encode("a\u00A0a").ids());
    }

    @Test
    void wordLongerThan100CodePointsIsUnknown() throws IOException {
        WordPieceTokenizer t = tokenizer();
        String hundred = "a".repeat(100);
        // 100 code points: allowed (and with no "##a" piece, still [UNK] as a whole)
        assertEquals(3, t.encode(hundred).length());
        assertArrayEquals(new int[] {2, 1, 3}, t.encode("a".repeat(101)).ids());
    }

    @Test
    void pairsTruncationPaddingAndOffsets() throws IOException {
        WordPieceTokenizer t = tokenizer();
        Encoding e = t.encode("the cafe", "a a a", EncodeOptions.of(7));
        // budget 7 - 3 specials = 4; lengths 2 and 3: keep 2, give the longer 4 - 2 = 2
        assertArrayEquals(new int[] {2, 8, 9, 3, 17, 17, 3}, e.ids());
        assertArrayEquals(new int[] {0, 0, 0, 0, 1, 1, 1}, e.typeIds());
        assertArrayEquals(new int[] {0, 0, 4, 0, 0, 2, 0}, e.charStarts());
        assertArrayEquals(new int[] {0, 3, 8, 0, 1, 3, 0}, e.charEnds());
        List<Encoding> batch = t.encodeBatch(List.of("a", "a a a a"), 0, Padding.LONGEST);
        assertArrayEquals(new int[] {2, 17, 3, 0, 0, 0}, batch.get(0).ids());
        assertArrayEquals(new int[] {1, 1, 1, 0, 0, 0}, batch.get(0).attentionMask());
        List<Encoding> eight = t.encodeBatch(List.of("a"), List.of("a"), EncodeOptions.of(0).withPadding(Padding.LONGEST).withPadToMultipleOf(8));
        assertEquals(8, eight.get(0).length());
    }

    @Test
    void decodeJoinsPiecesAndSkipsSpecials() throws IOException {
        WordPieceTokenizer t = tokenizer();
        assertEquals("[CLS] unaffable the, cafe [SEP]", t.decode(new int[] {2, 5, 6, 7, 8, 16, 9, 3}, false));
        assertEquals("unaffable the, cafe", t.decode(new int[] {2, 5, 6, 7, 8, 16, 9, 3}, true));
    }

    /** As in transformers: tokenizer.json, when present, decides over vocab.txt + tokenizer_config.json. */
    @Test
    void tokenizerJsonWinsOverVocabTxt() throws IOException {
        Files.write(dir.resolve("vocab.txt"), VOCAB);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"do_lower_case\": false}");
        assertArrayEquals(new int[] {2, 1, 3}, WordPieceTokenizer.load(dir).encode("THE").ids());
        StringBuilder vocab = new StringBuilder();
        for (int i = 0; i < VOCAB.size(); i++) vocab.append(i == 0 ? "" : ",").append('"').append(VOCAB.get(i)).append("\":").append(i);
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", \"vocab\": {"
                + vocab + "}}, \"normalizer\": {\"type\": \"BertNormalizer\", \"lowercase\": true},"
                + " \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"},"
                + " \"post_processor\": {\"type\": \"BertProcessing\", \"sep\": [\"[SEP]\", 3], \"cls\": [\"[CLS]\", 2]}}");
        assertArrayEquals(new int[] {2, 8, 3}, WordPieceTokenizer.load(dir).encode("THE").ids());
    }

    @Test
    void saveAndLoadAgainGivesTheSameTokenizer() throws IOException {
        WordPieceTokenizer t = tokenizer();
        Path out = dir.resolve("saved");
        t.saveTo(out);
        WordPieceTokenizer back = WordPieceTokenizer.load(out);
        assertEquals(VOCAB, Files.readAllLines(out.resolve("vocab.txt")));
        assertArrayEquals(t.encode("THE unaffable Café 日本", "a", EncodeOptions.of(0)).ids(),
                back.encode("THE unaffable Café 日本", "a", EncodeOptions.of(0)).ids());
        assertEquals(t.normalizerSettings(), back.normalizerSettings());
        assertEquals(true, Files.exists(out.resolve("special_tokens_map.json")));
    }
}
