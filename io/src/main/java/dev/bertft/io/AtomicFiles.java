package dev.bertft.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Files and folders that appear whole or not at all, under one durability rule: the new content
 * is forced to disk before it is renamed into place, and the folder is forced after the rename, so
 * after a crash or power loss a reader finds either the old file or the complete new one.
 *
 * <p>Temporary files sit next to their target (a rename within one folder is atomic) and are
 * created with the default permissions, so what we write follows the umask like any other file.
 */
public final class AtomicFiles {
    /**
     * Runs before every change this class makes (a file written, a rename, a deletion). Tests set it
     * to stop a save at a chosen change, as a kill at that moment would; nothing else sets it.
     */
    public static volatile Consumer<Path> beforeChange = path -> {};

    /** What {@link #temporarySibling} names look like. */
    private static final Pattern TEMPORARY = Pattern.compile("\\..+\\.tmp-\\d+-\\d+");

    private AtomicFiles() {}

    /** Writes the content of a file through an open channel. */
    @FunctionalInterface
    public interface Content {
        void writeTo(FileChannel out) throws IOException;
    }

    /** Replaces {@code file} with {@code bytes}. */
    public static void write(Path file, byte[] bytes) throws IOException {
        write(file, out -> {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            while (b.hasRemaining()) out.write(b);
        });
    }

    /** Replaces {@code file} with what {@code content} writes; the folder is created when missing. */
    public static void write(Path file, Content content) throws IOException {
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        Files.createDirectories(dir);
        Path tmp = temporarySibling(target);
        beforeChange.accept(target);
        try {
            // CREATE_NEW rather than Files.createTempFile, whose files are 0600 whatever the umask
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                content.writeTo(out);
                out.force(true);
            }
            rename(tmp, target);
        } catch (IOException e) {
            Files.deleteIfExists(tmp);
            throw FileErrors.naming(target, e);
        } catch (RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /** Replaces {@code to} with a copy of {@code from}. */
    public static void copy(Path from, Path to) throws IOException {
        write(to, out -> {
            try (FileChannel in = FileChannel.open(from, StandardOpenOption.READ)) {
                long size = in.size();
                for (long done = 0; done < size; ) done += in.transferTo(done, size - done, out);
            }
        });
    }

    /**
     * Renames {@code from} (a file or a folder whose content is already on disk) to {@code to} in
     * the same folder, replacing a file there, and forces the folder so the rename survives a crash.
     */
    public static void rename(Path from, Path to) throws IOException {
        beforeChange.accept(to);
        Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        forceFolder(to.toAbsolutePath().getParent());
    }

    /** Forces every file and folder under {@code root} (a folder assembled before its rename into place). */
    public static void forceTree(Path root) throws IOException {
        List<Path> all;
        try (Stream<Path> s = Files.walk(root)) {
            all = s.toList();
        }
        for (Path p : all) {
            if (Files.isDirectory(p)) {
                forceFolder(p);
            } else {
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                    ch.force(true);
                }
            }
        }
    }

    /** Forces a folder's entries (names created, renamed or removed) to disk. */
    public static void forceFolder(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // Some file systems cannot open a folder for fsync; the files in it are forced already.
        }
    }

    /** Deletes {@code root} and everything under it, deepest first; nothing when it is absent. */
    public static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) return;
        List<Path> all;
        try (Stream<Path> s = Files.walk(root)) {
            all = s.sorted(Comparator.reverseOrder()).toList();
        }
        for (Path p : all) {
            beforeChange.accept(p);
            Files.deleteIfExists(p);
        }
    }

    /** Whether {@code name} is one of our temporary names: a write in progress, or one a kill cut short. */
    public static boolean isTemporary(String name) {
        return TEMPORARY.matcher(name).matches();
    }

    /** A name no other writer uses: the process and a clock in it, hidden by the leading dot. */
    public static Path temporarySibling(Path target) {
        return target.resolveSibling("." + target.getFileName() + ".tmp-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    }
}
