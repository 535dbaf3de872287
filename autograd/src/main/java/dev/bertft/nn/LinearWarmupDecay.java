package dev.bertft.nn;

/**
 * The learning-rate schedule of HF's get_linear_schedule_with_warmup: the factor rises
 * linearly from 0 to 1 over the warmup steps, then falls linearly to 0 at the last step.
 * {@code lr(s)} is the rate for the update that follows s completed steps (0-based), so the very
 * first update runs at rate 0 when there is a warmup, as in transformers.
 */
public record LinearWarmupDecay(double baseLr, long warmupSteps, long totalSteps) {
    public LinearWarmupDecay {
        if (warmupSteps < 0 || totalSteps < 0) throw new IllegalArgumentException("schedule steps must be >= 0");
    }

    public double lr(long step) {
        if (step < warmupSteps) return baseLr * step / Math.max(1, warmupSteps);
        return baseLr * Math.max(0.0, (double) (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
    }
}
