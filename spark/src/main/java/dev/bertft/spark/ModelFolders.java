package dev.bertft.spark;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Brings a model folder from any Hadoop file system to this JVM's local disk, where the library reads it. A
 * folder on the local file system is used where it is; any other is copied (its files, not its subfolders:
 * a model folder is flat) into a temporary folder that is deleted when the JVM exits.
 */
final class ModelFolders {
    private ModelFolders() {
    }

    /**
     * The folder at {@code path} on local disk.
     *
     * @throws FileNotFoundException when nothing is at the path
     * @throws IOException when the path is a file or its file system cannot be read
     */
    static Path local(String path, Configuration conf) throws IOException {
        org.apache.hadoop.fs.Path remote = new org.apache.hadoop.fs.Path(path);
        FileSystem fs = remote.getFileSystem(conf);
        FileStatus folder;
        try {
            folder = fs.getFileStatus(remote);
        } catch (FileNotFoundException e) {
            throw new FileNotFoundException("model path " + path + " does not exist");
        }
        if (!folder.isDirectory()) throw new IOException("model path " + path + " is a file, not a model folder");
        if ("file".equals(fs.getScheme())) return Path.of(fs.makeQualified(remote).toUri());
        Path local = Files.createTempDirectory("bert-ft-model-");
        Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(local)));
        for (FileStatus f : fs.listStatus(remote)) {
            if (f.isFile()) fs.copyToLocalFile(false, f.getPath(), new org.apache.hadoop.fs.Path(local.resolve(f.getPath().getName()).toUri()), true);
        }
        return local;
    }

    /** Removes a copied folder and its files. */
    private static void delete(Path folder) {
        try (Stream<Path> all = Files.walk(folder)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
