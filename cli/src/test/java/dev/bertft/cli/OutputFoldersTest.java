package dev.bertft.cli;

import dev.bertft.train.OutputFolders;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * train checks its output and logging folders before it loads anything: each case below points
 * --model at a folder that does not exist, so an error about the folder shows the check came first.
 */
class OutputFoldersTest {
    @TempDir
    Path tmp;

    private String[] train(Path out, String... extra) throws IOException {
        List<String> a = new ArrayList<>(List.of("train", "--model", PredictCommandTest.TINY.toString(),
                "--data", TrainCommandTest.reviews(tmp.resolve("train.csv"), 40, 1).toString(),
                "--eval-data", TrainCommandTest.reviews(tmp.resolve("eval.csv"), 16, 2).toString(),
                "--output-dir", out.toString(), "--logging-dir", tmp.resolve("logs").toString(),
                "--epochs", "1", "--batch-size", "8", "--save-strategy", "epoch", "--max-length", "32", "--threads", "2"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    private static void assertRefused(PredictCommandTest.Run r, String line) {
        assertEquals(1, r.exit(), r.err());
        assertEquals(List.of("bert-ft train: error: " + line), r.err().lines().toList());
    }

    private String[] withMissingModel(String[] args) {
        args[2] = tmp.resolve("no-model").toString();
        return args;
    }

    @Test
    void anOutputDirThatIsAFileIsRefusedBeforeAnythingLoads() throws IOException {
        Path file = Files.writeString(tmp.resolve("outfile"), "x");
        assertRefused(PredictCommandTest.run(withMissingModel(train(file))), "--output-dir " + file + ": is a file");
        assertRefused(PredictCommandTest.run(withMissingModel(train(file.resolve("run")))),
                "--output-dir " + file.resolve("run") + ": " + file + " is a file");
        String[] logs = withMissingModel(train(tmp.resolve("out")));
        logs[List.of(logs).indexOf("--logging-dir") + 1] = file.toString();
        assertRefused(PredictCommandTest.run(logs), "--logging-dir " + file + ": is a file");
    }

    @Test
    void anUnwritableOutputDirIsRefusedBeforeAnythingLoads() throws IOException {
        Path locked = Files.createDirectory(tmp.resolve("locked"));
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            assumeFalse(Files.isWritable(locked), "running as root: every folder is writable, nothing to refuse");
            assertRefused(PredictCommandTest.run(withMissingModel(train(locked))), "--output-dir " + locked + ": not writable");
            assertRefused(PredictCommandTest.run(withMissingModel(train(locked.resolve("run")))),
                    "--output-dir " + locked.resolve("run") + ": cannot be made, " + locked + " is not writable");
        } finally {
            Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void tooLittleSpaceForACheckpointIsRefused() {
        // bert-base: 109,483,778 parameters, their AdamW moments too: 1.3 GB a checkpoint
        assertEquals(109_483_778L * 12, OutputFolders.checkpointBytes(109_483_778L, true));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OutputFolders.requireSpace(tmp.resolve("run"), Long.MAX_VALUE));
        String shown = CliErrors.message(e);
        assertTrue(shown.startsWith("--output-dir " + tmp.resolve("run") + ": no space left for a checkpoint ("), shown);
        assertTrue(e.getMessage().startsWith("output folder " + tmp.resolve("run") + ": no space left"), "from Java: " + e.getMessage());
    }

    @Test
    void aUsedOutputDirIsRefusedUnlessOverwrittenOrResumed() throws IOException {
        Path out = tmp.resolve("run");
        // what a run killed during its first save leaves is no previous run: cleared at the start, not refused
        Files.createDirectories(out.resolve(".staging-checkpoint-5"));
        PredictCommandTest.Run killedEarlier = PredictCommandTest.run(withMissingModel(train(out)));
        assertEquals(1, killedEarlier.exit());
        assertTrue(killedEarlier.err().contains("no-model") && !killedEarlier.err().contains("--output-dir"), killedEarlier.err());
        Files.createDirectories(out.resolve("checkpoint-99"));
        Files.writeString(out.resolve("checkpoint-99/trainer_state.json"), "{\"global_step\": 99, \"log_history\": []}");
        assertRefused(PredictCommandTest.run(withMissingModel(train(out))), "--output-dir " + out + ": not empty (checkpoint-99);"
                + " add --overwrite-output-dir to replace the run in it, or --resume to continue it");
        assertRefused(PredictCommandTest.run(train(out, "--overwrite-output-dir", "--resume")),
                "--overwrite-output-dir and --resume: give one (the first deletes the checkpoints the second continues)");

        PredictCommandTest.Run r = PredictCommandTest.run(train(out, "--overwrite-output-dir"));
        assertEquals(0, r.exit(), r.err());
        try (var s = Files.list(out)) {
            List<String> checkpoints = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("checkpoint-")).toList();
            assertEquals(List.of("checkpoint-5"), checkpoints, "the previous run's checkpoint-99 is gone, and --resume cannot pick it");
        }
        // every file the run wrote has the mode any new file gets from the umask (0644 under umask 022)
        String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(Files.writeString(tmp.resolve("plain.txt"), "x")));
        try (var files = Files.walk(out)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertEquals(mode, PosixFilePermissions.toString(Files.getPosixFilePermissions(f)), f.toString());
            }
        }
    }

    @Test
    void fileSystemErrorsSayWhy() {
        assertEquals("/data/out/checkpoint-5: permission denied", CliErrors.message(new AccessDeniedException("/data/out/checkpoint-5")));
        assertEquals("/data/run.csv: no such file or folder", CliErrors.message(new java.io.UncheckedIOException(
                new NoSuchFileException("/data/run.csv"))));
    }
}
