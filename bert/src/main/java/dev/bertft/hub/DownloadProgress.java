package dev.bertft.hub;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress of one download on standard error. On a terminal one line is redrawn in place (carriage return)
 * at most five times a second; in a log (no console) a plain line is printed at every tenth of the file,
 * or every 64 MiB when the size is unknown, so that CI logs stay short.
 */
final class DownloadProgress {
    private static final long REDRAW_NANOS = 200_000_000L;
    private static final long UNKNOWN_SIZE_STEP = 64L << 20;
    private static final int BAR_WIDTH = 30;

    private final PrintStream out;
    private final boolean terminal;
    private final String label;
    private final long total;           // bytes of the whole file, or -1 when the server did not say
    private final long resumedFrom;     // bytes already on disk before this transfer started
    private final long startNanos = System.nanoTime();
    private long lastDrawNanos;
    private long nextReport;            // next byte count at which a log line is due

    DownloadProgress(PrintStream out, boolean terminal, String label, long total, long resumedFrom) {
        this.out = out;
        this.terminal = terminal;
        this.label = label;
        this.total = total;
        this.resumedFrom = resumedFrom;
        this.nextReport = resumedFrom + step();
        String from = resumedFrom > 0 ? ", resuming at " + mib(resumedFrom) : "";
        if (!terminal) out.println("downloading " + label + " (" + (total >= 0 ? mib(total) : "size unknown") + from + ")");
    }

    void update(long done) {
        if (terminal) {
            long now = System.nanoTime();
            if (now - lastDrawNanos < REDRAW_NANOS) return;
            lastDrawNanos = now;
            out.print("\r" + line(done));
            out.flush();
        } else if (done >= nextReport) {
            nextReport = done + step();
            out.println("  " + line(done));
        }
    }

    void finish(long done) {
        if (terminal) out.print("\r" + line(done) + "\n");
        else out.println("  " + line(done) + " done");
        out.flush();
    }

    private long step() {
        return total > 0 ? Math.max(1, total / 10) : UNKNOWN_SIZE_STEP;
    }

    private String line(long done) {
        double seconds = Math.max(1e-3, (System.nanoTime() - startNanos) / 1e9);
        String rate = mib((long) ((done - resumedFrom) / seconds)) + "/s";
        if (total <= 0) return String.format(Locale.ROOT, "%s %s %s", label, mib(done), rate);
        int filled = (int) (BAR_WIDTH * Math.min(done, total) / total);
        String bar = "#".repeat(filled) + ".".repeat(BAR_WIDTH - filled);
        return String.format(Locale.ROOT, "%s [%s] %3d%% %s/%s %s",
                label, bar, 100 * Math.min(done, total) / total, mib(done), mib(total), rate);
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0);
    }
}
