package dev.bertft.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code bert-ft prepare} keeps what a sentence pair needs: the segment of each token. */
class PrepareCommandTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void sentencePairsKeepTheirTokenTypeIds() throws IOException {
        Path data = Files.write(tmp.resolve("pairs.csv"), List.of("premise,hypothesis,label",
                "the movie was great,it was good,pos", "boring film,i loved it so,neg", "the actors,the music,neu"));
        Path out = tmp.resolve("prepared");
        PredictCommandTest.Run r = PredictCommandTest.run("prepare", "--model", PredictCommandTest.TINY.toString(), "--data",
                data.toString(), "--text-column", "premise,hypothesis", "--output", out.toString(), "--offline");
        assertEquals(0, r.exit(), r.err());
        List<String> lines = Files.readAllLines(out.resolve("train.jsonl"));
        assertEquals(3, lines.size());
        int sep = Files.readAllLines(PredictCommandTest.TINY.resolve("vocab.txt")).indexOf("[SEP]");
        for (String line : lines) {
            JsonNode row = JSON.readTree(line);
            JsonNode ids = row.get("input_ids"), types = row.get("token_type_ids");
            assertEquals(ids.size(), types.size(), line);
            // BERT's segments: 0 through the first [SEP], 1 for the second text and its [SEP]
            int firstSep = -1;
            for (int i = 0; i < ids.size() && firstSep < 0; i++) if (ids.get(i).asInt() == sep) firstSep = i;
            assertTrue(firstSep > 0 && ids.get(ids.size() - 1).asInt() == sep && firstSep < ids.size() - 2, line);
            for (int i = 0; i < ids.size(); i++) assertEquals(i <= firstSep ? 0 : 1, types.get(i).asInt(), line);
        }
    }
}
