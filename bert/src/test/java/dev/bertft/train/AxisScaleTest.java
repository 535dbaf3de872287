package dev.bertft.train;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Nice axes worked by hand: 1, 2 or 5 × 10^k steps, ends on ticks, labels with the decimals the step needs. */
class AxisScaleTest {
    private static void assertScale(double lo, double hi, double step, AxisScale s) {
        assertEquals(lo, s.lo(), 1e-12 * Math.max(1, Math.abs(lo)), "lo of " + s);
        assertEquals(hi, s.hi(), 1e-12 * Math.max(1, Math.abs(hi)), "hi of " + s);
        assertEquals(step, s.step(), 1e-12 * step, "step of " + s);
    }

    @Test
    void stepsAreNiceAndEndsFallOnTicks() {
        assertScale(0, 1, 0.2, AxisScale.nice(0, 1, 5));                // 1 / 5 = 0.2
        assertScale(0.3, 0.7, 0.1, AxisScale.nice(0.31, 0.69, 5));       // 0.076 → 0.1
        assertScale(0, 90, 10, AxisScale.nice(0, 90, 10));               // steps of a 90-step run
        assertScale(0, 3, 1, AxisScale.nice(0, 3, 3));                   // a 3-step run: whole steps
        assertScale(3e-5, 5e-5, 5e-6, AxisScale.nice(3e-5, 5e-5, 5));   // 4e-6 → 5e-6; 3e-5 is 6 steps exactly
        assertScale(0, 1.5, 0.5, AxisScale.nice(0.05, 1.05, 5));         // 0.2 would need 6 steps (0 to 1.2)
        assertScale(0.2, 0.7, 0.1, AxisScale.nice(0.2623, 0.6931, 5));   // losses of a run: 0.0862 → 0.1
        assertScale(0.46, 0.54, 0.02, AxisScale.nice(0.5, 0.5, 5));      // one value, ±5 %: 0.01 would need 6 steps
    }

    @Test
    void ticksAndLabels() {
        AxisScale s = AxisScale.nice(0, 1, 5);
        List<Double> ticks = s.ticks();
        assertEquals(6, ticks.size());
        assertEquals(List.of("0.0", "0.2", "0.4", "0.6", "0.8", "1.0"), ticks.stream().map(s::label).toList());
        AxisScale steps = AxisScale.nice(0, 500, 10);
        assertEquals(List.of("0", "50", "100"), steps.ticks().subList(0, 3).stream().map(steps::label).toList());
        AxisScale lr = AxisScale.nice(0, 5e-5, 5);
        assertEquals("3.0e-05", lr.label(lr.ticks().get(3)));
        assertEquals("0", lr.label(lr.ticks().get(0)));
        AxisScale fine = AxisScale.nice(0.3, 0.35, 5);
        assertEquals(0.01, fine.step(), 1e-15);
        assertEquals("0.32", fine.label(fine.ticks().get(2)));
    }

    @Test
    void anEmptyOrReversedRangeIsAnError() {
        assertThrows(IllegalArgumentException.class, () -> AxisScale.nice(1, 0, 5));
        assertThrows(IllegalArgumentException.class, () -> AxisScale.nice(0, Double.NaN, 5));
    }
}
