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
 * <li>inverse_sqrt: 1/√((s − w + τ)/τ), τ = timescale (w, or 10,000 without a warmup);
 * <li>cosine_with_min_lr: r + (1 − r)·cosine's wave, floored at 0, r = min_lr_rate or min_lr/peak (one of them required);
 * <li>cosine_warmup_with_min_lr: the same wave one update ahead, p = (s − w + 1)/(T − w), after a warmup that
 *     also runs one ahead, (s + 1)/w, or from warmup_lr_rate, q + (1 − q)·s/(w − 1);
 * <li>warmup_stable_decay: a warmup (warmup_type linear, cosine ½(1 − cos πs/w) or 1-sqrt 1 − √(1 − s/w)) from r
 *     to 1, then 1 for num_stable_steps (T − w − num_decay_steps by default), then a decay over num_decay_steps
 *     (decay_type cosine ½(1 + cos 2πcd), linear 1 − d or 1-sqrt 1 − √d, d its progress) to r, then r; each
 *     phase's factor f is mapped to r + (1 − r)f, floored at 0, r = min_lr_ratio (0), c = num_cycles (½);
 * <li>reduce_lr_on_plateau: 1 here, without a warmup (transformers ignores it); the rate moves with the evaluations
 *     instead, {@link PlateauReduction} (mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps).
 * </ul>
 * {@code options} are transformers' lr_scheduler_kwargs for the kind (names above), numbers except
 * warmup_type, decay_type, mode and threshold_mode; the constructor refuses an option the kind does not take, as transformers
 * does, and a value it cannot use, saying which.
 */
public record LearningRateSchedule(Kind kind, double peak, long warmupSteps, long totalSteps, Map<String, ?> options) {

    public enum Kind {
        LINEAR, COSINE, COSINE_WITH_RESTARTS, POLYNOMIAL, CONSTANT, CONSTANT_WITH_WARMUP, INVERSE_SQRT, COSINE_WITH_MIN_LR,
        COSINE_WARMUP_WITH_MIN_LR, WARMUP_STABLE_DECAY, REDUCE_LR_ON_PLATEAU;

        /** The lr_scheduler_kwargs this kind takes, as transformers names them. */
        public List<String> optionNames() {
            return switch (this) {
                case COSINE, COSINE_WITH_RESTARTS -> List.of("num_cycles");
                case POLYNOMIAL -> List.of("lr_end", "power");
                case INVERSE_SQRT -> List.of("timescale");
                case COSINE_WITH_MIN_LR -> List.of("num_cycles", "min_lr", "min_lr_rate");
                case COSINE_WARMUP_WITH_MIN_LR -> List.of("num_cycles", "min_lr", "min_lr_rate", "warmup_lr_rate");
                case WARMUP_STABLE_DECAY -> List.of("num_decay_steps", "num_stable_steps", "warmup_type", "decay_type", "min_lr_ratio",
                        "num_cycles");
                case REDUCE_LR_ON_PLATEAU -> List.of("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr",
                        "eps");
                default -> List.of();
            };
        }

        /** As transformers spells it ("cosine_with_restarts"). */
        public String hfName() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** constant and reduce_lr_on_plateau: transformers gives them no warmup, even when one is asked for. */
        public boolean ignoresWarmup() {
            return this == CONSTANT || this == REDUCE_LR_ON_PLATEAU;
        }
    }

    /** The options that are names, and the names each takes. */
    private static final Map<String, List<String>> CHOICES = Map.of("warmup_type", List.of("linear", "cosine", "1-sqrt"),
            "decay_type", List.of("linear", "cosine", "1-sqrt"), "mode", List.of("min", "max"), "threshold_mode", List.of("rel", "abs"));

    public LearningRateSchedule {
        options = Map.copyOf(options);
        if (warmupSteps < 0 || totalSteps < 0) throw new IllegalArgumentException("schedule steps must be >= 0");
        checkOptions(kind, peak, options);
        if (kind == Kind.WARMUP_STABLE_DECAY && !options.containsKey("num_stable_steps")
                && warmupSteps + number(options, "num_decay_steps", 0) > totalSteps) {
            throw new IllegalArgumentException("num_decay_steps (" + (long) number(options, "num_decay_steps", 0) + ") and the "
                    + warmupSteps + " warmup updates are more than the run's " + totalSteps + " updates");
        }
    }

    /** HF's linear warmup then linear decay to 0 at the last update: the classic recipe's schedule. */
    public static LearningRateSchedule linear(double peak, long warmupSteps, long totalSteps) {
        return new LearningRateSchedule(Kind.LINEAR, peak, warmupSteps, totalSteps, Map.of());
    }

    /**
     * Throws when {@code options} names what the kind does not take, a value it cannot use, or lacks one
     * it needs (cosine_with_min_lr's floor, warmup_stable_decay's decay); says which. What the number of
     * updates decides is checked when the schedule is made.
     */
    public static void checkOptions(Kind kind, double peak, Map<String, ?> options) {
        for (var e : options.entrySet()) {
            String name = e.getKey();
            if (!kind.optionNames().contains(name)) {
                throw new IllegalArgumentException(kind.hfName() + " takes "
                        + (kind.optionNames().isEmpty() ? "none" : String.join(", ", kind.optionNames())) + ", not " + name);
            }
            List<String> choices = CHOICES.get(name);
            String oneOf = choices == null ? "a number" : "one of " + String.join(", ", choices);
            if ((choices != null) != e.getValue() instanceof String) {
                throw new IllegalArgumentException(name + " must be " + oneOf + ", got " + e.getValue());
            }
            String rule = choices != null ? (choices.contains((String) e.getValue()) ? null : oneOf)
                    : numberRule(name, ((Number) e.getValue()).doubleValue(), peak);
            if (rule != null) throw new IllegalArgumentException(name + " must be " + rule + ", got " + e.getValue());
        }
        if (kind == Kind.POLYNOMIAL && !(peak > number(options, "lr_end", 1e-7))) {
            throw new IllegalArgumentException("lr_end (" + number(options, "lr_end", 1e-7)
                    + ") must be smaller than the learning rate (" + peak + ")");
        }
        if ((kind == Kind.COSINE_WITH_MIN_LR || kind == Kind.COSINE_WARMUP_WITH_MIN_LR)
                && options.containsKey("min_lr") == options.containsKey("min_lr_rate")) {
            throw new IllegalArgumentException(kind.hfName() + " needs one of min_lr and min_lr_rate");
        }
        if (kind == Kind.WARMUP_STABLE_DECAY && !options.containsKey("num_decay_steps")) {
            throw new IllegalArgumentException("warmup_stable_decay needs num_decay_steps");
        }
    }

    /** Why a number cannot be the named option's value, or null when it can. */
    private static String numberRule(String name, double v, double peak) {
        if (!Double.isFinite(v)) return "a finite number";
        return switch (name) {
            case "num_cycles", "timescale" -> v > 0 ? null : "> 0";
            case "lr_end", "threshold", "eps" -> v >= 0 ? null : ">= 0";
            case "factor" -> v > 0 && v < 1 ? null : "in (0, 1)";
            case "min_lr" -> v >= 0 && v <= peak ? null : "in [0, the learning rate " + peak + "]";
            case "min_lr_rate", "min_lr_ratio", "warmup_lr_rate" -> v >= 0 && v <= 1 ? null : "in [0, 1]";
            case "num_decay_steps", "num_stable_steps", "patience", "cooldown" ->
                    v >= 0 && v == Math.rint(v) ? null : "a whole number >= 0";
            default -> null;
        };
    }

    /** The rate of the update that follows {@code step} completed ones. */
    public double lr(long step) {
        return peak * factor(step);
    }

    private double factor(long s) {
        if (kind.ignoresWarmup()) return 1;
        if (kind == Kind.COSINE_WARMUP_WITH_MIN_LR) return cosineWarmupWithMinLr(s);
        if (kind == Kind.WARMUP_STABLE_DECAY) return warmupStableDecay(s);
        if (s < warmupSteps) return (double) s / Math.max(1, warmupSteps);
        double progress = (double) (s - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
        return switch (kind) {
            case LINEAR -> Math.max(0.0, (double) (totalSteps - s) / Math.max(1, totalSteps - warmupSteps));
            case COSINE -> Math.max(0.0, cosineWave(progress));
            case COSINE_WITH_MIN_LR -> Math.max(0.0, atLeastMinimum(cosineWave(progress), minLrRate()));
            case COSINE_WITH_RESTARTS -> progress >= 1 ? 0.0
                    : Math.max(0.0, 0.5 * (1 + Math.cos(Math.PI * ((number("num_cycles", 1) * progress) % 1.0))));
            case POLYNOMIAL -> {
                double end = number("lr_end", 1e-7);
                if (s > totalSteps) yield end / peak;
                double remaining = 1 - progress;
                yield ((peak - end) * Math.pow(remaining, number("power", 1)) + end) / peak;
            }
            case CONSTANT_WITH_WARMUP -> 1;
            case INVERSE_SQRT -> {
                double tau = number("timescale", warmupSteps > 0 ? warmupSteps : 10_000);
                yield 1 / Math.sqrt((s - warmupSteps + tau) / tau);
            }
            case CONSTANT, REDUCE_LR_ON_PLATEAU, COSINE_WARMUP_WITH_MIN_LR, WARMUP_STABLE_DECAY -> throw new AssertionError(kind);
        };
    }

    /** ½(1 + cos 2πcp), c = num_cycles (½): cosine's wave at progress p. */
    private double cosineWave(double progress) {
        return 0.5 * (1 + Math.cos(Math.PI * number("num_cycles", 0.5) * 2 * progress));
    }

    /** f mapped from [0, 1] to [r, 1]. */
    private static double atLeastMinimum(double f, double r) {
        return f * (1 - r) + r;
    }

    private double minLrRate() {
        if (!options.containsKey("min_lr")) return number("min_lr_rate", 0);
        return peak > 0 ? number("min_lr", 0) / peak : 0;
    }

    private double cosineWarmupWithMinLr(long s) {
        if (s < warmupSteps) {
            if (!options.containsKey("warmup_lr_rate")) return (s + 1.0) / Math.max(1, warmupSteps);
            double q = number("warmup_lr_rate", 0);
            return q + (1 - q) * s / Math.max(1, warmupSteps - 1);
        }
        double progress = (s - warmupSteps + 1.0) / Math.max(1, totalSteps - warmupSteps);
        return Math.max(0.0, atLeastMinimum(cosineWave(progress), minLrRate()));
    }

    private double warmupStableDecay(long s) {
        double r = number("min_lr_ratio", 0);
        long decay = (long) number("num_decay_steps", 0);
        long stable = options.containsKey("num_stable_steps") ? (long) number("num_stable_steps", 0) : totalSteps - warmupSteps - decay;
        if (s < warmupSteps) {
            double q = (double) s / Math.max(1, warmupSteps);
            double f = switch (text("warmup_type", "linear")) {
                case "cosine" -> 0.5 * (1 - Math.cos(Math.PI * q));
                case "1-sqrt" -> 1 - Math.sqrt(1 - q);
                default -> q;
            };
            return Math.max(0.0, atLeastMinimum(f, r));
        }
        if (s < warmupSteps + stable) return 1;
        if (s < warmupSteps + stable + decay) {
            double d = (double) (s - warmupSteps - stable) / Math.max(1, decay);
            double f = switch (text("decay_type", "cosine")) {
                case "linear" -> 1 - d;
                case "1-sqrt" -> 1 - Math.sqrt(d);
                default -> cosineWave(d);
            };
            return Math.max(0.0, atLeastMinimum(f, r));
        }
        return r;
    }

    private double number(String name, double otherwise) {
        return number(options, name, otherwise);
    }

    /** The named option's number, or {@code otherwise} when it is not given. */
    static double number(Map<String, ?> options, String name, double otherwise) {
        return options.get(name) instanceof Number n ? n.doubleValue() : otherwise;
    }

    private String text(String name, String otherwise) {
        return text(options, name, otherwise);
    }

    /** The named option's name, or {@code otherwise} when it is not given. */
    static String text(Map<String, ?> options, String name, String otherwise) {
        return options.get(name) instanceof String t ? t : otherwise;
    }

    /** One line for a log: the kind, the peak and the warmup actually applied. */
    public String describe() {
        String warmup = kind.ignoresWarmup() ? (warmupSteps > 0 ? ", no warmup (" + kind.hfName() + " ignores the " + warmupSteps
                + " warmup updates, as transformers does" + (kind == Kind.CONSTANT ? "; constant_with_warmup applies them)" : ")") : "")
                : ", " + warmupSteps + " warmup updates";
        return String.format(Locale.ROOT, "learning rate: %s from %.3g%s, %d updates in all%s", kind.hfName(), peak, warmup, totalSteps,
                options.isEmpty() ? "" : ", " + options);
    }
}
