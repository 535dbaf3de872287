package dev.bertft.nn;

import java.util.Map;

/**
 * The learning rate of transformers' reduce_lr_on_plateau, torch's ReduceLROnPlateau: it starts at the
 * peak and is multiplied by {@code factor} (0.1) once more than {@code patience} (10) evaluations in a
 * row have not improved the best metric so far, then waits {@code cooldown} (0) evaluations before it
 * counts again; it never goes below {@code min_lr} (0), nor moves by {@code eps} (1e-8) or less. An
 * improvement beats the best by more than {@code threshold} (1e-4): relatively (best·(1 ∓ threshold),
 * threshold_mode rel, the default) or absolutely (best ∓ threshold, abs). {@code mode} says whether lower
 * (min) or higher (max) is better; transformers leaves torch's min, which bert-ft keeps only when the
 * metric is one where lower is better (a loss, an error) and otherwise makes max, unless mode is given.
 *
 * <p>Mutable: {@link #step} takes each evaluation's metric during training; {@link #state} and
 * {@link #restore} carry it across a checkpoint.
 */
public final class PlateauReduction {
    private final boolean higherIsBetter;
    private final double factor, threshold, minLr, eps;
    private final boolean relative;
    private final long patience, cooldown;
    private State state;

    /**
     * What changes with the evaluations: the rate, the best metric (as torch, ±∞ before the first, so a
     * first NaN is no improvement), the evaluations without improvement and those of the cooldown still
     * to wait, the evaluations seen.
     */
    public record State(double rate, double best, long badEvaluations, long cooldownLeft, long evaluations) {
    }

    /** From the peak rate and reduce_lr_on_plateau's options (checked by {@link LearningRateSchedule#checkOptions}). */
    public PlateauReduction(double peak, Map<String, ?> options, boolean higherIsBetterByDefault) {
        LearningRateSchedule.checkOptions(LearningRateSchedule.Kind.REDUCE_LR_ON_PLATEAU, peak, options);
        String mode = LearningRateSchedule.text(options, "mode", higherIsBetterByDefault ? "max" : "min");
        higherIsBetter = mode.equals("max");
        factor = LearningRateSchedule.number(options, "factor", 0.1);
        patience = (long) LearningRateSchedule.number(options, "patience", 10);
        threshold = LearningRateSchedule.number(options, "threshold", 1e-4);
        relative = LearningRateSchedule.text(options, "threshold_mode", "rel").equals("rel");
        cooldown = (long) LearningRateSchedule.number(options, "cooldown", 0);
        minLr = LearningRateSchedule.number(options, "min_lr", 0);
        eps = LearningRateSchedule.number(options, "eps", 1e-8);
        state = new State(peak, higherIsBetter ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY, 0, 0, 0);
    }

    /** The rate of the updates that follow. */
    public double rate() {
        return state.rate();
    }

    /** One evaluation's metric: counts it against the best, and reduces the rate when patience has run out. */
    public void step(double metric) {
        double best = state.best();
        boolean improved = higherIsBetter ? metric > (relative ? best * (1 + threshold) : best + threshold)
                : metric < (relative ? best * (1 - threshold) : best - threshold);
        long bad = improved ? 0 : state.badEvaluations() + 1;
        long cooldownLeft = state.cooldownLeft();
        if (cooldownLeft > 0) {   // torch: during the cooldown nothing counts as bad
            cooldownLeft--;
            bad = 0;
        }
        double rate = state.rate();
        if (bad > patience) {
            double reduced = Math.max(rate * factor, minLr);
            if (rate - reduced > eps) rate = reduced;
            cooldownLeft = cooldown;
            bad = 0;
        }
        state = new State(rate, improved ? metric : best, bad, cooldownLeft, state.evaluations() + 1);
    }

    public State state() {
        return state;
    }

    /** Continues from a checkpoint's state. */
    public void restore(State saved) {
        state = saved;
    }

    /** One line for a log: what reduces the rate. */
    public String describe() {
        return "×" + factor + " after " + (patience + 1) + " evaluations in a row without a " + (relative ? "relative " : "")
                + "gain over " + threshold + " (" + (higherIsBetter ? "higher" : "lower") + " is better)"
                + (cooldown > 0 ? ", then " + cooldown + " evaluations of cooldown" : "") + ", down to " + minLr;
    }
}
