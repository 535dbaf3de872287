package dev.bertft.safetensors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ShardedSafetensorsTest {

    private static final Path FIXTURE = Fixtures.resource("sharded");
    private static final String SHARD1 = "model-00001-of-00002.safetensors";
    private static final String SHARD2 = "model-00002-of-00002.safetensors";

    @TempDir
    Path dir;

    /** The two-shard checkpoint written by make_safetensors_fixtures.py, values as built there with torch. */
    @Test
    void readsThePythonShardsAsOneCollection() throws Exception {
        for (Path open : new Path[] {FIXTURE, FIXTURE.resolve(ShardedSafetensors.INDEX_FILE_NAME)}) {
            try (ShardedSafetensors s = ShardedSafetensors.open(open)) {
                assertEquals(List.of("a.weight", "a.bias", "b.weight", "position_ids"), s.names());
                // total_size = 6*4 + 2*4 + 4*2 + 5*8 bytes
                assertEquals(Map.of("total_size", "80"), s.metadata());
                assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, s.readF32("a.weight"));    // arange(6)
                assertArrayEquals(new long[] {2, 3}, s.info("a.weight").shape());
                assertArrayEquals(new float[] {0.5f, -0.5f}, s.readF32("a.bias"));
                assertArrayEquals(new double[] {-0.0, -1, -2, -3}, s.readF64("b.weight"));   // arange(4) * -1 in F16
                assertEquals(StoredType.F16, s.info("b.weight").dtype());
                assertArrayEquals(new long[] {0, 1, 2, 3, 4}, s.readI64("position_ids"));
                assertArrayEquals(new int[] {0, 1, 2, 3, 4}, s.readI32("position_ids"));
                assertEquals(SHARD2, s.shardOf("position_ids").getFileName().toString());
                assertTrue(s.contains("a.bias"));
                SafetensorsException unknown = assertThrows(SafetensorsException.class, () -> s.readF32("c"));
                assertTrue(unknown.getMessage().contains("tensor 'c': no such tensor in weight_map"), unknown.getMessage());
            }
        }
    }

    /** A copy of the fixture in the temp dir, with the index replaced by {@code index}. */
    private Path copyWithIndex(String index) throws Exception {
        Files.copy(FIXTURE.resolve(SHARD1), dir.resolve(SHARD1));
        Files.copy(FIXTURE.resolve(SHARD2), dir.resolve(SHARD2));
        Path indexFile = dir.resolve(ShardedSafetensors.INDEX_FILE_NAME);
        Files.writeString(indexFile, index);
        return indexFile;
    }

    private static String index(String weightMapEntries) {
        return "{\"metadata\": {\"total_size\": 80}, \"weight_map\": {" + weightMapEntries + "}}";
    }

    private static void assertRejected(Path dirOrIndex, String start, String phrase) {
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> ShardedSafetensors.open(dirOrIndex).close());
        assertTrue(e.getMessage().startsWith(start), "starts with '" + start + "': " + e.getMessage());
        assertTrue(e.getMessage().contains(phrase), "says '" + phrase + "': " + e.getMessage());
    }

    @Test
    void missingShardFile() throws Exception {
        Path index = copyWithIndex(index("\"a.weight\": \"" + SHARD1 + "\", \"x\": \"model-00003-of-00003.safetensors\""));
        assertRejected(dir, index + ": tensor 'x': ", "shard 'model-00003-of-00003.safetensors', which does not exist");
    }

    @Test
    void nameMappedToAShardThatLacksIt() throws Exception {
        Path index = copyWithIndex(index("\"a.weight\": \"" + SHARD1 + "\", \"b.weight\": \"" + SHARD1 + "\""));
        assertRejected(dir, index + ": tensor 'b.weight': ", "shard '" + SHARD1 + "', which does not contain it");
    }

    @Test
    void shardOutsideTheDirectory() throws Exception {
        Path index = copyWithIndex(index("\"a.weight\": \"../" + SHARD1 + "\""));
        assertRejected(dir, index + ": tensor 'a.weight': ", "is not a file inside");
    }

    @Test
    void malformedIndex() throws Exception {
        Path index = copyWithIndex("{\"weight_map\": {\"a.weight\": \"" + SHARD1 + "\"}");
        assertRejected(index, index + ": ", "not valid JSON");
        Files.writeString(index, "{\"weight_map\": {\"a.weight\": \"" + SHARD1 + "\", \"a.weight\": \"" + SHARD1 + "\"}}");
        assertRejected(index, index + ": ", "Duplicate field 'a.weight'");
        Files.writeString(index, "{\"metadata\": {}}");
        assertRejected(index, index + ": ", "no \"weight_map\" object");
        Files.writeString(index, "{\"weight_map\": {\"a.weight\": 1}}");
        assertRejected(index, index + ": tensor 'a.weight': ", "not a file name string");
        assertRejected(dir.resolve("elsewhere"), dir.resolve("elsewhere") + ": ", "shard index file not found");
    }

    @Test
    void malformedShardIsReportedWithTheShardFile() throws Exception {
        copyWithIndex(index("\"a.weight\": \"" + SHARD1 + "\""));
        byte[] shard = Files.readAllBytes(dir.resolve(SHARD1));
        Files.write(dir.resolve(SHARD1), java.util.Arrays.copyOf(shard, shard.length - 1));
        assertRejected(dir, dir.resolve(SHARD1) + ": ", "data buffer");
    }
}
