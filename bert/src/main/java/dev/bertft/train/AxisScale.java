package dev.bertft.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * An axis from {@code lo} to {@code hi} in ticks of {@code step}, a "nice" number (1, 2 or 5
 * times a power of ten), with both ends on a tick, so labels read 0.2, 0.4 rather than 0.1873.
 */
record AxisScale(double lo, double hi, double step) {
    // ends within this fraction of a step of a tick count as on it, so 3e-5 / 5e-6 = 6.000000000000001 stays 6
    private static final double ON_TICK = 1e-9;

    /** The smallest nice axis holding [min, max] in at most {@code intervals} steps; an empty range is widened. */
    static AxisScale nice(double min, double max, int intervals) {
        if (!(min <= max) || !Double.isFinite(min) || !Double.isFinite(max) || intervals < 1) {
            throw new IllegalArgumentException("axis range [" + min + ", " + max + "] in " + intervals + " steps");
        }
        if (min == max) {
            double pad = min == 0 ? 1 : Math.abs(min) * 0.05;
            min -= pad;
            max += pad;
        }
        double step = niceAtLeast((max - min) / intervals);
        double lo = Math.floor(min / step + ON_TICK) * step, hi = Math.ceil(max / step - ON_TICK) * step;
        while (Math.round((hi - lo) / step) > intervals) {
            step = niceAtLeast(step * 1.000001);
            lo = Math.floor(min / step + ON_TICK) * step;
            hi = Math.ceil(max / step - ON_TICK) * step;
        }
        return new AxisScale(lo, hi, step);
    }

    /** 1, 2, 5, 10, 20, ... times the power of ten: the first one not below {@code raw}. */
    private static double niceAtLeast(double raw) {
        double power = Math.pow(10, Math.floor(Math.log10(raw)));
        double f = raw / power;
        double nice = f <= 1 + ON_TICK ? 1 : f <= 2 + ON_TICK ? 2 : f <= 5 + ON_TICK ? 5 : 10;
        return nice * power;
    }

    /** lo, lo + step, ..., hi, each as i × step so that no rounding error accumulates. */
    List<Double> ticks() {
        long first = Math.round(lo / step), last = Math.round(hi / step);
        List<Double> out = new ArrayList<>();
        for (long i = first; i <= last; i++) out.add(i * step);
        return out;
    }

    /** A tick's label with as many decimals as the step needs; steps below 0.001 in scientific notation. */
    String label(double tick) {
        if (step < 1e-3) return Math.abs(tick) < step / 2 ? "0" : String.format(Locale.ROOT, "%.1e", tick);
        int decimals = Math.max(0, (int) -Math.floor(Math.log10(step) + ON_TICK));
        return String.format(Locale.ROOT, "%." + decimals + "f", tick);
    }
}
