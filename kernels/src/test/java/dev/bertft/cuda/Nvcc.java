package dev.bertft.cuda;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Finding nvcc and running commands for the tests that check the kernel sources on the CPU machine. */
final class Nvcc {
    private Nvcc() {}

    /** $CUDA_HOME/bin/nvcc or /usr/local/cuda/bin/nvcc, when present. */
    static Optional<Path> find() {
        String home = System.getenv("CUDA_HOME");
        for (Path p : List.of(Path.of(home == null ? "/nonexistent" : home, "bin", "nvcc"), Path.of("/usr/local/cuda/bin/nvcc"))) {
            if (Files.isExecutable(p)) return Optional.of(p);
        }
        return Optional.empty();
    }

    /** The kernels module directory: tests run there or in a sibling module under Maven, from the repo root elsewhere. */
    static Path moduleDir() {
        Path here = Path.of("").toAbsolutePath();
        if (Files.isDirectory(here.resolve("src/main/cuda"))) return here;
        if (Files.isDirectory(here.resolve("kernels"))) return here.resolve("kernels");
        return here.resolveSibling("kernels");
    }

    static Path cudaSources() {
        return moduleDir().resolve("src/main/cuda");
    }

    static Path committedPtx() {
        return moduleDir().resolve("src/main/resources/dev/bertft/cuda");
    }

    /** Every kernel of the committed PTX with its parameter types, as {@link Kernels#signatures} reads them. */
    static Map<String, List<String>> committedSignatures() throws IOException {
        Map<String, List<String>> all = new LinkedHashMap<>();
        for (String module : Kernels.MODULES) all.putAll(committedSignatures(module));
        return all;
    }

    static Map<String, List<String>> committedSignatures(String module) throws IOException {
        return Kernels.signatures(Files.readString(committedPtx().resolve(module + ".ptx")));
    }

    record Result(int exitCode, String output) {}

    static Result run(Path dir, List<String> command, long timeoutSeconds) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(new ArrayList<>(command)).directory(dir.toFile()).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("timed out: " + command);
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    /** "release 13.0, V13.0.88" from `nvcc --version` or a PTX header. */
    static Optional<String> release(String text) {
        var m = java.util.regex.Pattern.compile("release [0-9.]+, V[0-9.]+").matcher(text);
        return m.find() ? Optional.of(m.group()) : Optional.empty();
    }
}
