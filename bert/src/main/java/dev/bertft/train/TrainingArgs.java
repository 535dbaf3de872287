package dev.bertft.train;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * What HF's TrainingArguments hold for this job, with the same defaults. Built by the CLI;
 * the Trainer reads nothing else.
 */
public record TrainingArgs(
        Path outputDir,
        Path loggingDir,
        double epochs,
        long maxSteps,              // > 0 overrides epochs
        int batchSize,
        int evalBatchSize,
        double learningRate,
        long warmupSteps,
        double warmupRatio,         // used when warmupSteps is 0
        double weightDecay,
        double adamBeta1,
        double adamBeta2,
        double adamEpsilon,
        double maxGradNorm,         // <= 0: no clipping
        int gradAccumSteps,
        long seed,
        int maxLength,
        int loggingSteps,
        Strategy evalStrategy,
        int evalSteps,
        Strategy saveStrategy,
        int saveSteps,
        int saveTotalLimit,         // <= 0: keep all
        boolean loadBestModelAtEnd,
        String metricForBestModel,  // "loss" or a ProblemType metric name (an "eval_" prefix is accepted)
        int earlyStoppingPatience,  // <= 0: off
        boolean shuffle,
        boolean groupByLength,
        boolean skipNonFiniteSteps,
        List<String> reportTo,       // "none", "all" or "tensorboard", as HF's report_to
        Map<String, Object> recorded) {  // every option as the command line named it, for training_args.json; empty from code

    /** The integrations this build has: "all" means every one of them, as in HF. */
    public static final List<String> REPORT_TO_VALUES = List.of("none", "all", "tensorboard");

    public enum Strategy { NO, STEPS, EPOCH }

    public TrainingArgs {
        require(batchSize > 0, "--batch-size must be > 0");
        require(evalBatchSize > 0, "--eval-batch-size must be > 0");
        require(gradAccumSteps > 0, "--grad-accum-steps must be > 0");
        require(epochs > 0 || maxSteps > 0, "--epochs or --max-steps must be > 0");
        require(learningRate >= 0, "--learning-rate must be >= 0");
        require(warmupSteps >= 0, "--warmup-steps must be >= 0");
        require(warmupRatio >= 0 && warmupRatio <= 1, "--warmup-ratio must be in [0, 1]");
        require(loggingSteps > 0, "--logging-steps must be > 0");
        require(maxLength >= 0, "--max-length must be >= 0");
        require(evalStrategy != Strategy.STEPS || evalSteps > 0, "--eval-steps must be > 0");
        require(saveStrategy != Strategy.STEPS || saveSteps > 0, "--save-steps must be > 0");
        require(!loadBestModelAtEnd || (evalStrategy != Strategy.NO && evalStrategy == saveStrategy),
                "--load-best-model-at-end needs the same --eval-strategy and --save-strategy (not 'no')");
        require(earlyStoppingPatience <= 0 || evalStrategy != Strategy.NO, "--early-stopping-patience needs an --eval-strategy");
        metricForBestModel = metricForBestModel.startsWith("eval_") ? metricForBestModel.substring(5) : metricForBestModel;
        require(METRICS.contains(metricForBestModel), "--metric-for-best-model must be one of " + String.join(", ", METRICS)
                + ", got " + metricForBestModel);
        reportTo = List.copyOf(reportTo);
        for (String r : reportTo) {
            require(REPORT_TO_VALUES.contains(r), "--report-to: '" + r + "' is not supported; use one of "
                    + String.join(", ", REPORT_TO_VALUES));
        }
        require(!reportTo.contains("none") || reportTo.size() == 1, "--report-to: 'none' cannot be combined with other values");
        recorded = Collections.unmodifiableMap(new LinkedHashMap<>(recorded));   // in order, nulls kept (options not given)
    }

    /** Every metric name some problem type logs; the Trainer checks the one chosen against the model's problem type. */
    private static final List<String> METRICS = Stream.concat(Stream.of("loss"),
            Arrays.stream(ProblemType.values()).flatMap(p -> p.metricNames().stream())).distinct().toList();

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }

    /** TensorBoard event files in the logging folder. */
    public boolean reportsToTensorBoard() {
        return reportTo.contains("tensorboard") || reportTo.contains("all");
    }

    /**
     * Lower loss and errors (mse, rmse) are better; higher accuracy, F1 and correlations are. (HF's
     * default thinks only a name ending in "loss" lower-better and has --greater_is_better for the
     * rest; bert-ft has no such flag, so it knows its errors.)
     */
    public boolean greaterIsBetter() {
        return !List.of("loss", "mse", "rmse").contains(metricForBestModel);
    }

    /** HF TrainingArguments' defaults; the CLI sets the classic IMDB recipe on top. */
    public static Builder builder() {
        return new Builder();
    }

    public static final class Builder {
        private Path outputDir = Path.of("results"), loggingDir = Path.of("logs");
        private double epochs = 3, learningRate = 5e-5, warmupRatio, weightDecay, adamBeta1 = 0.9, adamBeta2 = 0.999,
                adamEpsilon = 1e-8, maxGradNorm = 1.0;
        private long maxSteps = -1, warmupSteps, seed = 42;
        private int batchSize = 8, evalBatchSize = 8, gradAccumSteps = 1, maxLength, loggingSteps = 500, evalSteps,
                saveSteps = 500, saveTotalLimit, earlyStoppingPatience;
        private Strategy evalStrategy = Strategy.NO, saveStrategy = Strategy.STEPS;
        private boolean loadBestModelAtEnd, shuffle = true, groupByLength, skipNonFiniteSteps;
        private String metricForBestModel = "loss";
        private List<String> reportTo = List.of("none");
        private Map<String, Object> recorded = Map.of();

        public Builder outputDir(Path v) { outputDir = v; return this; }
        public Builder loggingDir(Path v) { loggingDir = v; return this; }
        public Builder epochs(double v) { epochs = v; return this; }
        public Builder maxSteps(long v) { maxSteps = v; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder evalBatchSize(int v) { evalBatchSize = v; return this; }
        public Builder learningRate(double v) { learningRate = v; return this; }
        public Builder warmupSteps(long v) { warmupSteps = v; return this; }
        public Builder warmupRatio(double v) { warmupRatio = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder adamBeta1(double v) { adamBeta1 = v; return this; }
        public Builder adamBeta2(double v) { adamBeta2 = v; return this; }
        public Builder adamEpsilon(double v) { adamEpsilon = v; return this; }
        public Builder maxGradNorm(double v) { maxGradNorm = v; return this; }
        public Builder gradAccumSteps(int v) { gradAccumSteps = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder maxLength(int v) { maxLength = v; return this; }
        public Builder loggingSteps(int v) { loggingSteps = v; return this; }
        public Builder evalStrategy(Strategy v) { evalStrategy = v; return this; }
        public Builder evalSteps(int v) { evalSteps = v; return this; }
        public Builder saveStrategy(Strategy v) { saveStrategy = v; return this; }
        public Builder saveSteps(int v) { saveSteps = v; return this; }
        public Builder saveTotalLimit(int v) { saveTotalLimit = v; return this; }
        public Builder loadBestModelAtEnd(boolean v) { loadBestModelAtEnd = v; return this; }
        public Builder metricForBestModel(String v) { metricForBestModel = v; return this; }
        public Builder earlyStoppingPatience(int v) { earlyStoppingPatience = v; return this; }
        public Builder shuffle(boolean v) { shuffle = v; return this; }
        public Builder groupByLength(boolean v) { groupByLength = v; return this; }
        public Builder skipNonFiniteSteps(boolean v) { skipNonFiniteSteps = v; return this; }
        public Builder reportTo(List<String> v) { reportTo = v; return this; }
        public Builder recorded(Map<String, Object> v) { recorded = v; return this; }

        /** eval_steps defaults to logging_steps, as in HF. */
        public TrainingArgs build() {
            return new TrainingArgs(outputDir, loggingDir, epochs, maxSteps, batchSize, evalBatchSize, learningRate, warmupSteps,
                    warmupRatio, weightDecay, adamBeta1, adamBeta2, adamEpsilon, maxGradNorm, gradAccumSteps, seed, maxLength,
                    loggingSteps, evalStrategy, evalSteps > 0 ? evalSteps : loggingSteps, saveStrategy, saveSteps, saveTotalLimit,
                    loadBestModelAtEnd, metricForBestModel, earlyStoppingPatience, shuffle, groupByLength, skipNonFiniteSteps,
                    reportTo, recorded);
        }
    }
}
