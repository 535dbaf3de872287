package dev.bertft.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * {@code java ... Main train} as a user starts it: the launcher JVM and the training JVM it
 * relaunches. Signals stop training at a step boundary with the shell's exit code; SIGKILL of the
 * launcher takes the JVM it started with it; a training JVM SIGKILLed at any moment resumes to the
 * uninterrupted run's weights.
 */
class TrainSignalsTest {
    private static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();

    @TempDir
    Path tmp;

    private List<String> trainArgs(Path out, String... extra) throws IOException {
        List<String> a = new ArrayList<>(List.of("train", "--model", PredictCommandTest.TINY.toString(),
                "--data", TrainCommandTest.reviews(tmp.resolve("train.csv"), 160, 1).toString(),
                "--output-dir", out.toString(), "--logging-dir", out.resolve("logs").toString(),
                "--batch-size", "8", "--learning-rate", "2e-3", "--warmup-steps", "3", "--save-strategy", "steps",
                "--save-steps", "5", "--save-total-limit", "2", "--max-length", "32", "--threads", "1"));
        a.addAll(List.of(extra));
        return a;
    }

    /** Starts the launcher without the Vector API module, so it relaunches; output goes to files next to the run. */
    private Process launch(List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(JAVA, "-Xmx512m", "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(tmp.resolve("stdout.txt").toFile())
                .redirectError(tmp.resolve("stderr.txt").toFile());
        pb.environment().remove(Launcher.LAUNCHER_PID);
        return pb.start();
    }

    /** The relaunched training JVM, once its first checkpoint is on disk. */
    private static ProcessHandle trainingJvm(Process launcher, Path out) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.isDirectory(out.resolve("checkpoint-5"))) {
            assertTrue(launcher.isAlive(), "the launcher ended before the first checkpoint");
            assertTrue(System.nanoTime() < deadline, "no checkpoint-5 after 60 s");
            Thread.sleep(20);
        }
        List<ProcessHandle> children = launcher.children().toList();
        assertEquals(1, children.size(), children.toString());
        return children.get(0);
    }

    private static void assertEnded(ProcessHandle jvm) throws Exception {
        jvm.onExit().get(10, TimeUnit.SECONDS);
        assertFalse(jvm.isAlive());
    }

    private String stderr() throws IOException {
        return Files.readString(tmp.resolve("stderr.txt"), StandardCharsets.UTF_8);
    }

    private static List<String> leftovers(Path out) throws IOException {
        try (Stream<Path> s = Files.list(out)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".")).toList();
        }
    }

    @Test
    void sigtermToTheLauncherStopsTrainingAtAStepBoundary() throws Exception {
        Path out = tmp.resolve("run");
        Process launcher = launch(trainArgs(out, "--epochs", "1000"));
        ProcessHandle training = trainingJvm(launcher, out);
        launcher.toHandle().destroy(); // SIGTERM to the launcher alone (Process.destroy would also close its pipes)
        assertTrue(launcher.waitFor(60, TimeUnit.SECONDS), "still running 60 s after SIGTERM");
        assertEquals(143, launcher.exitValue(), stderr());
        assertEnded(training);
        String err = stderr();
        assertTrue(err.contains("SIGTERM received: stopping after the current step"), err);
        assertTrue(err.matches("(?s).*stopped at step \\d+ of 20000; the last checkpoint is " + out.resolve("checkpoint-") + "\\d+: continue"
                + " from it with --resume.*"), err);
        assertEquals(List.of(), leftovers(out), "no staging folder left");
    }

    /**
     * Whether this JVM started with SIGINT ignored, as a non-interactive shell leaves the commands it
     * runs with {@code &}: the JVMs it starts inherit that, and HotSpot then installs no SIGINT handler.
     */
    private static boolean sigintIgnored() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) return false;
        for (String line : Files.readAllLines(status))
            if (line.startsWith("SigIgn:")) return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & (1L << 1)) != 0; // bit 1 = signal 2
        return false;
    }

    @Test
    void sigintStopsTrainingWithTheShellsExitCode() throws Exception {
        assumeFalse(sigintIgnored(), "this JVM was started with SIGINT ignored (a shell's `cmd &`), so the training JVM would ignore it too:"
                + " skipping the SIGINT test");
        Path out = tmp.resolve("run");
        Process launcher = launch(trainArgs(out, "--epochs", "1000"));
        ProcessHandle training = trainingJvm(launcher, out);
        // what Ctrl-C does: SIGINT to the process group; the launcher ignores its own and waits for the child
        Process kill = new ProcessBuilder("kill", "-INT", Long.toString(training.pid()), Long.toString(launcher.pid())).start();
        assertEquals(0, kill.waitFor());
        assertTrue(launcher.waitFor(60, TimeUnit.SECONDS), "still running 60 s after SIGINT");
        assertEquals(130, launcher.exitValue(), stderr());
        assertEnded(training);
        assertTrue(stderr().contains("SIGINT received: stopping after the current step"), stderr());
        assertEquals(List.of(), leftovers(out), "no staging folder left");
    }

    @Test
    void sigkillOfTheLauncherEndsTheTrainingJvm() throws Exception {
        Path out = tmp.resolve("run");
        Process launcher = launch(trainArgs(out, "--epochs", "1000"));
        ProcessHandle training = trainingJvm(launcher, out);
        List<ProcessHandle> family = new ArrayList<>(training.descendants().toList());
        family.add(training);
        launcher.toHandle().destroyForcibly(); // SIGKILL: the launcher has no chance to stop its child
        assertTrue(launcher.waitFor(10, TimeUnit.SECONDS));
        for (ProcessHandle p : family) assertEnded(p);
    }

    @Test
    void aTrainingJvmSigkilledAtARandomMomentResumesToTheSameWeights() throws Exception {
        Path through = tmp.resolve("through"), killed = tmp.resolve("killed");
        // 20 steps: the training JVM is still early in them when its first checkpoint appears
        Process launcher = launch(trainArgs(killed, "--max-steps", "20"));
        ProcessHandle training = trainingJvm(launcher, killed);
        int delay = new java.util.Random().nextInt(300); // anywhere in the next steps, saves and rotations
        Thread.sleep(delay);
        training.destroyForcibly(); // SIGKILL
        assertTrue(launcher.waitFor(10, TimeUnit.SECONDS));
        assertEquals(128 + 9, launcher.exitValue(), "the launcher reports the kill: " + stderr());

        PredictCommandTest.Run resumed = PredictCommandTest.run(trainArgs(killed, "--max-steps", "20", "--resume").toArray(new String[0]));
        assertEquals(0, resumed.exit(), resumed.err());
        assertTrue(resumed.err().contains("resumed from " + killed.resolve("checkpoint-")), resumed.err());
        PredictCommandTest.Run whole = PredictCommandTest.run(trainArgs(through, "--max-steps", "20").toArray(new String[0]));
        assertEquals(0, whole.exit(), whole.err());
        assertArrayEquals(Files.readAllBytes(through.resolve("model.safetensors")), Files.readAllBytes(killed.resolve("model.safetensors")),
                "killed " + delay + " ms after checkpoint-5 appeared");
        assertEquals(List.of(), leftovers(killed), "staging, retired and temporary leftovers cleared");
    }
}
