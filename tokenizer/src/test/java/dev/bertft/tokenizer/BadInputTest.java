package dev.bertft.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Broken model folders give one clear error naming the file (and line); huge inputs stay linear. */
class BadInputTest {
    @TempDir
    Path dir;

    private String loadError() {
        Exception e = assertThrows(Exception.class, () -> WordPieceTokenizer.load(dir));
        return e.getMessage();
    }

    @Test
    void missingFiles() {
        String m = loadError();
        assertTrue(m.contains("tokenizer.json") && m.contains("vocab.txt"), m);
    }

    @Test
    void vocabWithInvalidUtf8NamesTheLine() throws IOException {
        Files.write(dir.resolve("vocab.txt"), new byte[] {'[', 'U', 'N', 'K', ']', '\n', 'o', 'k', '\n', (byte) 0xC3, '\n'});
        String m = loadError();
        assertTrue(m.contains("vocab.txt:3") && m.contains("UTF-8"), m);
    }

    @Test
    void vocabWithoutUnknownToken() throws IOException {
        Files.writeString(dir.resolve("vocab.txt"), "[CLS]\n[SEP]\nhello\n");
        String m = loadError();
        assertTrue(m.contains("vocab.txt") && m.contains("[UNK]"), m);
        Files.writeString(dir.resolve("vocab.txt"), "");
        assertTrue(loadError().contains("empty"));
    }

    @Test
    void malformedJsonNamesFileAndLine() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), "{\n  \"model\": {\n    \"type\": \"WordPiece\",,\n");
        String m = loadError();
        assertTrue(m.contains("tokenizer.json:3"), m);
        Files.writeString(dir.resolve("tokenizer.json"), "{}");
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"do_lower_case\": tru}");
        assertTrue(loadError().contains("tokenizer_config.json:1"));
    }

    @Test
    void notWordPieceIsRefusedByName() throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}}");
        String m = loadError();
        assertTrue(m.contains("tokenizer.json") && m.contains("BPE"), m);
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0}},"
                + " \"normalizer\": {\"type\": \"NFC\"}, \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}}");
        m = loadError();
        assertTrue(m.contains("normalizer") && m.contains("NFC"), m);
        Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0, \"a\": 5}}}");
        assertTrue(loadError().contains("id 5"));
    }

    /** That this takes linear time is shown by {@code TokenizerScalingBench} in bench/, not timed here. */
    @Test
    void multiMegabyteTexts() throws IOException {
        Files.writeString(dir.resolve("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n##a\nb\n", StandardCharsets.UTF_8);
        WordPieceTokenizer t = WordPieceTokenizer.load(dir);
        int[] word = t.encode("a".repeat(4_000_000)).ids(); // one 4M-character word: over the 100-character limit
        assertArrayEquals(new int[] {2, 1, 3}, word);
        Encoding words = t.encode("a b ".repeat(1_000_000)); // 2M words
        assertEquals(2_000_002, words.length());
        assertEquals(4, words.ids()[1]);
        assertEquals(6, words.ids()[2_000_000]);
    }
}
