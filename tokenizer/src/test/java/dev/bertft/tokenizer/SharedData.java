package dev.bertft.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The project's read-only shared folder (../shared from the repository root), when present. */
final class SharedData {
    private SharedData() {}

    /** The shared folder: walks up from the working directory to the repository root's sibling. */
    static Path shared() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            boolean repoRoot = Files.exists(p.resolve("pom.xml")) && Files.isDirectory(p.resolve("tokenizer"));
            if (repoRoot) return Files.isDirectory(p.resolveSibling("shared")) ? p.resolveSibling("shared") : null;
        }
        return null;
    }

    /** all-MiniLM-L6-v2's folder, or the test is skipped with a message. */
    static Path miniLm() {
        Path s = shared();
        Path m = s == null ? null : s.resolve("models/all-MiniLM-L6-v2");
        assumeTrue(m != null && Files.exists(m.resolve("tokenizer.json")),
                "SKIPPED: ../shared/models/all-MiniLM-L6-v2 not found next to the repository");
        return m;
    }

    /** The labeled IMDB archive, or the test is skipped with a message. */
    static Path imdb() {
        Path s = shared();
        Path f = s == null ? null : s.resolve("data/imdb/aclImdb_v1_labeled.tar.gz");
        assumeTrue(f != null && Files.exists(f), "SKIPPED: ../shared/data/imdb/aclImdb_v1_labeled.tar.gz not found");
        return f;
    }
}
