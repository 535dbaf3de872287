package dev.bertft.nn;

import dev.bertft.nn.LearningRateSchedule.Kind;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each schedule against values worked out by hand from transformers' formulas (optimization.py), with a
 * peak of 1, 4 warmup updates and 12 in all unless said otherwise: progress p = (s − 4)/8 after the warmup.
 */
class LearningRateScheduleTest {
    private static final double SQRT_HALF = Math.sqrt(0.5);

    private static LearningRateSchedule of(Kind kind, Map<String, ?> options) {
        return new LearningRateSchedule(kind, 1.0, 4, 12, options);
    }

    private static void assertFactors(LearningRateSchedule s, long[] steps, double[] want) {
        for (int i = 0; i < steps.length; i++) assertEquals(want[i], s.lr(steps[i]), 1e-12, s.kind() + " " + s.options() + " at step " + steps[i]);
    }

    @Test
    void linearWarmsUpThenFallsToZero() {
        LearningRateSchedule s = LearningRateSchedule.linear(1.0, 4, 12);
        double[] expected = {0, 0.25, 0.5, 0.75, 1, 7 / 8.0, 6 / 8.0, 5 / 8.0, 4 / 8.0, 3 / 8.0, 2 / 8.0, 1 / 8.0, 0, 0};
        for (int i = 0; i < expected.length; i++) assertEquals(expected[i], s.lr(i), 1e-15, "step " + i);
        assertEquals(0.5, LearningRateSchedule.linear(1.0, 0, 4).lr(2), 1e-15, "no warmup: pure linear decay");
        assertEquals(2.5e-5, LearningRateSchedule.linear(5e-5, 4, 12).lr(8), 1e-20, "the peak scales the factor");
    }

    @Test
    void cosineIsHalfAWaveByDefault() {
        // ½(1 + cos 2π·c·p), c = ½: p = ¼ → ½ + √½/2, p = ½ → ½, p = 1 → 0; past the end the wave goes on (p = 5/4)
        assertFactors(of(Kind.COSINE, Map.of()), new long[] {2, 4, 6, 8, 12, 14},
                new double[] {0.5, 1, 0.5 + SQRT_HALF / 2, 0.5, 0, 0.5 - SQRT_HALF / 2});
        // one whole wave: down to 0 half way, back to 1 at the end
        assertFactors(of(Kind.COSINE, Map.of("num_cycles", 1.0)), new long[] {8, 12}, new double[] {0, 1});
    }

    @Test
    void cosineWithRestartsStartsEachCycleAtThePeak() {
        // ½(1 + cos π((c·p) mod 1)), 0 from p = 1
        assertFactors(of(Kind.COSINE_WITH_RESTARTS, Map.of()), new long[] {4, 8, 12, 20}, new double[] {1, 0.5, 0, 0});
        assertFactors(of(Kind.COSINE_WITH_RESTARTS, Map.of("num_cycles", 2.0)), new long[] {6, 7, 8, 10},
                new double[] {0.5, 0.5 - SQRT_HALF / 2, 1, 0.5});
    }

    @Test
    void polynomialDecaysToItsEndRate() {
        // ((1 − end)(1 − p)^power + end)/1, end/1 after the last update
        double end = 1e-7;
        assertFactors(of(Kind.POLYNOMIAL, Map.of()), new long[] {2, 4, 8, 12, 13}, new double[] {0.5, 1, (1 - end) * 0.5 + end, end, end});
        assertFactors(of(Kind.POLYNOMIAL, Map.of("power", 2.0, "lr_end", 0.0)), new long[] {6, 8}, new double[] {9 / 16.0, 0.25});
        var e = assertThrows(IllegalArgumentException.class, () -> new LearningRateSchedule(Kind.POLYNOMIAL, 1e-8, 0, 10, Map.of()));
        assertTrue(e.getMessage().contains("lr_end (1.0E-7) must be smaller than the learning rate (1.0E-8)"), e.getMessage());
    }

    @Test
    void constantIgnoresTheWarmupAsTransformersDoes() {
        assertFactors(of(Kind.CONSTANT, Map.of()), new long[] {0, 2, 100}, new double[] {1, 1, 1});
        assertTrue(of(Kind.CONSTANT, Map.of()).describe().contains("constant ignores the 4 warmup updates"));
        assertFactors(of(Kind.CONSTANT_WITH_WARMUP, Map.of()), new long[] {0, 2, 4, 100}, new double[] {0, 0.5, 1, 1});
    }

    @Test
    void inverseSqrtDecaysFromTheEndOfTheWarmup() {
        // 1/√((s − w + τ)/τ), τ = the warmup by default
        assertFactors(of(Kind.INVERSE_SQRT, Map.of()), new long[] {2, 4, 12, 20}, new double[] {0.5, 1, 1 / Math.sqrt(3), 1 / Math.sqrt(5)});
        assertFactors(of(Kind.INVERSE_SQRT, Map.of("timescale", 2.0)), new long[] {4, 10}, new double[] {1, 0.5});
        // without a warmup τ is 10,000
        assertEquals(0.5, new LearningRateSchedule(Kind.INVERSE_SQRT, 1.0, 0, 12, Map.of()).lr(30_000), 1e-12);
    }

    @Test
    void cosineWithMinLrEndsAtItsFloor() {
        // r + (1 − r)·½(1 + cos πp), r = min_lr_rate 0.2: p = ½ → 0.6, p = 1 → 0.2
        assertFactors(of(Kind.COSINE_WITH_MIN_LR, Map.of("min_lr_rate", 0.2)), new long[] {2, 4, 8, 12}, new double[] {0.5, 1, 0.6, 0.2});
        // min_lr is a rate: 0.5 of a peak of 2 is r = ¼, so 2·(¼ + ¾·½) at p = ½ and 2·¼ at the end
        LearningRateSchedule s = new LearningRateSchedule(Kind.COSINE_WITH_MIN_LR, 2.0, 4, 12, Map.of("min_lr", 0.5));
        assertEquals(1.25, s.lr(8), 1e-12);
        assertEquals(0.5, s.lr(12), 1e-12);
    }

    @Test
    void cosineWarmupWithMinLrRunsOneUpdateAhead() {
        // warmup (s + 1)/4, then p = (s − 4 + 1)/8: s = 7 → p = ½ → 0.2 + 0.8·½, s = 11 → p = 1 → 0.2
        assertFactors(of(Kind.COSINE_WARMUP_WITH_MIN_LR, Map.of("min_lr_rate", 0.2)), new long[] {0, 3, 7, 11},
                new double[] {0.25, 1, 0.6, 0.2});
        // from warmup_lr_rate q = 0.1: q + (1 − q)·s/(4 − 1)
        assertFactors(of(Kind.COSINE_WARMUP_WITH_MIN_LR, Map.of("min_lr_rate", 0.2, "warmup_lr_rate", 0.1)), new long[] {0, 2, 3},
                new double[] {0.1, 0.7, 1});
    }

    @Test
    void warmupStableDecayHoldsThePeakBetweenItsRamps() {
        // 4 decay updates: 12 − 4 − 4 = 4 stable ones (s = 4..7), a cosine decay from s = 8, d = (s − 8)/4, then min_lr_ratio 0
        assertFactors(of(Kind.WARMUP_STABLE_DECAY, Map.of("num_decay_steps", 4.0)), new long[] {2, 4, 7, 8, 10, 11, 12, 20},
                new double[] {0.5, 1, 1, 1, 0.5, 0.5 - SQRT_HALF / 2, 0, 0});
        // a cosine warmup and a linear decay between r = 0.2 and 1: s = 2 → ½(1 − cos π/2) = ½ → 0.6; s = 10 → d = ½ → 0.6
        Map<String, Object> shaped = Map.of("num_decay_steps", 4.0, "warmup_type", "cosine", "decay_type", "linear", "min_lr_ratio", 0.2);
        assertFactors(of(Kind.WARMUP_STABLE_DECAY, shaped), new long[] {0, 2, 5, 10, 12, 20}, new double[] {0.2, 0.6, 1, 0.6, 0.2, 0.2});
        // 1-sqrt both ways: s = 3 → 1 − √(1 − ¾) = ½; s = 9 → 1 − √¼ = ½
        assertFactors(of(Kind.WARMUP_STABLE_DECAY, Map.of("num_decay_steps", 4.0, "warmup_type", "1-sqrt", "decay_type", "1-sqrt")),
                new long[] {3, 9}, new double[] {0.5, 0.5});
        // 2 stable updates given: the decay runs over s = 6..9, and the floor follows it before the run's end
        assertFactors(of(Kind.WARMUP_STABLE_DECAY, Map.of("num_decay_steps", 4.0, "num_stable_steps", 2.0)), new long[] {5, 6, 8, 10},
                new double[] {1, 1, 0.5, 0});
    }

    @Test
    void schedulesThatCannotRunAreRefusedSayingWhy() {
        var e = assertThrows(IllegalArgumentException.class, () -> of(Kind.WARMUP_STABLE_DECAY, Map.of()));
        assertEquals("warmup_stable_decay needs num_decay_steps", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> of(Kind.WARMUP_STABLE_DECAY, Map.of("num_decay_steps", 10.0)));
        assertEquals("num_decay_steps (10) and the 4 warmup updates are more than the run's 12 updates", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> of(Kind.WARMUP_STABLE_DECAY, Map.of("num_decay_steps", 2.5)));
        assertEquals("num_decay_steps must be a whole number >= 0, got 2.5", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> of(Kind.WARMUP_STABLE_DECAY, Map.of("num_decay_steps", 4.0, "decay_type", "exp")));
        assertEquals("decay_type must be one of linear, cosine, 1-sqrt, got exp", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> of(Kind.WARMUP_STABLE_DECAY, Map.of("num_decay_steps", 4.0, "warmup_type", 1.0)));
        assertEquals("warmup_type must be one of linear, cosine, 1-sqrt, got 1.0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> of(Kind.COSINE, Map.of("num_cycles", "two")));
        assertEquals("num_cycles must be a number, got two", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> of(Kind.COSINE_WITH_MIN_LR, Map.of()));
        assertEquals("cosine_with_min_lr needs one of min_lr and min_lr_rate", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> of(Kind.COSINE_WITH_MIN_LR, Map.of("min_lr", 0.1, "min_lr_rate", 0.1)));
        assertEquals("cosine_with_min_lr needs one of min_lr and min_lr_rate", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> of(Kind.COSINE_WITH_MIN_LR, Map.of("min_lr", 2.0)));
        assertEquals("min_lr must be in [0, the learning rate 1.0], got 2.0", e.getMessage());
    }

    @Test
    void optionsAKindDoesNotTakeAreRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> of(Kind.COSINE, Map.of("power", 2.0)));
        assertEquals("cosine takes num_cycles, not power", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> of(Kind.LINEAR, Map.of("num_cycles", 2.0)));
        assertEquals("linear takes none, not num_cycles", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> of(Kind.COSINE_WITH_RESTARTS, Map.of("num_cycles", 0.0)));
        assertEquals("num_cycles must be > 0, got 0.0", e.getMessage());
    }
}
