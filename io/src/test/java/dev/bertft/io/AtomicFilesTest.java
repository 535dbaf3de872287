package dev.bertft.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** Whole files or none, permissions from the umask, no temporary file left, errors naming the file and the reason. */
class AtomicFilesTest {
    @TempDir
    Path tmp;

    @Test
    void replacesAFileWithThePermissionsAnyNewFileGets() throws IOException {
        Path file = tmp.resolve("sub/config.json");
        AtomicFiles.write(file, "old".getBytes(StandardCharsets.UTF_8));
        AtomicFiles.write(file, "new".getBytes(StandardCharsets.UTF_8));
        assertEquals("new", Files.readString(file));
        // the reference: a file created the ordinary way, whose mode the umask decides (0644 under umask 022)
        Path plain = Files.writeString(tmp.resolve("sub/plain.txt"), "x");
        assertEquals(PosixFilePermissions.toString(Files.getPosixFilePermissions(plain)),
                PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals(List.of("config.json", "plain.txt"), names(file.getParent()));
    }

    @Test
    void aFailedWriteKeepsTheOldFileAndNamesItWithTheReason() throws IOException {
        Path file = tmp.resolve("model.safetensors");
        AtomicFiles.write(file, new byte[] {1, 2, 3});
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(file, out -> {
            out.write(java.nio.ByteBuffer.wrap(new byte[] {9, 9}));
            throw new IOException("No space left on device");
        }));
        assertEquals(file.toAbsolutePath() + ": No space left on device", FileErrors.describe(e));
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(file));
        assertEquals(List.of("model.safetensors"), names(tmp), "no temporary file left");
    }

    @Test
    void aWriterKilledBeforeTheRenameLeavesOnlyATemporaryNameBehind() throws IOException {
        Path file = tmp.resolve("trainer_state.json");
        AtomicFiles.write(file, "{}".getBytes(StandardCharsets.UTF_8));
        class Kill extends Error {}
        try {
            // the first change (writing the temporary file) passes, the rename is "killed"
            AtomicFiles.beforeChange = new java.util.function.Consumer<>() {
                int changes;
                @Override
                public void accept(Path p) {
                    if (++changes == 2) throw new Kill();
                }
            };
            assertThrows(Kill.class, () -> AtomicFiles.write(file, "{\"global_step\": 5}".getBytes(StandardCharsets.UTF_8)));
        } finally {
            AtomicFiles.beforeChange = p -> {};
        }
        assertEquals("{}", Files.readString(file));
        List<String> left = names(tmp);
        assertEquals(2, left.size(), left.toString());
        assertTrue(AtomicFiles.isTemporary(left.get(0)), left.toString());
        assertFalse(AtomicFiles.isTemporary("trainer_state.json"));
        assertFalse(AtomicFiles.isTemporary(".tmp-1-2"));
    }

    @Test
    void copiesAndDeletesTrees() throws IOException {
        Path from = Files.write(tmp.resolve("vocab.txt"), new byte[100_000]);
        Path to = tmp.resolve("out/vocab.txt");
        AtomicFiles.copy(from, to);
        assertArrayEquals(Files.readAllBytes(from), Files.readAllBytes(to));
        Files.createDirectories(tmp.resolve("out/a/b"));
        Files.writeString(tmp.resolve("out/a/b/c"), "c");
        AtomicFiles.forceTree(tmp.resolve("out"));
        AtomicFiles.deleteTree(tmp.resolve("out"));
        AtomicFiles.deleteTree(tmp.resolve("absent"));
        assertEquals(List.of("vocab.txt"), names(tmp));
    }

    private static List<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
