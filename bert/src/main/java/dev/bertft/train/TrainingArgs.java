package dev.bertft.train;

import java.nio.file.Path;

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
        String metricForBestModel,  // "loss", "accuracy" or "f1" (an "eval_" prefix is accepted)
        int earlyStoppingPatience,  // <= 0: off
        boolean shuffle,
        boolean groupByLength,
        boolean skipNonFiniteSteps) {

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
        require(metricForBestModel.equals("loss") || metricForBestModel.equals("accuracy") || metricForBestModel.equals("f1"),
                "--metric-for-best-model must be loss, accuracy or f1");
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }

    /** Lower loss is better; higher accuracy and F1 are. */
    public boolean greaterIsBetter() {
        return !metricForBestModel.equals("loss");
    }
}
