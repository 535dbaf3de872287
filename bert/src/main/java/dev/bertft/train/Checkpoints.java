package dev.bertft.train;

import dev.bertft.io.AtomicFiles;
import dev.bertft.io.FileErrors;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checkpoint folders that are complete or absent, never half-written or half-deleted. A checkpoint
 * is written into a staging folder in the same directory, forced to disk, and only then renamed to
 * {@code checkpoint-N}; one is removed by renaming it to a retired name first, then deleting it. A
 * run killed at any moment leaves at most a staging folder, a retired folder or a temporary file,
 * which {@link #clearLeftovers} removes when the next run starts.
 */
public final class Checkpoints {
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");
    private static final String STAGING_PREFIX = ".staging-";
    private static final String RETIRED_PREFIX = ".retired-";
    static final String STATE_FILE = "trainer_state.json";
    /** Every option's effective value, in the output folder and each checkpoint, as HF saves training_args.bin. */
    public static final String ARGS_FILE = "training_args.json";

    private Checkpoints() {}

    /** Fills a staging folder. */
    @FunctionalInterface
    public interface Writer {
        void write(Path dir) throws IOException;
    }

    /** Writes {@code dir/checkpoint-step} atomically and returns its path. */
    public static Path save(Path outputDir, long step, Writer writer) throws IOException {
        Files.createDirectories(outputDir);
        Path target = outputDir.resolve("checkpoint-" + step);
        Path staging = outputDir.resolve(STAGING_PREFIX + target.getFileName());
        AtomicFiles.deleteTree(staging);
        Files.createDirectories(staging);
        try {
            writer.write(staging);
        } catch (IOException e) {
            throw FileErrors.naming(staging, e); // "No space left on device" alone would not say where
        }
        AtomicFiles.forceTree(staging);
        if (Files.exists(target)) retire(target); // the same step saved again (after a resume)
        AtomicFiles.rename(staging, target);
        return target;
    }

    /** Complete checkpoints in {@code outputDir}, oldest step first. */
    public static List<Path> list(Path outputDir) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Path p : named(outputDir)) {
            if (Files.isRegularFile(p.resolve(STATE_FILE))) out.add(p);
        }
        out.sort(Comparator.comparingLong(Checkpoints::step));
        return out;
    }

    public static Optional<Path> latest(Path outputDir) throws IOException {
        List<Path> all = list(outputDir);
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    public static long step(Path checkpoint) {
        Matcher m = NAME.matcher(checkpoint.getFileName().toString());
        if (!m.matches()) throw new IllegalArgumentException(checkpoint + " is not a checkpoint-N folder");
        return Long.parseLong(m.group(1));
    }

    /** The micro-batch size a checkpoint's run trained with (trainer_state.json's train_batch_size). */
    public static int trainBatchSize(Path checkpoint) throws IOException {
        return TrainerState.read(checkpoint.resolve(STATE_FILE)).trainBatchSize;
    }

    /** Removes what a killed run leaves behind: staging and retired folders, temporary files. */
    public static void clearLeftovers(Path outputDir) throws IOException {
        if (!Files.isDirectory(outputDir)) return;
        List<Path> leftovers = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(outputDir)) {
            for (Path p : ds) {
                if (isLeftover(p.getFileName().toString())) leftovers.add(p);
            }
        }
        for (Path p : leftovers) AtomicFiles.deleteTree(p);
    }

    /** Whether {@code name}, in an output folder, is what a killed run left: cleared at the next start, never data. */
    public static boolean isLeftover(String name) {
        return name.startsWith(STAGING_PREFIX) || name.startsWith(RETIRED_PREFIX) || AtomicFiles.isTemporary(name);
    }

    /** Removes every {@code checkpoint-N} folder, complete or not: a new run's must not mix with an old run's. */
    public static void removeAll(Path outputDir) throws IOException {
        for (Path p : named(outputDir)) retire(p);
    }

    /** Removes the checkpoints of steps after {@code step}: what a run that went on from there saved. */
    public static void removeAfter(Path outputDir, long step) throws IOException {
        for (Path p : list(outputDir)) if (step(p) > step) retire(p);
    }

    /** Keeps the newest {@code limit} checkpoints, plus the best one whatever its age. */
    public static void rotate(Path outputDir, int limit, Path best) throws IOException {
        if (limit <= 0) return;
        List<Path> all = list(outputDir);
        Path keepBest = best == null ? null : best.toAbsolutePath().normalize();
        for (Path p : all.subList(0, Math.max(0, all.size() - limit))) {
            if (!p.toAbsolutePath().normalize().equals(keepBest)) retire(p);
        }
    }

    /**
     * Renames the checkpoint out of the {@code checkpoint-N} namespace before deleting it, so a kill
     * during the deletion leaves a folder {@link #clearLeftovers} recognises, not a checkpoint-N that
     * lost some of its files.
     */
    private static void retire(Path checkpoint) throws IOException {
        Path retired = checkpoint.resolveSibling(RETIRED_PREFIX + checkpoint.getFileName());
        AtomicFiles.deleteTree(retired);
        AtomicFiles.rename(checkpoint, retired);
        AtomicFiles.deleteTree(retired);
    }

    /** Folders named {@code checkpoint-N}. */
    private static List<Path> named(Path outputDir) throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(outputDir)) return out;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(outputDir)) {
            for (Path p : ds) {
                if (NAME.matcher(p.getFileName().toString()).matches() && Files.isDirectory(p)) out.add(p);
            }
        }
        return out;
    }
}
