package dev.bertft.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A plain {@code java ... Main} (no --add-modules) gets the Vector API by relaunching itself,
 * passing standard input, output and the exit code through.
 */
class LauncherTest {
    private static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();

    record Result(int exit, String out, String err) {}

    static Result launch(Path stdin, String... args) throws IOException, InterruptedException {
        return run(List.of(JAVA, "-cp", System.getProperty("java.class.path"), Main.class.getName()), stdin, args);
    }

    /** {@code java} with {@code start} then {@code args}, as a user starts it: no launcher in its environment. */
    static Result run(List<String> start, Path stdin, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(start);
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove(Launcher.LAUNCHER_PID);
        if (stdin != null) pb.redirectInput(stdin.toFile());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Result(p.waitFor(), out, err);
    }

    @Test
    void relaunchesWithTheVectorModule() throws Exception {
        Result r = launch(null, "doctor");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("float lanes"), "SIMD on after the relaunch: " + r.out());
        assertFalse(r.out().contains("CompileCommand"), "the relaunched JVM has the kernels' JIT flags: " + r.out());
        assertTrue(!r.err().contains("SIMD unavailable"), r.err());
        assertFalse(r.err().contains("incubator"), "the relaunched JVM's warning stays off the terminal: " + r.err());
    }

    @Test
    void passesStdinStdoutAndExitCodeThrough(@TempDir Path tmp) throws Exception {
        Path input = Files.writeString(tmp.resolve("in.txt"), "a great movie\n");
        Result ok = launch(input, "predict", "--model", PredictCommandTest.TINY.toString());
        assertEquals(0, ok.exit(), ok.err());
        assertTrue(ok.out().startsWith("{\"label\":"), ok.out());
        Result bad = launch(input, "predict", "--model", tmp.resolve("missing").toString());
        assertEquals(1, bad.exit());
        assertTrue(bad.err().contains("missing"), bad.err());
    }
}
