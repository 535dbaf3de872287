package dev.bertft.cuda;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Where libcublas.so.12 (the cuBLAS that JCublas 12.x links against) may be found, in order:
 * <ol>
 *   <li>each directory of LD_LIBRARY_PATH;</li>
 *   <li>$CUDA_HOME/lib64, then $CUDA_PATH/lib64;</li>
 *   <li>/usr/local/cuda/lib64, then /usr/local/cuda-X.Y/lib64, newest version first;</li>
 *   <li>nvidia/cublas/lib inside Python package directories: each PYTHONPATH entry, then
 *       site-packages / dist-packages under /usr/local/lib/python3*, /usr/lib/python3* and
 *       ~/.local/lib/python3* (pip's nvidia-cublas-cu12 wheel);</li>
 *   <li>the system directories /usr/lib/x86_64-linux-gnu, /usr/lib64, /usr/lib.</li>
 * </ol>
 * A pure function of the environment and a {@link Fs} view, so the order is testable without
 * those files. The first directory holding the file wins.
 */
public final class CublasLibrary {
    public static final String FILE = "libcublas.so.12";
    /** cuBLAS 12 loads its Lt companion from its own directory; we preload it from there first. */
    public static final String LT_FILE = "libcublasLt.so.12";

    private CublasLibrary() {}

    /** What the search needs from a file system. */
    public interface Fs {
        boolean isFile(Path p);

        /** The entries of a directory (empty when it is missing). */
        List<Path> list(Path dir);
    }

    /** The real file system. */
    public static final Fs REAL = new Fs() {
        @Override
        public boolean isFile(Path p) {
            return Files.isRegularFile(p);
        }

        @Override
        public List<Path> list(Path dir) {
            if (!Files.isDirectory(dir)) return List.of();
            try (Stream<Path> s = Files.list(dir)) {
                return s.toList();
            } catch (IOException e) {
                return List.of();
            }
        }
    };

    /** The outcome: the file found (if any) and every directory looked in, in order. */
    public record Search(Optional<Path> found, List<Path> searched) {}

    public static Search find(Map<String, String> env, String home, Fs fs) {
        List<Path> dirs = new ArrayList<>(candidateDirectories(env, home, fs));
        for (Path d : dirs) {
            if (fs.isFile(d.resolve(FILE))) return new Search(Optional.of(d.resolve(FILE)), dirs);
        }
        return new Search(Optional.empty(), dirs);
    }

    static List<Path> candidateDirectories(Map<String, String> env, String home, Fs fs) {
        LinkedHashSet<Path> dirs = new LinkedHashSet<>();
        for (String d : split(env.get("LD_LIBRARY_PATH"))) dirs.add(Path.of(d));
        for (String var : List.of("CUDA_HOME", "CUDA_PATH")) {
            String v = env.get(var);
            if (v != null && !v.isEmpty()) dirs.add(Path.of(v, "lib64"));
        }
        dirs.add(Path.of("/usr/local/cuda/lib64"));
        fs.list(Path.of("/usr/local")).stream()
                .filter(p -> p.getFileName().toString().startsWith("cuda-"))
                .sorted(Comparator.comparing((Path p) -> versionKey(p.getFileName().toString().substring(5))).reversed())
                .forEach(p -> dirs.add(p.resolve("lib64")));
        List<Path> packageDirs = new ArrayList<>();
        for (String d : split(env.get("PYTHONPATH"))) packageDirs.add(Path.of(d));
        List<Path> pythonRoots = new ArrayList<>(List.of(Path.of("/usr/local/lib"), Path.of("/usr/lib")));
        if (home != null && !home.isEmpty()) pythonRoots.add(Path.of(home, ".local", "lib"));
        for (Path root : pythonRoots) {
            fs.list(root).stream()
                    .filter(p -> p.getFileName().toString().startsWith("python3"))
                    .sorted(Comparator.comparing((Path p) -> versionKey(p.getFileName().toString().substring(6))).reversed())
                    .forEach(p -> {
                        packageDirs.add(p.resolve("site-packages"));
                        packageDirs.add(p.resolve("dist-packages"));
                    });
        }
        for (Path p : packageDirs) dirs.add(p.resolve("nvidia").resolve("cublas").resolve("lib"));
        for (String d : List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib")) dirs.add(Path.of(d));
        return List.copyOf(dirs);
    }

    private static List<String> split(String pathList) {
        if (pathList == null || pathList.isEmpty()) return List.of();
        return Stream.of(pathList.split(":")).filter(s -> !s.isEmpty()).toList();
    }

    /** "12.6" → a key that sorts 12.10 after 12.9; non-numbers sort first. */
    static String versionKey(String v) {
        StringBuilder key = new StringBuilder();
        for (String part : v.split("\\.")) {
            if (!part.matches("\\d{1,9}")) return "";
            key.append(String.format("%09d.", Integer.parseInt(part)));
        }
        return key.toString();
    }
}
