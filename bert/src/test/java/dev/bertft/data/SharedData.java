package dev.bertft.data;

import java.nio.file.Files;
import java.nio.file.Path;

/** Finds ../shared next to the repository root by walking up from the working directory. */
final class SharedData {
    private SharedData() {
    }

    /** The file under shared/, or null when there is no shared folder with it. */
    static Path find(String relative) {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("shared").resolve(relative);
            if (Files.isRegularFile(candidate)) return candidate;
        }
        return null;
    }
}
