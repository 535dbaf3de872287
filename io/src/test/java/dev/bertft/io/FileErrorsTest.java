package dev.bertft.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** The JDK's own file-system errors, each described with its path and its reason. */
class FileErrorsTest {
    @Test
    void namesThePathAndTheReason(@TempDir Path tmp) throws IOException {
        Path missing = tmp.resolve("missing.json");
        IOException noFile = assertThrows(IOException.class, () -> Files.readAllBytes(missing));
        assertEquals(missing + ": no such file or folder", FileErrors.describe(noFile));

        Path file = Files.writeString(tmp.resolve("outfile"), "x");
        IOException exists = assertThrows(IOException.class, () -> Files.createDirectory(file));
        assertEquals(file + ": already exists", FileErrors.describe(exists));

        IOException notDir = assertThrows(IOException.class, () -> Files.writeString(file.resolve("sub"), "x"));
        assertEquals(file.resolve("sub") + ": Not a directory", FileErrors.describe(notDir), "the operating system's reason when there is one");
    }

    @Test
    void aReasonWithoutAPathGetsThePath() {
        IOException full = FileErrors.naming(Path.of("out/checkpoint-5/model.safetensors"), new IOException("No space left on device"));
        assertEquals("out/checkpoint-5/model.safetensors: No space left on device", FileErrors.describe(full));
        FileSystemException named = new FileSystemException("a", "b", "Read-only file system");
        assertSame(named, FileErrors.naming(Path.of("c"), named));
        assertEquals("a -> b: Read-only file system", FileErrors.describe(named));
    }
}
