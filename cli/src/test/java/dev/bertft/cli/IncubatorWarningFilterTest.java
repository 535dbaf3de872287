package dev.bertft.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Only the JVM's incubator warning line is dropped, and the rest goes out as it arrives, '\r' progress included. */
class IncubatorWarningFilterTest {
    private static final String WARNING = "WARNING: Using incubator modules: jdk.incubator.vector" + System.lineSeparator();

    /** Hands out one chunk per read and notes what had reached the output before each read. */
    private static final class Chunks extends InputStream {
        final Deque<byte[]> chunks = new ArrayDeque<>();
        final List<String> outputBeforeRead = new ArrayList<>();
        final ByteArrayOutputStream out;

        Chunks(ByteArrayOutputStream out, String... parts) {
            this.out = out;
            for (String p : parts) chunks.add(p.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public int read(byte[] b, int off, int len) {
            outputBeforeRead.add(out.toString(StandardCharsets.UTF_8));
            byte[] next = chunks.poll();
            if (next == null) return -1;
            System.arraycopy(next, 0, b, off, next.length);
            return next.length;
        }

        @Override
        public int read() {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void dropsTheWarningLineAndPassesEverythingElseAtOnce() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Chunks in = new Chunks(out, "WARNING: Using incub", "ator modules: jdk.incubator.vector\n", "step 1/3\r", "step 2/3\r",
                "W", "ARNING: Using incubator modules: jdk.incubator.foo\n", "done\n");
        IncubatorWarningFilter.copy(in, out);
        assertEquals("step 1/3\rstep 2/3\rWARNING: Using incubator modules: jdk.incubator.foo\ndone\n", out.toString(StandardCharsets.UTF_8));
        // each progress redraw is out before the next read, with no line end to wait for
        assertEquals("step 1/3\r", in.outputBeforeRead.get(3));
        assertEquals("step 1/3\rstep 2/3\r", in.outputBeforeRead.get(4));
    }

    @Test
    void aWarningInTheMiddleOfALineOrCutShortIsKept() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        String text = "loss " + WARNING + "WARNING: Using";
        IncubatorWarningFilter.copy(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), out);
        assertEquals(text, out.toString(StandardCharsets.UTF_8));
    }
}
