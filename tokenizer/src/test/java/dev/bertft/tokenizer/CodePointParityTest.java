package dev.bertft.tokenizer;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every Unicode code point, against HF's tokenizer: each one between two letters ("a" cp "b "),
 * so that a code point dropped, turned into a space, split off as punctuation, stripped as an
 * accent, lowercased or kept shows in the ids. This is what pins our character tables to the
 * Unicode version HF's Rust crates use.
 */
class CodePointParityTest {
    private static final int PER_TEXT = 256;

    @Test
    void everyCodePointMatchesHuggingFace() throws Exception {
        Path dir = SharedData.miniLm();
        WordPieceTokenizer ours = WordPieceTokenizer.load(dir);
        List<String> texts = new ArrayList<>();
        List<int[]> ranges = new ArrayList<>();
        for (int from = 0; from <= Character.MAX_CODE_POINT; from += PER_TEXT) {
            StringBuilder sb = new StringBuilder();
            for (int cp = from; cp < from + PER_TEXT; cp++) {
                if (Character.isSurrogate((char) cp) && cp < 0x10000) continue; // not characters: Java strings only
                sb.append('a').appendCodePoint(cp).append("b ");
            }
            texts.add(sb.toString());
            ranges.add(new int[] {from, from + PER_TEXT});
        }
        List<String> mismatches = new ArrayList<>();
        try (HfOracle hf = new HfOracle(dir.resolve("tokenizer.json"))) {
            var expected = hf.encode(texts);
            for (int t = 0; t < texts.size(); t++) {
                if (Arrays.equals(expected.get(t).ids(), ours.encode(texts.get(t)).ids())) continue;
                // narrow the difference down to single code points
                for (int cp = ranges.get(t)[0]; cp < ranges.get(t)[1]; cp++) {
                    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
                    String s = "a" + Character.toString(cp) + "b ";
                    int[] want = HfOracle.ints(hf.hf.encode(s).getIds());
                    int[] got = ours.encode(s).ids();
                    if (!Arrays.equals(want, got)) {
                        mismatches.add(String.format("U+%04X %s hf=%s ours=%s", cp, Character.getName(cp),
                                Arrays.toString(want), Arrays.toString(got)));
                    }
                }
            }
        }
        mismatches.stream().limit(200).forEach(System.out::println);
        assertEquals(0, mismatches.size(), "code points tokenized differently from HF (first: "
                + mismatches.stream().limit(5).toList() + ")");
    }
}
