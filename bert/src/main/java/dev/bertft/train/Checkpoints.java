package dev.bertft.train;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Checkpoint folders that are complete or absent, never half-written. A checkpoint is written
 * into a staging folder in the same directory, every file and the folder are fsynced, and only
 * then is it renamed to {@code checkpoint-N}. A run killed at any moment leaves at most a
 * staging folder, which the next run removes.
 */
public final class Checkpoints {
    private static final Pattern NAME = Pattern.compile("checkpoint-(\\d+)");
    private static final String STAGING_PREFIX = ".staging-";
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
        deleteTree(staging);
        Files.createDirectories(staging);
        writer.write(staging);
        fsyncTree(staging);
        if (Files.exists(target)) {
            // Same step saved again (after a resume): swap, then drop the old copy.
            Path old = outputDir.resolve(STAGING_PREFIX + "old-" + target.getFileName());
            deleteTree(old);
            move(target, old);
            move(staging, target);
            deleteTree(old);
        } else {
            move(staging, target);
        }
        fsync(outputDir);
        return target;
    }

    /** Complete checkpoints in {@code outputDir}, oldest step first. */
    public static List<Path> list(Path outputDir) throws IOException {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(outputDir)) return out;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(outputDir)) {
            for (Path p : ds) {
                if (NAME.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p.resolve(STATE_FILE))) out.add(p);
            }
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

    /** Removes staging folders left by a killed run. */
    public static void removeStaging(Path outputDir) throws IOException {
        if (!Files.isDirectory(outputDir)) return;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(outputDir, STAGING_PREFIX + "*")) {
            for (Path p : ds) deleteTree(p);
        }
    }

    /** Keeps the newest {@code limit} checkpoints, plus the best one whatever its age. */
    public static void rotate(Path outputDir, int limit, Path best) throws IOException {
        if (limit <= 0) return;
        List<Path> all = list(outputDir);
        Path keepBest = best == null ? null : best.toAbsolutePath().normalize();
        for (Path p : all.subList(0, Math.max(0, all.size() - limit))) {
            if (!p.toAbsolutePath().normalize().equals(keepBest)) deleteTree(p);
        }
    }

    /** Replaces {@code file} with {@code bytes} atomically (temp file, fsync, rename). */
    public static void writeAtomically(Path file, byte[] bytes) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ch.write(java.nio.ByteBuffer.wrap(bytes));
                ch.force(true);
            }
            move(tmp, file);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static void fsyncTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) fsync(p);
        }
    }

    private static void fsync(Path p) throws IOException {
        if (Files.isDirectory(p)) {
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
                ch.force(true);
            } catch (IOException ignored) {
                // Some file systems refuse to open directories for fsync; the files themselves are synced.
            }
        } else {
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) Files.delete(q);
        }
    }
}
