package dev.bertft.pytorch;

import dev.bertft.safetensors.StoredType;
import dev.bertft.tensor.Float16;
import dev.bertft.safetensors.SafetensorsFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link TorchCheckpoint} on archives written by PyTorch 1.13's torch.save
 * (src/test/python/make_pytorch_fixtures.py), and on damaged or hostile ones.
 */
class TorchCheckpointTest {
    static final Path ZOO = resource("zoo.bin");

    @TempDir
    Path tmp;

    @Test
    void everyTensorEqualsPyTorchsContiguousCopy() throws IOException {
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(ZOO);
             SafetensorsFile expected = SafetensorsFile.open(resource("zoo.expected.safetensors"))) {
            assertEquals(List.of("w", "w_t", "w_slice", "w_tied", "w_col", "expanded", "half", "half_view", "bf16", "f64",
                    "i64", "position_ids", "i32", "i8", "u8", "mask", "scalar", "empty", "param"), ckpt.names());
            for (String name : ckpt.names()) {
                assertEquals(expected.info(name).dtype(), ckpt.info(name).dtype(), name);
                assertArrayEquals(expected.info(name).shape(), ckpt.info(name).shape(), name);
                assertArrayEquals(expected.readBytes(name), ckpt.readBytes(name), name);
                if (ckpt.info(name).dtype().isFloatingPoint()) {
                    assertArrayEquals(expected.readF32(name), ckpt.readF32(name), name);
                    assertArrayEquals(expected.readF64(name), ckpt.readF64(name), name);
                } else {
                    assertArrayEquals(expected.readI64(name), ckpt.readI64(name), name);
                }
            }
            // torch.int8 (CharStorage), signed, as the fixture script wrote it
            assertArrayEquals(new int[] {-128, -1, 0, 127}, ckpt.readI32("i8"));
            assertArrayEquals(new long[] {-128, -1, 0, 127}, expected.readI64("i8"));
        }
    }

    @Test
    void viewsOfOneStorageReadTheirOwnElements() throws IOException {
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(ZOO)) {
            float[] w = ckpt.readF32("w");                                   // [3, 4]
            assertArrayEquals(new long[] {4, 3}, ckpt.info("w_t").shape());
            assertEquals(w[1 * 4 + 2], ckpt.readF32("w_t")[2 * 3 + 1]);       // w_t[2][1] = w[1][2]
            assertArrayEquals(new float[] {w[5], w[6], w[9], w[10]}, ckpt.readF32("w_slice"));
            assertArrayEquals(new float[] {w[2], w[6], w[10]}, ckpt.readF32("w_col"));
            assertArrayEquals(w, ckpt.readF32("w_tied"));
            float[] half = ckpt.readF32("half");
            assertArrayEquals(new float[] {-2f, 65504f, half[7]}, ckpt.readF32("half_view"));   // half[1::3]
            assertArrayEquals(new float[] {0, 1, 2, 0, 1, 2}, ckpt.readF32("expanded"));
            assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7}, ckpt.readI32("position_ids"));
            short[] halfBits = ckpt.readHalf("half_view");
            for (int i = 0; i < halfBits.length; i++) assertEquals(ckpt.readF32("half_view")[i], Float16.f16ToFloat(halfBits[i]));
            assertEquals(StoredType.BF16, ckpt.info("bf16").dtype());
            assertEquals(Float16.bf16ToFloat(ckpt.readHalf("bf16")[4]), ckpt.readF32("bf16")[4]);
            assertArrayEquals(new float[] {2.25f}, ckpt.readF32("scalar"));
            assertEquals(0, ckpt.readF32("empty").length);
            IOException tooWide = assertThrows(IOException.class, () -> ckpt.readI32("i64"));   // holds 2^40
            assertOneLine(tooWide, "zoo.bin", "does not fit in an int");
            assertOneLine(assertThrows(IOException.class, () -> ckpt.readF32("i32")), "zoo.bin", "'i32' is I32");
            assertOneLine(assertThrows(IOException.class, () -> ckpt.info("nope")), "zoo.bin", "no tensor 'nope'");
        }
    }

    @Test
    void picklesThatWouldRunCodeAreRefusedAndNothingRuns() throws IOException {
        // Python's torch.load on this file runs "touch /tmp/bertft-pickle-ran" (the fixture script checks that it does).
        Path marker = Path.of("/tmp/bertft-pickle-ran");
        Files.deleteIfExists(marker);
        IOException e = assertThrows(TorchCheckpointException.class, () -> TorchCheckpoint.open(resource("os_system.bin")));
        assertOneLine(e, "os_system.bin: os_system/data.pkl at byte 206: refuses global 'posix.system'");
        assertFalse(Files.exists(marker));

        // the same refusal for any other callable, wherever it appears
        Map<String, byte[]> evil = entries(ZOO);
        evil.put("zoo/data.pkl", pickle("\u0080\u0002cbuiltins\neval\nX\u0004\u0000\u0000\u00001+1\u0085R."));
        assertOneLine(assertThrows(TorchCheckpointException.class, () -> TorchCheckpoint.open(write(evil))),
                "zoo/data.pkl at byte 2: refuses global 'builtins.eval'");
        evil.put("zoo/data.pkl", pickle("\u0080\u0002cos\r\u001b[2K\nsystem\n."));   // a name that would redraw the terminal line
        assertOneLine(assertThrows(TorchCheckpointException.class, () -> TorchCheckpoint.open(write(evil))),
                "refuses global 'os\\u000d\\u001b[2K.system'");
    }

    @Test
    void truncatedArchivesAreClearErrors() throws IOException {
        byte[] whole = Files.readAllBytes(ZOO);
        Path half = tmp.resolve("half.bin");
        Files.write(half, Arrays.copyOf(whole, whole.length / 2));
        assertOneLine(assertThrows(TorchCheckpointException.class, () -> TorchCheckpoint.open(half)),
                "half.bin", "truncated or damaged");
        Path stub = tmp.resolve("stub.bin");
        Files.write(stub, Arrays.copyOf(whole, 3));
        assertOneLine(assertThrows(TorchCheckpointException.class, () -> TorchCheckpoint.open(stub)), "stub.bin", "too short");
    }

    @Test
    void aDamagedStorageFailsItsCrcWhenRead() throws IOException {
        byte[] bytes = Files.readAllBytes(ZOO);
        float[] w;
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(ZOO)) {
            w = ckpt.readF32("w");
        }
        byte[] last = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(w[11]).array();
        int at = indexOf(bytes, last);
        bytes[at] ^= 1;
        Path damaged = tmp.resolve("damaged.bin");
        Files.write(damaged, bytes);
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(damaged)) {
            assertOneLine(assertThrows(TorchCheckpointException.class, () -> ckpt.readF32("w_t")), "damaged.bin",
                    "zoo/data/0 is damaged: its CRC-32");
            assertArrayEquals(new float[] {1.5f}, Arrays.copyOf(ckpt.readF32("half"), 1));   // other storages still read
        }
    }

    @Test
    void malformedArchivesAreClearErrors() throws IOException {
        Map<String, byte[]> noPickle = entries(ZOO);
        noPickle.remove("zoo/data.pkl");
        assertOneLine(assertThrows(TorchCheckpointException.class, () -> TorchCheckpoint.open(write(noPickle))), "has no data.pkl");

        Map<String, byte[]> unknownOp = entries(ZOO);
        unknownOp.put("zoo/data.pkl", pickle("\u0080\u0002I1\n."));   // INT, a text-protocol opcode torch never writes
        assertOneLine(assertThrows(TorchCheckpointException.class, () -> TorchCheckpoint.open(write(unknownOp))),
                "zoo/data.pkl at byte 2: unsupported pickle opcode 0x49");

        Map<String, byte[]> cut = entries(ZOO);
        byte[] pkl = cut.get("zoo/data.pkl");
        cut.put("zoo/data.pkl", Arrays.copyOf(pkl, pkl.length / 2));
        assertOneLine(assertThrows(TorchCheckpointException.class, () -> TorchCheckpoint.open(write(cut))),
                "zoo/data.pkl at byte", "the pickle ends in the middle of an opcode");

        Map<String, byte[]> shortStorage = entries(ZOO);
        shortStorage.put("zoo/data/0", new byte[8]);
        assertOneLine(assertThrows(TorchCheckpointException.class, () -> TorchCheckpoint.open(write(shortStorage))),
                "tensor 'w'", "entry zoo/data/0 holds 8 bytes, but its storage record says 12 x F32 = 48 bytes");

        Map<String, byte[]> noStorage = entries(ZOO);
        noStorage.remove("zoo/data/0");
        assertOneLine(assertThrows(TorchCheckpointException.class, () -> TorchCheckpoint.open(write(noStorage))),
                "tensor 'w'", "entry zoo/data/0 is missing");

        Map<String, byte[]> tupleKey = entries(ZOO);
        tupleKey.put("zoo/data.pkl", pickle("\u0080\u0002}()K\u0001u."));   // {(): 1}
        assertOneLine(assertThrows(TorchCheckpointException.class, () -> TorchCheckpoint.open(write(tupleKey))),
                "dict key is a tuple, not a str or int");

        Map<String, byte[]> notADict = entries(ZOO);
        notADict.put("zoo/data.pkl", pickle("\u0080\u0002K\u0007."));
        assertOneLine(assertThrows(TorchCheckpointException.class, () -> TorchCheckpoint.open(write(notADict))),
                "holds an int, not a state dict");
    }

    @Test
    void aViewPastTheEndOfItsStorageIsRefused() {
        // arange(6)[1:] (offset 1, 5 elements) whose storage record and entry were shrunk to 2 elements
        assertOneLine(assertThrows(TorchCheckpointException.class, () -> TorchCheckpoint.open(resource("view_past_storage.bin"))),
                "view_past_storage.bin", "tensor 'v' (size [5], stride [1], offset 1) reaches element 5 of a storage of 2");
    }

    @Test
    void otherFormatsAreNamed() throws IOException {
        assertOneLine(assertThrows(TorchCheckpointException.class, () -> TorchCheckpoint.open(resource("legacy.bin"))),
                "legacy.bin", "legacy (pre-1.6) format, which is not supported");
        Path text = tmp.resolve("notes.bin");
        Files.writeString(text, "hello, world");
        assertOneLine(assertThrows(TorchCheckpointException.class, () -> TorchCheckpoint.open(text)), "notes.bin", "not a PyTorch checkpoint");

        Map<String, byte[]> big = entries(ZOO);
        big.put("zoo/byteorder", "big".getBytes(StandardCharsets.US_ASCII));
        assertOneLine(assertThrows(TorchCheckpointException.class, () -> TorchCheckpoint.open(write(big))), "'big' byte order");
        Map<String, byte[]> little = entries(ZOO);
        little.put("zoo/byteorder", "little".getBytes(StandardCharsets.US_ASCII));   // as PyTorch 2.1+ writes
        try (TorchCheckpoint ckpt = TorchCheckpoint.open(write(little))) {
            assertEquals(19, ckpt.names().size());
        }
    }

    // ---------------------------------------------------------------- helpers

    static void assertOneLine(Throwable e, String... parts) {
        String m = e.getMessage();
        assertFalse(m.chars().anyMatch(c -> c < 0x20), m);
        for (String part : parts) assertTrue(m.contains(part), "'" + part + "' not in: " + m);
    }

    static byte[] pickle(String latin1) {
        return latin1.getBytes(StandardCharsets.ISO_8859_1);
    }

    static Map<String, byte[]> entries(Path archive) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(archive.toFile())) {
            for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements(); ) {
                ZipEntry entry = e.nextElement();
                out.put(entry.getName(), zip.getInputStream(entry).readAllBytes());
            }
        }
        return out;
    }

    /** A zip of stored entries with correct CRCs, as torch.save writes them. */
    Path write(Map<String, byte[]> entries) throws IOException {
        Path file = Files.createTempFile(tmp, "archive", ".bin");
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zip = new ZipOutputStream(os)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry entry = new ZipEntry(e.getKey());
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                entry.setMethod(ZipEntry.STORED);
                entry.setSize(e.getValue().length);
                entry.setCompressedSize(e.getValue().length);
                entry.setCrc(crc.getValue());
                zip.putNextEntry(entry);
                zip.write(e.getValue());
                zip.closeEntry();
            }
        }
        return file;
    }

    static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) if (haystack[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("pattern not found");
    }

    static Path resource(String name) {
        try {
            return Path.of(TorchCheckpointTest.class.getResource("/pytorch/" + name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing test resource pytorch/" + name, e);
        }
    }
}
