package dev.bertft.hub;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DownloadProgressTest {
    @Test
    void logGetsALineEveryTenthAndATerminalARedrawnBar() {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        DownloadProgress p = new DownloadProgress(new PrintStream(log, true, StandardCharsets.UTF_8), false, "f", 1000, 0);
        for (long done = 1; done <= 1000; done++) p.update(done);
        p.finish(1000);
        String[] lines = log.toString(StandardCharsets.UTF_8).split("\n");
        assertEquals(1 + 10 + 1, lines.length, String.join("\n", lines));   // header, each tenth, done
        assertTrue(lines[lines.length - 1].contains("100%") && lines[lines.length - 1].endsWith("done"));

        ByteArrayOutputStream tty = new ByteArrayOutputStream();
        DownloadProgress bar = new DownloadProgress(new PrintStream(tty, true, StandardCharsets.UTF_8), true, "f", 2048, 1024);
        bar.update(1536);
        bar.finish(2048);
        String out = tty.toString(StandardCharsets.UTF_8);
        assertTrue(out.startsWith("\rf [" + "#".repeat(22) + ".".repeat(8) + "]  75%"), out);   // 30 * 1536 / 2048 = 22.5 cells
        assertTrue(out.endsWith("\n") && out.contains("\rf [##############################] 100%"), out);
    }
}
