package dev.bertft.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** training.png on a runtime that cannot render text: left out with one warning, training unharmed. */
class TrainingLogTest {
    @Test
    void aRuntimeWithoutFontsLeavesTheChartOutWithOneWarning(@TempDir Path dir) throws Exception {
        List<String> warnings = new ArrayList<>();
        // what a jlink runtime built against the system's harfbuzz threw on the H200 machine, which has none
        TrainingLog log = new TrainingLog(dir, false, warnings::add, state -> {
            throw new UnsatisfiedLinkError("/jre/lib/libfontmanager.so: libharfbuzz.so.0: cannot open shared object file");
        });
        TrainerState state = new TrainerState();
        log.drawChart(state);
        log.drawChart(state);
        assertEquals(List.of("training.png not drawn: this Java runtime cannot render text "
                + "(/jre/lib/libfontmanager.so: libharfbuzz.so.0: cannot open shared object file)"), warnings, "one warning, once");
        assertFalse(Files.exists(dir.resolve("training.png")));
    }

    @Test
    void aRuntimeWithFontsDrawsTheChart(@TempDir Path dir) throws Exception {
        System.setProperty("java.awt.headless", "true");
        List<String> warnings = new ArrayList<>();
        TrainerState state = new TrainerState();
        state.maxSteps = 10;
        new TrainingLog(dir, false, warnings::add).drawChart(state);
        assertTrue(warnings.isEmpty(), warnings.toString());
        byte[] png = Files.readAllBytes(dir.resolve("training.png"));
        assertEquals(0x89, png[0] & 0xff, "a PNG file");
        assertEquals('P', png[1]);
    }
}
