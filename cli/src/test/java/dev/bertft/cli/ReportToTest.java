package dev.bertft.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** {@code train --report-to}: HF's values that this build has, and one line for the others. */
class ReportToTest {
    @TempDir
    Path tmp;

    private String[] train(Path out, String reportTo) throws IOException {
        return new String[] {"train", "--model", PredictCommandTest.TINY.toString(),
                "--data", TrainCommandTest.reviews(tmp.resolve("train.csv"), 16, 1).toString(), "--eval-data",
                TrainCommandTest.reviews(tmp.resolve("eval.csv"), 8, 2).toString(), "--output-dir", out.toString(),
                "--logging-dir", out.resolve("tb").toString(), "--max-steps", "2", "--batch-size", "8", "--logging-steps", "1",
                "--save-strategy", "no", "--max-length", "16", "--threads", "2", "--report-to", reportTo};
    }

    @Test
    void allWritesATensorBoardEventFileInTheLoggingFolder() throws IOException {
        Path out = tmp.resolve("run");
        PredictCommandTest.Run r = PredictCommandTest.run(train(out, "all"));
        assertEquals(0, r.exit(), r.err());
        try (Stream<Path> files = Files.list(out.resolve("tb"))) {
            assertEquals(1, files.filter(f -> f.getFileName().toString().startsWith("events.out.tfevents.")).count());
        }
    }

    @Test
    void anIntegrationThisBuildLacksIsOneLineBeforeAnyWork() throws IOException {
        Path out = tmp.resolve("run");
        PredictCommandTest.Run r = PredictCommandTest.run(train(out, "tensorboard,wandb"));
        assertEquals(1, r.exit());
        List<String> lines = r.err().lines().toList();
        assertEquals(List.of("bert-ft train: error: --report-to: 'wandb' is not supported; use one of none, all, tensorboard"), lines);
        assertFalse(Files.exists(out), "nothing written");
    }
}
