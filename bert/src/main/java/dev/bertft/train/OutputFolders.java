package dev.bertft.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * What a fine-tuning run checks about its output and logging folders before the first step, so that a
 * path that cannot work fails in seconds, not at the first checkpoint or after the whole run. Errors name
 * the folder by its setting ({@link HyperparameterException}), so the command line says --output-dir.
 */
public final class OutputFolders {
    private OutputFolders() {}

    /** The folder is one, or can be made: its nearest existing ancestor is a folder we may write in. */
    public static void requireWritable(Hyperparameter<Path> folder, Path dir) {
        Path wanted = dir.toAbsolutePath().normalize(), existing = nearestExisting(wanted);
        String where = "{0} " + dir + ": ";
        if (!Files.isDirectory(existing)) {
            throw new HyperparameterException(where + (existing.equals(wanted) ? "is a file" : existing + " is a file"), folder);
        }
        if (!Files.isWritable(existing)) {
            throw new HyperparameterException(where + (existing.equals(wanted) ? "not writable"
                    : "cannot be made, " + existing + " is not writable"), folder);
        }
    }

    /**
     * A folder that holds files is a previous run's: training into it would mix the two runs'
     * checkpoints, and resuming would then pick the old run's last one. {@code remedy} says how the caller
     * replaces or continues that run.
     */
    public static void requireEmpty(Path dir, String remedy) throws IOException {
        if (!Files.isDirectory(dir)) return;
        List<String> names;
        try (Stream<Path> s = Files.list(dir)) {
            names = s.map(p -> p.getFileName().toString()).filter(n -> !Checkpoints.isLeftover(n)).sorted().toList();
        }
        if (names.isEmpty()) return;
        String shown = String.join(", ", names.subList(0, Math.min(3, names.size()))) + (names.size() > 3 ? ", ..." : "");
        throw new HyperparameterException("{0} " + dir + ": not empty (" + shown + "); " + remedy, TrainingArgs.OUTPUT_DIR);
    }

    /** Room on the output folder's file system for {@code bytes}, one checkpoint. */
    public static void requireSpace(Path dir, long bytes) throws IOException {
        long free = Files.getFileStore(nearestExisting(dir.toAbsolutePath().normalize())).getUsableSpace();
        if (free < bytes) {
            throw new HyperparameterException("{0} " + dir + ": no space left for a checkpoint (" + size(free) + " free, one needs about "
                    + size(bytes) + ")", TrainingArgs.OUTPUT_DIR);
        }
    }

    /** A checkpoint's size: float32 weights, plus AdamW's two moments of the same shape when it holds the optimizer. */
    public static long checkpointBytes(long parameters, boolean withOptimizer) {
        return parameters * Float.BYTES * (withOptimizer ? 3 : 1);
    }

    private static Path nearestExisting(Path absolute) {
        Path p = absolute;
        while (p.getParent() != null && !Files.exists(p)) p = p.getParent();
        return p;
    }

    private static String size(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
}
