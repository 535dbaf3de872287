package dev.bertft.spark;

import dev.bertft.data.DataLoader;
import dev.bertft.data.DataOptions;
import dev.bertft.data.Example;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The real model and data under ../shared, found by walking up from the working directory; a test that needs
 * one is skipped, saying so, where it is absent.
 */
final class SharedInputs {
    private static List<String> reviews;

    private SharedInputs() {
    }

    /** all-MiniLM-L6-v2: a real BERT folder without a trained head (the library draws one from seed 0). */
    static Path miniLm() {
        Path p = find("models/all-MiniLM-L6-v2/config.json");
        assumeTrue(p != null, "../shared/models/all-MiniLM-L6-v2 is not present: skipping the Spark test on a real model");
        return p.getParent();
    }

    /** {@code n} reviews of the IMDB test split, every (12,499 / n)th one so that both labels and all lengths are in. */
    static synchronized List<String> imdbTestReviews(int n) throws IOException {
        Path archive = find("data/imdb/aclImdb_v1_labeled.tar.gz");
        assumeTrue(archive != null, "../shared/data/imdb/aclImdb_v1_labeled.tar.gz is not present: skipping the IMDB Spark test");
        if (reviews == null) {
            List<String> texts = new ArrayList<>();
            for (Example e : DataLoader.fromEnvironment().load(DataOptions.of(archive.toString())).eval()) texts.add(e.text());
            reviews = texts;
        }
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(reviews.get((int) ((long) i * reviews.size() / n)));
        return out;
    }

    private static Path find(String relative) {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("shared").resolve(relative);
            if (Files.exists(candidate)) return candidate;
        }
        return null;
    }
}
