package dev.bertft.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bertft.tokenizer.EncodeOptions;
import dev.bertft.tokenizer.WordPieceTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tokenize command in-process, on a tiny hand-written vocabulary whose ids we can work out by
 * hand (the tokenizer itself is checked against HF's in the tokenizer module).
 */
class TokenizeCommandTest {
    // ids:          0       1       2       3       4        5        6      7     8       9      10   11
    static final String VOCAB = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\nun\n##aff\n##able\n!\ncafe\n";

    @TempDir
    Path dir;

    record Result(int exit, List<JsonNode> lines, String err) {}

    Result run(byte[] stdin, String... args) throws Exception {
        Files.writeString(dir.resolve("vocab.txt"), VOCAB);
        InputStream oldIn = System.in;
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setIn(new ByteArrayInputStream(stdin));
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = Main.run(args);
            List<JsonNode> lines = new ArrayList<>();
            ObjectMapper json = new ObjectMapper();
            for (String l : out.toString(StandardCharsets.UTF_8).split("\n")) if (!l.isEmpty()) lines.add(json.readTree(l));
            return new Result(exit, lines, err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setIn(oldIn);
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    static int[] ints(JsonNode array) {
        int[] r = new int[array.size()];
        for (int i = 0; i < r.length; i++) r[i] = array.get(i).intValue();
        return r;
    }

    @Test
    void plainLinesAndJsonl() throws Exception {
        String input = "Hello, world!\nunaffable Café\n{\"text\": \"hello\", \"text_pair\": \"world\"}\n\n";
        Result r = run(input.getBytes(StandardCharsets.UTF_8), "tokenize", "--model", dir.toString());
        assertEquals(0, r.exit(), r.err());
        assertEquals(4, r.lines().size());
        // "hello" "," "world" "!": the comma is not in the vocabulary -> [UNK]
        assertArrayEquals(new int[] {2, 5, 1, 6, 10, 3}, ints(r.lines().get(0).get("input_ids")));
        // un ##aff ##able, and Café lowercased with its accent stripped
        assertArrayEquals(new int[] {2, 7, 8, 9, 11, 3}, ints(r.lines().get(1).get("input_ids")));
        assertArrayEquals(new int[] {2, 5, 3, 6, 3}, ints(r.lines().get(2).get("input_ids")));
        assertArrayEquals(new int[] {0, 0, 0, 1, 1}, ints(r.lines().get(2).get("token_type_ids")));
        assertArrayEquals(new int[] {1, 1, 1, 1, 1}, ints(r.lines().get(2).get("attention_mask")));
        assertArrayEquals(new int[] {2, 3}, ints(r.lines().get(3).get("input_ids")));
    }

    @Test
    void maxLengthTruncatesAndMatchesTheLibrary() throws Exception {
        Result r = run("hello world hello world hello\n".getBytes(StandardCharsets.UTF_8),
                "tokenize", "--model", dir.toString(), "--max-length", "4");
        assertEquals(0, r.exit(), r.err());
        assertArrayEquals(new int[] {2, 5, 6, 3}, ints(r.lines().get(0).get("input_ids")));
        WordPieceTokenizer t = WordPieceTokenizer.load(dir);
        assertArrayEquals(t.encode("hello world hello world hello", null, EncodeOptions.of(4)).ids(),
                ints(r.lines().get(0).get("input_ids")));
    }

    @Test
    void invalidUtf8BecomesReplacementCharactersNotACrash() throws Exception {
        byte[] bad = {'h', 'e', 'l', 'l', 'o', (byte) 0xC3, (byte) 0x28, ' ', (byte) 0xFF, 'w', 'o', 'r', 'l', 'd', '\n'};
        Path file = dir.resolve("in.txt");
        Files.write(file, bad);
        Result r = run(new byte[0], "tokenize", "--model", dir.toString(), "--input", file.toString());
        assertEquals(0, r.exit(), r.err());
        // U+FFFD is dropped by the cleaner, so the bytes around it join: "hello(" -> hello, [UNK] for "("
        assertArrayEquals(new int[] {2, 5, 1, 6, 3}, ints(r.lines().get(0).get("input_ids")));
    }

    @Test
    void missingModelIsOneClearLine() throws Exception {
        Result r = run(new byte[0], "tokenize", "--model", dir.resolve("nope").toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("nope") && r.err().strip().lines().count() == 1, r.err());
    }
}
