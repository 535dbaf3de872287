package dev.bertft.nn;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The learning-rate schedules of transformers' {@code get_scheduler}: the peak rate times a factor
 * of s, the updates completed so far (torch's last_epoch), so with a warmup the very first update
 * runs at rate 0, as in transformers. Warming up (w updates) the factor is s/w; after it, with T
 * updates in all and progress p = (s − w)/(T − w):
 * <ul>
 * <li>linear: 1 − p, floored at 0;
 * <li>cosine: ½(1 + cos 2πcp), floored at 0, with c = num_cycles (½: one half wave, to 0 at T);
 * <li>cosine_with_restarts: ½(1 + cos π((cp) mod 1)), c = num_cycles (1) waves that each restart at 1, 0 from p = 1 on;
 * <li>polynomial: ((peak − end)(1 − p)^power + end)/peak, end/peak after T (lr_end 1e-7, power 1);
 * <li>constant: 1, with no warmup even when one is given (transformers ignores it; constant_with_warmup has one);
 * <li>constant_with_warmup: 1;
 * <li>inverse_sqrt: 1/√((s − w + τ)/τ), τ = timescale (w, or 10,000 without a warmup).
 * </ul>
 * {@code options} are transformers' lr_scheduler_kwargs for the kind (names above in parentheses); the
 * constructor refuses an option the kind does not take, as transformers does, saying which.
 */
public record LearningRateSchedule(Kind kind, double peak, long warmupSteps, long totalSteps, Map<String, Double> options) {

    public enum Kind {
        LINEAR, COSINE, COSINE_WITH_RESTARTS, POLYNOMIAL, CONSTANT, CONSTANT_WITH_WARMUP, INVERSE_SQRT;

        /** The lr_scheduler_kwargs this kind takes, as transformers names them. */
        public List<String> optionNames() {
            return switch (this) {
                case COSINE, COSINE_WITH_RESTARTS -> List.of("num_cycles");
                case POLYNOMIAL -> List.of("lr_end", "power");
                case INVERSE_SQRT -> List.of("timescale");
                default -> List.of();
            };
        }

        /** As transformers spells it ("cosine_with_restarts"). */
        public String hfName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public LearningRateSchedule {
        options = Map.copyOf(options);
        if (warmupSteps < 0 || totalSteps < 0) throw new IllegalArgumentException("schedule steps must be >= 0");
        checkOptions(kind, options);
        if (kind == Kind.POLYNOMIAL && !(peak > option(options, "lr_end", 1e-7))) {
            throw new IllegalArgumentException("lr_end (" + option(options, "lr_end", 1e-7)
                    + ") must be smaller than the learning rate (" + peak + ")");
        }
    }

    /** HF's linear warmup then linear decay to 0 at the last update: the classic recipe's schedule. */
    public static LearningRateSchedule linear(double peak, long warmupSteps, long totalSteps) {
        return new LearningRateSchedule(Kind.LINEAR, peak, warmupSteps, totalSteps, Map.of());
    }

    /** Throws when {@code options} names what the kind does not take, or a value it cannot use; says which. */
    private static void checkOptions(Kind kind, Map<String, Double> options) {
        for (var e : options.entrySet()) {
            if (!kind.optionNames().contains(e.getKey())) {
                throw new IllegalArgumentException(kind.hfName() + " takes "
                        + (kind.optionNames().isEmpty() ? "none" : String.join(", ", kind.optionNames())) + ", not " + e.getKey());
            }
            double v = e.getValue();
            String rule = switch (e.getKey()) {
                case "num_cycles", "timescale" -> v > 0 ? null : "> 0";
                case "lr_end" -> v >= 0 ? null : ">= 0";
                default -> null;
            };
            if (!Double.isFinite(v)) rule = "a finite number";
            if (rule != null) throw new IllegalArgumentException(e.getKey() + " must be " + rule + ", got " + v);
        }
    }

    /** The rate of the update that follows {@code step} completed ones. */
    public double lr(long step) {
        return peak * factor(step);
    }

    private double factor(long s) {
        if (kind == Kind.CONSTANT) return 1;
        if (s < warmupSteps) return (double) s / Math.max(1, warmupSteps);
        double progress = (double) (s - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
        return switch (kind) {
            case LINEAR -> Math.max(0.0, (double) (totalSteps - s) / Math.max(1, totalSteps - warmupSteps));
            case COSINE -> Math.max(0.0, 0.5 * (1 + Math.cos(Math.PI * option("num_cycles", 0.5) * 2 * progress)));
            case COSINE_WITH_RESTARTS -> progress >= 1 ? 0.0
                    : Math.max(0.0, 0.5 * (1 + Math.cos(Math.PI * ((option("num_cycles", 1) * progress) % 1.0))));
            case POLYNOMIAL -> {
                double end = option("lr_end", 1e-7);
                if (s > totalSteps) yield end / peak;
                double remaining = 1 - progress;
                yield ((peak - end) * Math.pow(remaining, option("power", 1)) + end) / peak;
            }
            case CONSTANT_WITH_WARMUP, CONSTANT -> 1;
            case INVERSE_SQRT -> {
                double tau = option("timescale", warmupSteps > 0 ? warmupSteps : 10_000);
                yield 1 / Math.sqrt((s - warmupSteps + tau) / tau);
            }
        };
    }

    private double option(String name, double otherwise) {
        return option(options, name, otherwise);
    }

    private static double option(Map<String, Double> options, String name, double otherwise) {
        return options.getOrDefault(name, otherwise);
    }

    /** One line for a log: the kind, the peak and the warmup actually applied. */
    public String describe() {
        String warmup = kind == Kind.CONSTANT ? (warmupSteps > 0 ? ", no warmup (constant ignores the " + warmupSteps
                + " warmup updates, as transformers does; constant_with_warmup applies them)" : "")
                : ", " + warmupSteps + " warmup updates";
        return String.format(Locale.ROOT, "learning rate: %s from %.3g%s, %d updates in all%s", kind.hfName(), peak, warmup, totalSteps,
                options.isEmpty() ? "" : ", " + options);
    }
}
