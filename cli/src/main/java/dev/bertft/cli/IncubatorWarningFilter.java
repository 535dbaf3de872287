package dev.bertft.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Passes the relaunched JVM's standard error on, byte by byte as it comes (a progress bar redraws
 * its line with '\r' and must not wait for a line end), without the one line that JVM prints at
 * startup because it resolves an incubator module: it tells a user of bert-ft nothing.
 */
final class IncubatorWarningFilter {
    static final byte[] WARNING = ("WARNING: Using incubator modules: " + Launcher.VECTOR_MODULE + System.lineSeparator())
            .getBytes(StandardCharsets.US_ASCII);

    private IncubatorWarningFilter() {}

    /** Copies {@code in} to {@code out} until the end of {@code in}, leaving out every whole line equal to {@link #WARNING}. */
    static void copy(InputStream in, OutputStream out) throws IOException {
        byte[] buf = new byte[8192], pass = new byte[buf.length + WARNING.length];
        int matched = 0;            // bytes of WARNING seen at the start of the current line, held back
        boolean candidate = true;   // the current line may still be WARNING
        for (int n; (n = in.read(buf)) > 0; ) {
            int len = 0;
            for (int i = 0; i < n; i++) {
                byte b = buf[i];
                if (candidate) {
                    if (b == WARNING[matched]) {
                        if (++matched == WARNING.length) matched = 0; // the whole line: dropped
                        continue;
                    }
                    System.arraycopy(WARNING, 0, pass, len, matched);
                    len += matched;
                    matched = 0;
                    candidate = false;
                }
                pass[len++] = b;
                if (b == '\n') candidate = true;
            }
            out.write(pass, 0, len);
            out.flush();
        }
        out.write(WARNING, 0, matched);
        out.flush();
    }
}
