package dev.bertft.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

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

    @Test
    void multiMegabyteTextIsLinear() throws IOException {
        Files.writeString(dir.resolve("vocab.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n##a\nb\n", StandardCharsets.UTF_8);
        WordPieceTokenizer t = WordPieceTokenizer.load(dir);
        String word = "a".repeat(4_000_000);             // one 4M-character word: [UNK]
        String words = "a b ".repeat(1_000_000);          // 2M words
        String tenth = words.substring(0, 400_000);
        for (int i = 0; i < 3; i++) t.encode(tenth); // warm up
        long t0 = System.nanoTime();
        assertEquals(3, t.encode(word).length());
        long t1 = System.nanoTime();
        assertEquals(2_000_002, t.encode(words).length());
        assertEquals(200_002, t.encode(tenth).length());
        // linear: 10x the text may not take more than ~30x the time (quadratic would be 100x);
        // best of three, so that a garbage collection does not count as the algorithm
        long big = Long.MAX_VALUE, small = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            long a = System.nanoTime();
            t.encode(words);
            long b = System.nanoTime();
            t.encode(tenth);
            long c = System.nanoTime();
            big = Math.min(big, b - a);
            small = Math.min(small, c - b);
        }
        double ratio = (double) big / small;
        assertTrue(ratio < 30, "10x text took " + ratio + "x the time");
        assertTrue((t1 - t0) / 1e9 < 2, "a 4M-character word took " + (t1 - t0) / 1e9 + " s");
    }
}
