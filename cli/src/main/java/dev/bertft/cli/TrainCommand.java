package dev.bertft.cli;

import dev.bertft.api.ClassifierOptions;
import dev.bertft.api.FineTuning;
import dev.bertft.api.TrainingResult;
import dev.bertft.tensor.Backend;
import dev.bertft.train.Checkpoints;
import dev.bertft.train.Hyperparameter;
import dev.bertft.train.OutputFolders;
import dev.bertft.train.Trainer;
import dev.bertft.train.TrainingArgs;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code bert-ft train}: HF Trainer's fine-tuning job, run by the library's {@link FineTuning}. With no
 * arguments it runs the classic recipe: bert-base-uncased on IMDB, 3 epochs, batch 32, eval batch 64, 500
 * warmup steps, weight decay 0.01, logging every 10 steps, then an evaluation on the test split. The
 * training settings are options made from their declaration in {@link TrainingArgs} (see
 * {@link HyperparameterOptions}); this class holds only what a command line adds.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false, modelTransformer = HyperparameterOptions.class,
        description = "Fine-tune a BERT model for sequence classification (the Hugging Face Trainer workflow).")
final class TrainCommand implements Callable<Integer> {
    @Mixin
    DataArgs source;

    @Mixin
    DeviceArgs device;

    @Mixin
    PrecisionArgs precisionArgs;

    @Mixin
    ProgressArgs progressArgs;

    @Mixin
    SaveDtypeArgs saveDtype;

    @Option(names = "--overwrite-output-dir", description = "Train into an --output-dir that holds a previous run: its checkpoint-*"
            + " folders are deleted first, so the two runs' checkpoints cannot mix (nor --resume pick the old run's); its other files"
            + " are replaced as this run writes them. Without it (or --resume), a folder that is not empty is refused.")
    boolean overwriteOutputDir;

    @Option(names = "--resume", arity = "0..1", fallbackValue = "latest", paramLabel = "CHECKPOINT",
            description = "Resume from the latest complete checkpoint in --output-dir, or from the one given.")
    String resume;

    @Option(names = "--ignore-mismatched-sizes", description = "Initialise afresh the model's weights whose checkpoint shape differs "
            + "(a classifier fine-tuned for another number of labels), as transformers' ignore_mismatched_sizes; without it that is an error.")
    boolean ignoreMismatchedSizes;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override a config.json value, e.g. hidden_dropout_prob=0.")
    Map<String, String> overrides = new LinkedHashMap<>();

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    /** HF scripts' do_train, what train does anyway: accepted, and refused when false rather than ignored. */
    @Option(names = "--do-train", arity = "0..1", fallbackValue = "true", hidden = true)
    Boolean doTrain;

    /** run_classification.py's do_predict: after training, --test-file's texts classified into predict_results.txt. */
    @Option(names = "--do-predict", arity = "0..1", fallbackValue = "true", hidden = true)
    Boolean doPredict;

    /** run_classification.py's test_file: CSV, TSV or JSON Lines, read with the training data's text columns. */
    @Option(names = "--test-file", hidden = true)
    Path testFile;

    /** run_classification.py's max_predict_samples: the test file's first N texts. */
    @Option(names = "--max-predict-samples", hidden = true)
    int maxPredictSamples;

    @Spec
    CommandSpec spec;

    /** The settings as given (defaults included), checked: the library's errors name the options. */
    TrainingArgs trainingArgs() {
        return HyperparameterOptions.read(spec, TrainingArgs.builder()).build();
    }

    @Override
    public Integer call() throws Exception {
        if (Boolean.FALSE.equals(doTrain)) {
            throw new IllegalArgumentException("--do-train false: train always trains; bert-ft eval evaluates a model without training it");
        }
        ConsoleProgress progress = progressArgs.console();
        TestPredictions test = testPredictions(progress);
        TrainingArgs settled = trainingArgs();
        if (settled.warmupSteps() > 0 && settled.warmupRatio() > 0) {
            progress.onMessage(HyperparameterOptions.flag(TrainingArgs.WARMUP_STEPS) + " " + settled.warmupSteps() + " overrides "
                    + HyperparameterOptions.flag(TrainingArgs.WARMUP_RATIO) + " " + settled.warmupRatio() + " (Hugging Face's rule)");
        }
        Map<String, Object> effective = new LinkedHashMap<>(Map.of("warmup_steps", settled.warmupSteps(),
                "warmup_ratio", settled.warmupRatio(), "logging_dir", settled.loggingDir().toString()));
        for (Hyperparameter<String> p : TrainingArgs.JSON_SETTINGS) effective.put(p.hfName(), settled.tree(p));
        Map<String, Object> recorded = RecordedArgs.of(spec, effective);
        TrainingArgs args = settled.toBuilder().recorded(recorded).build();
        Path outputDir = args.outputDir();
        if (overwriteOutputDir && resume != null) {
            throw new IllegalArgumentException("--overwrite-output-dir and --resume: give one (the first deletes the checkpoints the second continues)");
        }
        OutputFolders.requireWritable(TrainingArgs.OUTPUT_DIR, outputDir);
        OutputFolders.requireWritable(TrainingArgs.LOGGING_DIR, args.loggingDir());
        if (resume == null && !overwriteOutputDir) {
            OutputFolders.requireEmpty(outputDir, "add --overwrite-output-dir to replace the run in it, or --resume to continue it");
        }
        Path resumeFrom = resumePoint(outputDir);
        if (resumeFrom != null) {
            RecordedArgs.differences(spec, recorded, resumeFrom.resolve(Checkpoints.ARGS_FILE)).forEach(progress::onMessage);
        }

        Backend backend = device.open();
        FineTuning job = FineTuning.of(source.model, source.trainingData(), args).backend(backend)
                .precision(precisionArgs.resolve(backend)).saveDtype(saveDtype.dtype())
                .hub(source.hub.options()).config(overrides).overwriteOutputDir(overwriteOutputDir);
        if (resumeFrom != null) job.resumeFrom(resumeFrom);
        if (source.tokenizerName != null) job.tokenizer(source.tokenizerName);
        job.ignoreMismatchedSizes(ignoreMismatchedSizes);
        TrainingResult result;
        StopSignals signals = StopSignals.install(job::stop, progress::onMessage);
        try {
            result = job.run(progress);
        } catch (Trainer.StoppedException e) {
            progress.onMessage(e.getMessage() + Checkpoints.latest(outputDir).map(c -> "; the last checkpoint is " + c
                    + ": continue from it with --resume").orElse("; no checkpoint was saved yet"));
            return signals.exitCode();
        } finally {
            signals.close();
        }
        if (test != null) {
            ClassifierOptions options = ClassifierOptions.defaults().backend(backend).batchSize(args.evalBatchSize())
                    .precision(precisionArgs.resolve(backend));
            Path written = test.write(outputDir, args.maxLength() > 0 ? options.maxLength(args.maxLength()) : options);   // as trained
            progress.onMessage("wrote the predictions for " + test.size() + " texts of " + testFile + " to " + written);
        }
        long steps = result.globalStep();
        progress.onMessage(String.format(Locale.ROOT, "done: %d steps%s in %s (%.2f samples/s)%s; model saved to %s",
                steps, result.stepsRun() == steps ? "" : " (" + result.stepsRun() + " in this run)",
                ConsoleProgress.duration(result.trainRuntimeSeconds()),
                result.trainSamples() / result.trainRuntimeSeconds(),
                result.evalMetrics().isEmpty() ? "" : "; eval " + summary(result.evalMetrics()),
                outputDir));
        return 0;
    }

    /** The final evaluation as eval's report words it: the problem type's metrics, then the loss. */
    private static String summary(Map<String, Double> evalMetrics) {
        StringBuilder sb = new StringBuilder();
        evalMetrics.forEach((name, v) -> {
            if (!name.equals("eval_loss")) sb.append(String.format(Locale.ROOT, "%s %.4f, ", name.substring(5), v));
        });
        return sb.append(String.format(Locale.ROOT, "loss %.4f", evalMetrics.get("eval_loss"))).toString();
    }

    /** --do-predict's texts, read before anything trains; null without it. */
    private TestPredictions testPredictions(ConsoleProgress progress) throws java.io.IOException {
        if (!Boolean.TRUE.equals(doPredict)) {
            if (testFile != null) progress.onMessage("--test-file without --do-predict is not read, as in run_classification.py");
            return null;
        }
        if (testFile == null) throw new IllegalArgumentException("--do-predict needs --test-file, the texts to classify after training");
        if (maxPredictSamples < 0) throw new IllegalArgumentException("--max-predict-samples must be >= 0, got " + maxPredictSamples);
        return TestPredictions.read(testFile, source.textColumns(), maxPredictSamples);
    }

    private Path resumePoint(Path outputDir) throws java.io.IOException {
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
