package dev.bertft.safetensors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RoundTripTest {

    @TempDir
    Path dir;

    @Test
    void everyDtypeRoundTrips() throws Exception {
        float[] f32 = {1.5f, -0.0f, Float.MIN_VALUE, Float.MAX_VALUE, Float.NEGATIVE_INFINITY, Float.NaN};
        double[] f64 = {0.1, -1e300, Double.MIN_VALUE, Double.NaN};
        int[] i32 = {Integer.MIN_VALUE, -1, 0, Integer.MAX_VALUE};
        long[] i64 = {Long.MIN_VALUE, -1, 0, Long.MAX_VALUE, 1L << 40, 7};
        byte[] u8 = {0, 1, (byte) 128, (byte) 255};
        byte[] bool = {1, 0, 0, 1, 1, 1};
        byte[] f16 = {0x00, 0x3C, 0x01, 0x00, 0x00, (byte) 0xFC};   // 1.0, 2^-24, -inf (little endian)
        byte[] bf16 = {(byte) 0x80, 0x3F, 0x00, (byte) 0xC0};       // 1.0, -2.0
        Path file = dir.resolve("all.safetensors");
        new SafetensorsWriter()
                .add("f32", new long[] {2, 3}, f32)
                .add("f64", new long[] {4}, f64)
                .add("i32", new long[] {2, 2}, i32)
                .add("i64", new long[] {3, 2}, i64)
                .add("u8", StoredType.U8, new long[] {4}, u8)
                .add("bool", StoredType.BOOL, new long[] {2, 3}, bool)
                .add("f16", StoredType.F16, new long[] {3}, f16)
                .add("bf16", StoredType.BF16, new long[] {2}, bf16)
                .add("scalar", new long[] {}, new float[] {42f})
                .add("empty", new long[] {0, 5}, new float[0])
                .metadata("epoch", "3")
                .write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(List.of("f32", "f64", "i32", "i64", "u8", "bool", "f16", "bf16", "scalar", "empty"), f.names());
            assertEquals(Map.of("format", "pt", "epoch", "3"), f.metadata());
            assertEquals(new TensorInfo("i32", StoredType.I32, new long[] {2, 2}, 24 + 32, 24 + 32 + 16), f.info("i32"));
            assertArrayEquals(f32, f.readF32("f32"));   // assertArrayEquals compares floats by bits, NaN == NaN
            assertArrayEquals(f64, f.readF64("f64"));
            assertArrayEquals(i32, f.readI32("i32"));
            assertArrayEquals(new long[] {Integer.MIN_VALUE, -1, 0, Integer.MAX_VALUE}, f.readI64("i32"));
            assertArrayEquals(i64, f.readI64("i64"));
            assertArrayEquals(new int[] {0, 1, 128, 255}, f.readI32("u8"));
            assertArrayEquals(new long[] {0, 1, 128, 255}, f.readI64("u8"));
            assertArrayEquals(new int[] {1, 0, 0, 1, 1, 1}, f.readI32("bool"));
            assertArrayEquals(bool, f.readBytes("bool"));
            assertArrayEquals(new float[] {1f, 0x1p-24f, Float.NEGATIVE_INFINITY}, f.readF32("f16"));
            assertArrayEquals(new double[] {1.0, -2.0}, f.readF64("bf16"));
            assertArrayEquals(new float[] {42f}, f.readF32("scalar"));
            assertArrayEquals(new float[0], f.readF32("empty"));
            assertArrayEquals(f16, f.readBytes("f16"));
            // F64 -> F32 rounds to nearest: 0.1 -> 0.1f, -1e300 -> -inf, 4.9e-324 -> 0
            assertArrayEquals(new float[] {0.1f, Float.NEGATIVE_INFINITY, 0f, Float.NaN}, f.readF32("f64"));
        }
    }

    /** The exact bytes of a one-tensor file, worked out by hand from the format. */
    @Test
    void writesTheExactFormat() throws Exception {
        Path file = dir.resolve("one.safetensors");
        new SafetensorsWriter().add("a", new long[] {2}, new float[] {1f, -2f}).write(file);
        String json = "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
        assertEquals(85, json.length());
        String padded = json + "   "; // 85 -> 88, the next multiple of 8
        ByteBuffer expected = ByteBuffer.allocate(8 + 88 + 8).order(ByteOrder.LITTLE_ENDIAN);
        expected.putLong(88).put(padded.getBytes(StandardCharsets.UTF_8));
        expected.put(new byte[] {0x00, 0x00, (byte) 0x80, 0x3F});                 // 1.0f = 0x3F800000
        expected.put(new byte[] {0x00, 0x00, 0x00, (byte) 0xC0});                 // -2.0f = 0xC0000000
        assertArrayEquals(expected.array(), Files.readAllBytes(file));
    }

    @Test
    void overwriteReplacesTheFileAndLeavesNoTemporaryFiles() throws Exception {
        Path file = dir.resolve("model.safetensors");
        new SafetensorsWriter().add("w", new long[] {1}, new float[] {1f}).write(file);
        new SafetensorsWriter().add("w", new long[] {2}, new float[] {2f, 3f}).write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(new float[] {2f, 3f}, f.readF32("w"));
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList());
        }
    }

    @Test
    void failedWriteLeavesTargetAndNoTemporaryFile() throws Exception {
        // a non-empty directory at the target: the final rename fails after the data was written
        Path target = dir.resolve("busy");
        Files.createDirectory(target);
        Files.writeString(target.resolve("keep.txt"), "keep");
        SafetensorsWriter w = new SafetensorsWriter().add("w", new long[] {1}, new float[] {1f});
        assertThrows(java.io.IOException.class, () -> w.write(target));
        assertEquals("keep", Files.readString(target.resolve("keep.txt")));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(target), files.toList());
        }
    }

    @Test
    void writerRejectsInconsistentInput() {
        assertThrows(IllegalArgumentException.class,
                () -> new SafetensorsWriter().add("a", new long[] {2, 2}, new float[3]));
        assertThrows(IllegalArgumentException.class,
                () -> new SafetensorsWriter().add("a", new long[] {1}, new float[1]).add("a", new long[] {1}, new int[1]));
        assertThrows(IllegalArgumentException.class,
                () -> new SafetensorsWriter().add("__metadata__", new long[] {1}, new float[1]));
        assertThrows(IllegalArgumentException.class,
                () -> new SafetensorsWriter().add("a", new long[] {-1, -1}, new float[1]));
        assertThrows(IllegalArgumentException.class,
                () -> new SafetensorsWriter().add("b", StoredType.BOOL, new long[] {1}, new byte[] {2}));
        assertThrows(IllegalArgumentException.class,
                () -> new SafetensorsWriter().add("h", StoredType.F16, new long[] {1}, new byte[] {1, 2, 3}));
    }

    /** Reads through tiny mapping windows, so every tensor spans many of them. */
    @Test
    void windowedReadsMatchWholeReads() throws Exception {
        float[] f32 = new float[37];
        long[] i64 = new long[11];
        byte[] f16 = new byte[2 * 9];
        for (int i = 0; i < f32.length; i++) f32[i] = i * 0.25f - 3f;
        for (int i = 0; i < i64.length; i++) i64[i] = (long) i * 1_000_000_007L - 5;
        for (int i = 0; i < 9; i++) f16[2 * i + 1] = 0x3C; // 0x3C00 = 1.0
        Path file = dir.resolve("windows.safetensors");
        new SafetensorsWriter()
                .add("u8", StoredType.U8, new long[] {3}, new byte[] {9, 8, 7})  // leaves the rest unaligned
                .add("f32", new long[] {37}, f32)
                .add("i64", new long[] {11}, i64)
                .add("f16", StoredType.F16, new long[] {9}, f16)
                .write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file, 16)) {
            assertArrayEquals(f32, f.readF32("f32"));
            assertArrayEquals(i64, f.readI64("i64"));
            float[] ones = new float[9];
            java.util.Arrays.fill(ones, 1f);
            assertArrayEquals(ones, f.readF32("f16"));
            assertArrayEquals(new int[] {9, 8, 7}, f.readI32("u8"));
            try (SafetensorsFile whole = SafetensorsFile.open(file)) {
                assertArrayEquals(whole.readBytes("f32"), f.readBytes("f32"));
            }
        }
    }

    /**
     * A sparse file of just over 2 GiB: a tensor located past the 2 GiB mark is read correctly, and
     * one too large for a Java array is refused without allocating.
     */
    @Test
    void tensorsBeyondTwoGigabytes() throws Exception {
        long padBytes = (1L << 31) + 24;
        String json = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[" + padBytes + "],\"data_offsets\":[0," + padBytes + "]},"
                + "\"tail\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[" + padBytes + "," + (padBytes + 12) + "]}}";
        byte[] header = (json + " ".repeat((8 - json.length() % 8) % 8)).getBytes(StandardCharsets.US_ASCII);
        Path file = dir.resolve("big.safetensors");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ByteBuffer start = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
            start.putLong(header.length).put(header).flip();
            ch.write(start, 0);
            ByteBuffer tail = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
            tail.putFloat(1.25f).putFloat(-7f).putFloat(3e-3f).flip();
            ch.write(tail, 8 + header.length + padBytes); // the pad stays a hole
        }
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertArrayEquals(new float[] {1.25f, -7f, 3e-3f}, f.readF32("tail"));
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> f.readBytes("pad"));
            assertTrue(e.getMessage().contains("tensor 'pad'") && e.getMessage().contains("more than a Java array holds"),
                    e.getMessage());
        }
    }
}
