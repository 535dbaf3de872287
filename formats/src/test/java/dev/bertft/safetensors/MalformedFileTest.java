package dev.bertft.safetensors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One hand-made broken file per validation rule; each must fail with a message naming the file (and tensor). */
class MalformedFileTest {

    @TempDir
    Path dir;

    private int count;

    /** A file of the given bytes. */
    private Path bytes(byte[] content) throws Exception {
        Path file = dir.resolve("bad" + (count++) + ".safetensors");
        Files.write(file, content);
        return file;
    }

    /** The 8-byte length, then {@code header}, then {@code dataBytes} zero bytes. */
    private Path file(String header, int dataBytes) throws Exception {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        return bytes(ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(json.length).put(json).array());
    }

    private static String tensor(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape
                + ",\"data_offsets\":[" + begin + "," + end + "]}";
    }

    /** Opens {@code file}, expects a failure mentioning the file, the tensor (when not null) and {@code phrase}. */
    private static void assertRejected(Path file, String tensor, String phrase) {
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> SafetensorsFile.open(file).close());
        String message = e.getMessage();
        assertTrue(message.startsWith(file + ": "), "names the file: " + message);
        if (tensor != null) assertTrue(message.contains("tensor '" + tensor + "'"), "names the tensor: " + message);
        assertTrue(message.contains(phrase), "says '" + phrase + "': " + message);
        assertEquals(-1, message.indexOf('\n'), "one line: " + message);
    }

    @Test
    void fileShorterThanEightBytes() throws Exception {
        assertRejected(bytes(new byte[] {2, 0, 0, 0, 0}), null, "too short");
        assertRejected(bytes(new byte[0]), null, "too short");
    }

    @Test
    void headerLengthOverTheLimit() throws Exception {
        byte[] b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(100_000_001L).array();
        assertRejected(bytes(b), null, "exceeds the limit");
        byte[] huge = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).array(); // 2^64 - 1
        assertRejected(bytes(huge), null, "header length 18446744073709551615 exceeds");
    }

    @Test
    void headerLengthBeyondTheFile() throws Exception {
        byte[] b = ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(13).array(); // 12 bytes follow
        assertRejected(bytes(b), null, "runs past the end of the file");
    }

    @Test
    void headerNotUtf8() throws Exception {
        byte[] b = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(4)
                .put(new byte[] {'{', (byte) 0xC3, (byte) 0x28, '}'}).array();
        assertRejected(bytes(b), null, "not valid UTF-8");
    }

    @Test
    void headerNotAJsonObject() throws Exception {
        assertRejected(file("[1, 2, 3]   ", 0), null, "does not start with '{'");
        assertRejected(file("", 0), null, "does not start with '{'");
        assertRejected(file("{\"a\": ", 0), null, "not valid JSON");
        assertRejected(file("{} {}", 0), null, "not valid JSON");
        assertRejected(file("{\"a\":NaN}", 0), null, "not valid JSON");
    }

    @Test
    void duplicateKey() throws Exception {
        String a = tensor("a", "F32", "[1]", 0, 4);
        assertRejected(file("{" + a + "," + a + "}", 4), null, "Duplicate field 'a'");
    }

    @Test
    void unknownDtype() throws Exception {
        assertRejected(file("{" + tensor("w", "F8_E4M3", "[4]", 0, 4) + "}", 4), "w", "unknown dtype 'F8_E4M3'");
    }

    @Test
    void malformedEntries() throws Exception {
        assertRejected(file("{\"w\":[1,2]}", 0), "w", "not a JSON object");
        assertRejected(file("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4), "w", "\"dtype\"");
        assertRejected(file("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4), "w", "\"shape\"");
        assertRejected(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4), "w", "\"data_offsets\"");
        assertRejected(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8), "w", "[begin, end]");
        assertRejected(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4), "w", "unexpected field 'x'");
        assertRejected(file("{\"__metadata__\":{\"n\":1}}", 0), null, "__metadata__ value of 'n' is not a string");
        assertRejected(file("{\"__metadata__\":[]}", 0), null, "__metadata__ is not a JSON object");
    }

    @Test
    void shapeEntriesMustBeNonNegativeIntegers() throws Exception {
        assertRejected(file("{" + tensor("w", "F32", "[-1]", 0, 0) + "}", 0), "w", "not a non-negative integer");
        assertRejected(file("{" + tensor("w", "F32", "[2.0]", 0, 8) + "}", 8), "w", "not a non-negative integer");
        assertRejected(file("{" + tensor("w", "F32", "[\"2\"]", 0, 8) + "}", 8), "w", "not a non-negative integer");
        assertRejected(file("{" + tensor("w", "F32", "[99999999999999999999]", 0, 8) + "}", 8), "w", "not a non-negative integer");
    }

    @Test
    void offsetsOutOfBounds() throws Exception {
        assertRejected(file("{" + tensor("w", "F32", "[4]", 0, 16) + "}", 8), "w", "run past the end of the 8-byte data buffer");
        assertRejected(file("{" + tensor("w", "F32", "[0]", 8, 4) + "}", 8), "w", "end before they begin");
        assertRejected(file("{" + tensor("w", "F32", "[1]", -4, 0) + "}", 8), "w", "not a non-negative integer");
    }

    @Test
    void overlappingTensors() throws Exception {
        String header = "{" + tensor("a", "F32", "[2]", 0, 8) + "," + tensor("b", "F32", "[2]", 4, 12) + "}";
        assertRejected(file(header, 12), "b", "overlap tensor 'a'");
    }

    @Test
    void gapBetweenTensors() throws Exception {
        String header = "{" + tensor("a", "F32", "[2]", 0, 8) + "," + tensor("b", "F32", "[2]", 12, 20) + "}";
        assertRejected(file(header, 20), "b", "gap of 4 bytes after tensor 'a'");
        assertRejected(file("{" + tensor("a", "F32", "[2]", 4, 12) + "}", 12), "a", "gap of 4 bytes after the start");
    }

    @Test
    void byteSizeMismatch() throws Exception {
        assertRejected(file("{" + tensor("w", "F32", "[2,2]", 0, 12) + "}", 12), "w", "hold 12 bytes but F32 [2, 2] needs 16");
    }

    @Test
    void overflowingShape() throws Exception {
        // 2^62 x 4 elements alone overflows a long; so does 2^61 elements x 8 bytes
        assertRejected(file("{" + tensor("w", "F32", "[4611686018427387904,4]", 0, 0) + "}", 0), "w", "overflows");
        assertRejected(file("{" + tensor("w", "F64", "[2305843009213693952]", 0, 0) + "}", 0), "w", "overflows");
    }

    @Test
    void trailingBytesNotCoveredByAnyTensor() throws Exception {
        assertRejected(file("{" + tensor("w", "F32", "[2]", 0, 8) + "}", 12), null, "remaining 4 bytes belong to no tensor");
        assertRejected(file("{}", 1), null, "remaining 1 bytes");
    }

    @Test
    void boolBytesOtherThanZeroOrOneAreRejectedOnRead() throws Exception {
        byte[] json = ("{" + tensor("mask", "BOOL", "[2]", 0, 2) + "}").getBytes(StandardCharsets.UTF_8);
        Path file = bytes(ByteBuffer.allocate(8 + json.length + 2).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(json.length).put(json).put((byte) 1).put((byte) 7).array());
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> f.readI32("mask"));
            assertTrue(e.getMessage().contains("tensor 'mask': BOOL element 1 is byte 7"), e.getMessage());
        }
    }

    @Test
    void controlCharactersInNamesDoNotBreakTheMessageLine() throws Exception {
        assertRejected(file("{" + tensor("a\\nb", "Q4", "[1]", 0, 1) + "}", 1), "a\\u000ab", "unknown dtype");
    }

    @Test
    void validEdgeCasesOpen() throws Exception {
        try (SafetensorsFile f = SafetensorsFile.open(file("{}", 0))) {
            assertEquals(0, f.names().size());
        }
        // trailing spaces after the object are padding; zero-size tensors may share an offset
        String header = "{" + tensor("z1", "F32", "[0]", 0, 0) + "," + tensor("z2", "I64", "[3,0]", 0, 0) + "}   ";
        try (SafetensorsFile f = SafetensorsFile.open(file(header, 0))) {
            assertEquals(java.util.List.of("z1", "z2"), f.names());
        }
    }

    /**
     * Random corruptions of a valid file: opening and reading either works or throws
     * SafetensorsException, never anything else.
     */
    @Test
    void randomCorruptionOnlyEverGivesSafetensorsException() throws Exception {
        Path valid = dir.resolve("valid.safetensors");
        new SafetensorsWriter()
                .add("a", new long[] {2, 3}, new float[6])
                .add("b", new long[] {4}, new long[] {1, 2, 3, 4})
                .add("c", StoredType.BOOL, new long[] {3}, new byte[] {0, 1, 0})
                .add("d", StoredType.BF16, new long[] {2}, new byte[4])
                .write(valid);
        byte[] original = Files.readAllBytes(valid);
        Random random = new Random(42);
        Path file = dir.resolve("mutant.safetensors");
        for (int trial = 0; trial < 1000; trial++) {
            byte[] mutant = original.clone();
            int edits = 1 + random.nextInt(3);
            for (int e = 0; e < edits; e++) {
                int at = random.nextInt(mutant.length);
                mutant[at] = random.nextBoolean() ? (byte) random.nextInt(256) : (byte) "{}[]\",:0123456789-e ".charAt(random.nextInt(20));
            }
            if (random.nextInt(10) == 0) mutant = java.util.Arrays.copyOf(mutant, random.nextInt(mutant.length + 8));
            Files.write(file, mutant);
            try (SafetensorsFile f = SafetensorsFile.open(file)) {
                for (String name : f.names()) {
                    f.readBytes(name);
                    if (f.info(name).dtype().isFloatingPoint()) f.readF32(name);
                    else f.readI64(name);
                }
            } catch (SafetensorsException expected) {
                assertTrue(expected.getMessage().startsWith(file + ": "), expected.getMessage());
            }
        }
    }
}
