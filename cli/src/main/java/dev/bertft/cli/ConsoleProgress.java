package dev.bertft.cli;

import dev.bertft.train.LogEntry;
import dev.bertft.train.Trainer;

import java.io.PrintStream;
import java.util.Locale;

/**
 * On a terminal: one progress line redrawn in place (epoch, step, loss, learning rate,
 * samples/s, ETA), and one for each evaluation (batches, ETA). Otherwise, plain lines at each logging step and evaluation, with no carriage
 * returns, so log files stay readable.
 */
final class ConsoleProgress implements Trainer.Listener {
    private final PrintStream out;
    private final boolean terminal;
    private final long startNanos = System.nanoTime();
    private long evalStartNanos;
    private boolean lineOpen;

    ConsoleProgress(PrintStream out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    /** On standard error; with {@code bar} false (HF's disable_tqdm), plain lines even on a terminal. */
    static ConsoleProgress forStderr(boolean bar) {
        return new ConsoleProgress(System.err, bar && System.console() != null);
    }

    @Override
    public void onStep(long step, long maxSteps, double epoch, double loss, double lr, double samplesPerSecond) {
        if (!terminal) return;
        double elapsed = (System.nanoTime() - startNanos) / 1e9;
        double eta = step == 0 ? 0 : elapsed / step * (maxSteps - step);
        out.print(String.format(Locale.ROOT, "\repoch %.2f [%s] %d/%d  loss %.4f  lr %.2e  %.1f samples/s  ETA %s ",
                epoch, bar(step, maxSteps), step, maxSteps, loss, lr, samplesPerSecond, duration(eta)));
        out.flush();
        lineOpen = true;
    }

    @Override
    public void onEvalStep(long done, long batches) {
        if (!terminal) return;
        if (done == 0) {
            endLine();   // the training bar stays above, at the step it reached
            evalStartNanos = System.nanoTime();
        }
        double elapsed = (System.nanoTime() - evalStartNanos) / 1e9;
        double eta = done == 0 ? 0 : elapsed / done * (batches - done);
        out.print(String.format(Locale.ROOT, "\revaluating [%s] %d/%d batches  ETA %s ", bar(done, batches), done, batches,
                done == 0 ? "?" : duration(eta)));
        out.flush();
        lineOpen = true;
    }

    private static String bar(long done, long total) {
        int width = 30, filled = (int) (width * done / Math.max(1, total));
        return "=".repeat(filled) + (filled < width ? ">" : "") + " ".repeat(Math.max(0, width - filled - 1));
    }

    @Override
    public void onLog(LogEntry entry) {
        endLine();
        if (terminal && entry.loss() != null && entry.evalMetrics().isEmpty()) return; // the bar already shows it
        StringBuilder sb = new StringBuilder();
        entry.values().forEach((name, v) -> sb.append(name).append(' ').append(Double.isFinite(v) ? format(v) : "null").append("  "));
        out.println(sb.append("epoch ").append(format(entry.epoch())).append("  step ").append(entry.step()));
    }

    @Override
    public void onMessage(String line) {
        endLine();
        out.println(line);
    }

    private void endLine() {
        if (lineOpen) {
            out.println();
            lineOpen = false;
        }
    }

    private static String format(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        return String.format(Locale.ROOT, Math.abs(v) < 1e-3 ? "%.3e" : "%.4f", v);
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }
}
