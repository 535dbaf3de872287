package dev.bertft.train;

import dev.bertft.io.AtomicFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A run stopped at any change it makes to its output folder (while writing a checkpoint, renaming
 * it into place, retiring an old one, saving the final model), then resumed from its latest
 * checkpoint, ends with the uninterrupted run's weights bit for bit and the same checkpoint folders,
 * every one complete, with no staging or retired folder left.
 */
class KilledSaveTest {
    /** Stands for a kill: an Error, so the code under test has no handler that could tidy up after it. */
    private static final class Kill extends Error {}

    private final List<Batches.Tokenized> train = TrainerTest.data(48, 4, false), eval = TrainerTest.data(16, 5, false);

    private TrainingArgs args(Path out) {
        // 6 updates an epoch, 12 in all; a checkpoint every 2 and an evaluation every 4: rotation keeps 2 and the best
        return TrainerTest.args(out).maxSteps(12).saveStrategy(TrainingArgs.Strategy.STEPS).saveSteps(2).saveTotalLimit(2)
                .evalStrategy(TrainingArgs.Strategy.STEPS).evalSteps(4).build();
    }

    private void run(Path out, Path resumeFrom, Consumer<Path> beforeChange) throws IOException {
        AtomicFiles.beforeChange = beforeChange;
        try {
            TrainerTest.trainer(TrainerTest.model(0.2), args(out), train, eval, new Trainer.Listener() {}).train(resumeFrom);
        } finally {
            AtomicFiles.beforeChange = p -> {};
        }
    }

    @Test
    void resumingAfterAKillAtAnyChangeEndsWithTheUninterruptedWeights(@TempDir Path tmp) throws IOException {
        Path through = tmp.resolve("through");
        int[] changes = {0};
        run(through, null, p -> changes[0]++);
        byte[] weights = Files.readAllBytes(through.resolve("model.safetensors"));
        List<String> checkpoints = names(through, "checkpoint-");
        assertTrue(changes[0] > 50, "changes counted: " + changes[0]);

        // kills spread over the whole run by a seeded draw (a few seconds in all), and at its last changes
        SplittableRandom random = new SplittableRandom(20);
        TreeSet<Integer> killAt = new TreeSet<>(List.of(1, changes[0] - 2, changes[0] - 1, changes[0]));
        while (killAt.size() < 10) killAt.add(1 + random.nextInt(changes[0]));
        for (int k : killAt) {
            Path out = tmp.resolve("killed-at-" + k);
            int[] seen = {0};
            assertThrows(Kill.class, () -> run(out, null, p -> { if (++seen[0] == k) throw new Kill(); }), "change " + k);
            Path latest = Checkpoints.latest(out).orElse(null);
            for (String name : names(out, "checkpoint-")) {
                assertTrue(Files.isRegularFile(out.resolve(name).resolve(Checkpoints.STATE_FILE)), "killed at change " + k + ": " + name
                        + " is incomplete");
            }
            run(out, latest, p -> {});
            String where = "killed at change " + k + ", resumed from " + latest;
            assertArrayEquals(weights, Files.readAllBytes(out.resolve("model.safetensors")), where);
            assertEquals(checkpoints, names(out, "checkpoint-"), where);
            assertEquals(List.of(), names(out, "."), where + ": leftovers");
        }
    }

    private static List<String> names(Path dir, String prefix) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(prefix)).sorted().toList();
        }
    }
}
