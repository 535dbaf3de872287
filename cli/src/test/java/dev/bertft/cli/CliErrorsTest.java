package dev.bertft.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Out of GPU memory, each command names the options it has that use less of it. */
class CliErrorsTest {

    private static String hint(Object command) {
        return CliErrors.memoryHint(new CommandLine(command).getCommandSpec());
    }

    @Test
    void outOfMemoryNamesTheCommandsOwnOptions() {
        assertEquals("; try a smaller --batch-size, --eval-batch-size or --max-length (--grad-accum-steps keeps the effective batch)"
                + ", or --auto-find-batch-size",
                hint(new TrainCommand()));
        assertEquals("; try a smaller --batch-size or --max-length", hint(new PredictCommand()));
        assertEquals("; try a smaller --batch-size or --seq-len", hint(new BenchCommand()));
        assertEquals("", hint(new DoctorCommand()));
    }
}
