package dev.bertft.cli;

import dev.bertft.autograd.Precision;
import dev.bertft.bert.BertConfig;
import dev.bertft.classifier.ProblemType;
import dev.bertft.data.Dataset;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tokenizer.WordPieceTokenizer;
import dev.bertft.train.Batches;
import dev.bertft.train.Checkpoints;
import dev.bertft.train.Trainer;
import dev.bertft.train.TrainingArgs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code bert-ft train}: HF Trainer's fine-tuning job. With no arguments it runs the classic
 * recipe: bert-base-uncased on IMDB, 3 epochs, batch 32, eval batch 64, 500 warmup steps,
 * weight decay 0.01, logging every 10 steps, then an evaluation on the test split.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Fine-tune a BERT model for sequence classification (the Hugging Face Trainer workflow).")
final class TrainCommand implements Callable<Integer> {
    @Mixin
    DataArgs source;

    @Mixin
    DeviceArgs device;

    @Mixin
    PrecisionArgs precisionArgs;

    @Mixin
    SaveDtypeArgs saveDtype;

    @Option(names = "--output-dir", defaultValue = "./results", description = "Checkpoints and the final model. Default: ${DEFAULT-VALUE}.")
    Path outputDir;

    @Option(names = "--overwrite-output-dir", description = "Train into an --output-dir that holds a previous run: its checkpoint-*"
            + " folders are deleted first, so the two runs' checkpoints cannot mix (nor --resume pick the old run's); its other files"
            + " are replaced as this run writes them. Without it (or --resume), a folder that is not empty is refused.")
    boolean overwriteOutputDir;

    @Option(names = "--logging-dir", paramLabel = "DIR",
            description = "JSON log lines and the training chart. Default: <output-dir>/runs/<time>_<host>, as Hugging Face's.")
    Path loggingDir;

    @Option(names = "--report-to", split = ",", defaultValue = "none", paramLabel = "WHERE",
            description = "Also log to: tensorboard (event files in --logging-dir for 'tensorboard --logdir'), all (the same), "
                    + "or none. Default: ${DEFAULT-VALUE}, as in recent transformers.")
    List<String> reportTo;

    @Option(names = "--epochs", defaultValue = "3", description = "Default: ${DEFAULT-VALUE}.")
    double epochs;

    @Option(names = "--max-steps", defaultValue = "-1", description = "Stop after this many updates (overrides --epochs).")
    long maxSteps;

    @Option(names = "--batch-size", defaultValue = "32", description = "Default: ${DEFAULT-VALUE}.")
    int batchSize;

    @Option(names = "--eval-batch-size", defaultValue = "64", description = "Default: ${DEFAULT-VALUE}.")
    int evalBatchSize;

    @Option(names = "--learning-rate", defaultValue = "5e-5", description = "Peak learning rate. Default: ${DEFAULT-VALUE}.")
    double learningRate;

    @Option(names = "--warmup-steps", paramLabel = "N",
            description = "Default: " + RECIPE_WARMUP_STEPS + ", unless --warmup-ratio is given; given with it, N > 0 wins (Hugging Face's rule).")
    Long warmupSteps;

    @Option(names = "--warmup-ratio", paramLabel = "R", description = "Warmup as a fraction of all updates, instead of the recipe's steps.")
    Double warmupRatio;

    @Option(names = "--weight-decay", defaultValue = "0.01", description = "Not applied to biases and LayerNorm weights. Default: ${DEFAULT-VALUE}.")
    double weightDecay;

    @Option(names = "--adam-beta1", defaultValue = "0.9", hidden = true)
    double beta1;

    @Option(names = "--adam-beta2", defaultValue = "0.999", hidden = true)
    double beta2;

    @Option(names = "--adam-epsilon", defaultValue = "1e-8", hidden = true)
    double adamEpsilon;

    @Option(names = "--max-grad-norm", defaultValue = "1.0", description = "Gradient clipping (0: off). Default: ${DEFAULT-VALUE}.")
    double maxGradNorm;

    @Option(names = "--grad-accum-steps", defaultValue = "1", description = "Micro-batches per update. Default: ${DEFAULT-VALUE}.")
    int gradAccumSteps;

    @Option(names = "--logging-steps", defaultValue = "10", description = "Default: ${DEFAULT-VALUE}.")
    int loggingSteps;

    @Option(names = "--eval-strategy", defaultValue = "no", description = "no, steps or epoch. Default: ${DEFAULT-VALUE}.")
    String evalStrategy;

    @Option(names = "--eval-steps", defaultValue = "0", description = "With --eval-strategy steps (default: --logging-steps).")
    int evalSteps;

    @Option(names = "--save-strategy", defaultValue = "steps", description = "no, steps or epoch. Default: ${DEFAULT-VALUE}.")
    String saveStrategy;

    @Option(names = "--save-steps", defaultValue = "500", description = "Default: ${DEFAULT-VALUE}.")
    int saveSteps;

    @Option(names = "--save-total-limit", defaultValue = "0", description = "Keep only the newest N checkpoints (and the best).")
    int saveTotalLimit;

    @Option(names = "--load-best-model-at-end", description = "Finish with the best checkpoint's weights.")
    boolean loadBestModelAtEnd;

    @Option(names = "--metric-for-best-model", defaultValue = "loss",
            description = "loss, or the problem type's: accuracy, f1; mse, rmse, pearson, spearmanr; accuracy, f1_micro, f1_macro. Default: ${DEFAULT-VALUE}.")
    String metricForBestModel;

    @Option(names = "--early-stopping-patience", defaultValue = "0", description = "Stop after N evaluations without improvement.")
    int earlyStoppingPatience;

    @Option(names = "--resume", arity = "0..1", fallbackValue = "latest", paramLabel = "CHECKPOINT",
            description = "Resume from the latest complete checkpoint in --output-dir, or from the one given.")
    String resume;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a config.json value, e.g. hidden_dropout_prob=0.")
    Map<String, String> overrides = new LinkedHashMap<>();

    @Option(names = "--no-shuffle", description = "Keep the data order.")
    boolean noShuffle;

    @Option(names = "--group-by-length", description = "Batch examples of similar length together (less padding).")
    boolean groupByLength;

    @Option(names = "--skip-nonfinite", description = "Skip updates whose loss or gradient is NaN/Inf instead of stopping.")
    boolean skipNonFinite;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    @Spec
    CommandSpec spec;

    /** The classic IMDB recipe's warmup, used when neither --warmup-steps nor --warmup-ratio is given. */
    static final long RECIPE_WARMUP_STEPS = 500;

    @Override
    public Integer call() throws Exception {
        ConsoleProgress progress = ConsoleProgress.forStderr();
        long warmup = warmupSteps(progress);
        double ratio = warmupRatio == null ? 0 : warmupRatio;
        Path logging = loggingDir != null ? loggingDir : defaultLoggingDir(outputDir);
        Map<String, Object> recorded = RecordedArgs.of(spec,
                Map.of("warmup_steps", warmup, "warmup_ratio", ratio, "logging_dir", logging.toString()));
        TrainingArgs args = TrainingArgs.builder().outputDir(outputDir).loggingDir(logging).epochs(epochs).maxSteps(maxSteps)
                .batchSize(batchSize).evalBatchSize(evalBatchSize).learningRate(learningRate).warmupSteps(warmup)
                .warmupRatio(ratio).weightDecay(weightDecay).adamBeta1(beta1).adamBeta2(beta2).adamEpsilon(adamEpsilon)
                .maxGradNorm(maxGradNorm).gradAccumSteps(gradAccumSteps).seed(source.seed).maxLength(source.maxLength)
                .loggingSteps(loggingSteps).evalStrategy(strategy("--eval-strategy", evalStrategy)).evalSteps(evalSteps)
                .saveStrategy(strategy("--save-strategy", saveStrategy)).saveSteps(saveSteps).saveTotalLimit(saveTotalLimit)
                .loadBestModelAtEnd(loadBestModelAtEnd).metricForBestModel(metricForBestModel)
                .earlyStoppingPatience(earlyStoppingPatience).shuffle(!noShuffle).groupByLength(groupByLength)
                .skipNonFiniteSteps(skipNonFinite).reportTo(reportTo).recorded(recorded).build();
        if (overwriteOutputDir && resume != null) {
            throw new IllegalArgumentException("--overwrite-output-dir and --resume: give one (the first deletes the checkpoints the second continues)");
        }
        OutputFolders.requireWritable("--output-dir", outputDir);
        OutputFolders.requireWritable("--logging-dir", logging);
        if (resume == null && !overwriteOutputDir) OutputFolders.requireEmpty(outputDir);
        DType savedWeights = saveDtype.dtype();
        Path resumeFrom = resumePoint();
        if (resumeFrom != null) {
            RecordedArgs.differences(spec, recorded, resumeFrom.resolve(Checkpoints.ARGS_FILE)).forEach(progress::onMessage);
        }

        Backend backend = device.open();
        Precision precision = precisionArgs.resolve(backend);
        Path modelDir = source.resolveModel();
        WordPieceTokenizer tokenizer = WordPieceTokenizer.load(modelDir);
        // config.json's problem_type (or --set's) reads the labels when --problem-type is not given.
        Dataset data = source.loadData(BertConfig.read(modelDir).set(overrides).problemType());
        LoadedModel loaded = LoadedModel.fromPretrained(modelDir, backend, data.labelNames(), data.problemType(), source.seed, overrides);
        loaded.report().forEach(progress::onMessage);
        loaded.model().setPrecision(precision);
        int maxLength = source.maxLength(tokenizer, loaded.maxPositions());
        List<Batches.Tokenized> train = DataArgs.tokenize(tokenizer, data.train(), maxLength);
        List<Batches.Tokenized> eval = DataArgs.tokenize(tokenizer, data.eval(), maxLength);
        progress.onMessage(String.format(Locale.ROOT, "training on %d examples, evaluating on %d; max length %d; %s%s; device %s, %s",
                train.size(), eval.size(), maxLength, data.problemType().hfName(),
                data.problemType() == ProblemType.REGRESSION ? "" : " " + String.join("/", data.labelNames()), backend.name(), precision));

        long parameters = loaded.model().namedParameters().values().stream().mapToLong(p -> p.value().numel()).sum();
        OutputFolders.requireSpace("--output-dir", outputDir,
                OutputFolders.checkpointBytes(parameters, args.saveStrategy() != TrainingArgs.Strategy.NO));
        if (overwriteOutputDir) Checkpoints.removeAll(outputDir);

        Trainer trainer = new Trainer(loaded.model(), args, backend, train, eval, tokenizer.padId(), data.labelNames().size(),
                progress);
        trainer.saveWeightsAs(savedWeights);
        Trainer.Result result;
        StopSignals signals = StopSignals.install(trainer::requestStop, progress::onMessage);
        try {
            result = trainer.train(resumeFrom);
        } catch (Trainer.StoppedException e) {
            progress.onMessage(e.getMessage() + Checkpoints.latest(outputDir).map(c -> "; the last checkpoint is " + c
                    + ": continue from it with --resume").orElse("; no checkpoint was saved yet"));
            return signals.exitCode();
        } finally {
            signals.close();
        }
        long steps = result.state().globalStep();
        progress.onMessage(String.format(Locale.ROOT, "done: %d steps%s in %s (%.2f samples/s)%s; model saved to %s",
                steps, result.stepsRun() == steps ? "" : " (" + result.stepsRun() + " in this run)",
                ConsoleProgress.duration(result.trainRuntimeSeconds()),
                result.trainSamples() / result.trainRuntimeSeconds(),
                result.finalEval() == null ? "" : "; eval " + EvalCommand.summary(result.finalEval()),
                outputDir));
        return 0;
    }

    /** The recipe's steps unless --warmup-ratio is given; both given, Hugging Face's rule: steps > 0 override the ratio. */
    private long warmupSteps(ConsoleProgress progress) {
        if (warmupSteps == null) return warmupRatio == null ? RECIPE_WARMUP_STEPS : 0;
        if (warmupRatio != null && warmupRatio > 0 && warmupSteps > 0) {
            progress.onMessage("--warmup-steps " + warmupSteps + " overrides --warmup-ratio " + warmupRatio + " (Hugging Face's rule)");
        }
        return warmupSteps;
    }

    /** Hugging Face's default logging_dir: a folder per run under the output folder, so runs never share a log. */
    private static Path defaultLoggingDir(Path outputDir) {
        String time = DateTimeFormatter.ofPattern("MMMdd_HH-mm-ss", Locale.ROOT).format(LocalDateTime.now());
        return outputDir.resolve("runs").resolve(time + "_" + hostName());
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (UnknownHostException e) {
            return "localhost";
        }
    }

    private static TrainingArgs.Strategy strategy(String flag, String value) {
        try {
            return TrainingArgs.Strategy.valueOf(value.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(flag + " must be no, steps or epoch, got '" + value + "'");
        }
    }

    private Path resumePoint() throws java.io.IOException {
        if (resume == null) return null;
        if (resume.equals("latest")) {
            return Checkpoints.latest(outputDir).orElseThrow(() -> new IllegalArgumentException(
                    "--resume: no complete checkpoint in " + outputDir));
        }
        Path p = Path.of(resume);
        if (!Files.isDirectory(p)) throw new IllegalArgumentException("--resume: " + p + " is not a checkpoint folder");
        return p;
    }
}
