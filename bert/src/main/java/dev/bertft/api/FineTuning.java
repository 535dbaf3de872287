package dev.bertft.api;

import dev.bertft.autograd.Precision;
import dev.bertft.bert.BertConfig;
import dev.bertft.bert.BertForSequenceClassification;
import dev.bertft.classifier.ProblemType;
import dev.bertft.cuda.DeviceOutOfMemoryException;
import dev.bertft.cuda.Devices;
import dev.bertft.data.DataLoader;
import dev.bertft.data.Dataset;
import dev.bertft.hub.HubOptions;
import dev.bertft.hub.ModelResolver;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tokenizer.WordPieceTokenizer;
import dev.bertft.train.Batches;
import dev.bertft.train.Checkpoints;
import dev.bertft.train.OutputFolders;
import dev.bertft.train.Tokenization;
import dev.bertft.train.Trainer;
import dev.bertft.train.TrainingArgs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Fine-tunes a BERT model for sequence classification from Java, as {@code bert-ft train} does (which runs
 * through this class): a pretrained model folder or hub id, {@link TrainingData}, and {@link TrainingArgs}.
 *
 * <pre>{@code
 * TrainingArgs args = TrainingArgs.builder().outputDir(Path.of("my-model")).epochs(2).learningRate(3e-5).build();
 * TrainingResult result = FineTuning.of("bert-base-uncased", TrainingData.imdb(), args).run();
 * }</pre>
 *
 * <p>The output folder then holds the fine-tuned model ({@link BertClassifier#load} and {@code bert-ft
 * predict} load it), checkpoint-N folders to resume from, trainer_state.json, training_args.json and
 * all_results.json; the logging folder holds log.jsonl and the training chart.
 *
 * <p>Before loading anything a run checks its folders: a folder that is a file or not writable, or an
 * output folder that holds a previous run (unless {@link #overwriteOutputDir} or a resume says what to do
 * with it), fails at once with an {@link IllegalArgumentException} naming the folder. Settings that cannot
 * be were refused when the {@link TrainingArgs} were built.
 *
 * <p>Configure, then call {@link #run} once; {@link #stop()} may be called from any thread.
 */
public final class FineTuning {
    private final String model;
    private final TrainingData data;
    private final TrainingArgs args;
    private String device = "cpu";
    private int threads;
    private Backend backend;
    private HubOptions hub = HubOptions.defaults();
    private String tokenizer;   // null: the model's own
    private boolean ignoreMismatchedSizes;
    private Map<String, String> config = Map.of();
    private Path resumeFrom;
    private boolean resumeLatest;
    private boolean overwriteOutputDir;
    private Precision precision = Precision.FP32;
    private DType saveDtype = DType.F32;
    private volatile Trainer trainer;
    private volatile boolean stopRequested;

    private FineTuning(String model, TrainingData data, TrainingArgs args) {
        this.model = Objects.requireNonNull(model, "model is null");
        this.data = Objects.requireNonNull(data, "training data is null");
        this.args = Objects.requireNonNull(args, "training arguments are null");
    }

    /** A run fine-tuning the model in {@code folder}. */
    public static FineTuning of(Path folder, TrainingData data, TrainingArgs args) {
        return new FineTuning(Objects.requireNonNull(folder, "model folder is null").toString(), data, args);
    }

    /**
     * A run fine-tuning {@code model}: a folder, else a hub id from the Hugging Face cache, else downloaded into
     * it (unless {@link #offline}).
     */
    public static FineTuning of(String model, TrainingData data, TrainingArgs args) {
        return new FineTuning(model, data, args);
    }

    /** "cpu" (the default), "cuda", "cuda:N", or "auto" (the GPU when one is usable, else the CPU). */
    public FineTuning device(String device) {
        this.device = Objects.requireNonNull(device, "device is null");
        return this;
    }

    /** CPU threads; 0 (the default) means one per core. */
    public FineTuning threads(int threads) {
        if (threads < 0) throw new IllegalArgumentException("threads must be >= 0 (0: one per core), got " + threads);
        this.threads = threads;
        return this;
    }

    /** A backend the caller opened, instead of {@link #device}; the caller keeps it. */
    public FineTuning backend(Backend backend) {
        this.backend = Objects.requireNonNull(backend, "backend is null");
        return this;
    }

    /** Never download: the model and the IMDB archive must be in their caches (also HF_HUB_OFFLINE=1). */
    public FineTuning offline(boolean offline) {
        this.hub = hub.withOffline(offline);
        return this;
    }

    /** Where a hub id comes from: the cache folder, the token, the revision, offline (see {@link HubOptions}). */
    public FineTuning hub(HubOptions hub) {
        this.hub = Objects.requireNonNull(hub, "hub options are null");
        return this;
    }

    /**
     * The tokenizer of another folder or hub id (HF's tokenizer_name), for a model folder that has none of its own;
     * the saved model folder and its checkpoints get its files.
     */
    public FineTuning tokenizer(String tokenizer) {
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer is null");
        return this;
    }

    /**
     * Initialise afresh the stored tensors whose shape differs from the model's, as from_pretrained's
     * ignore_mismatched_sizes: a classifier fine-tuned for another number of labels starts again for this data's.
     */
    public FineTuning ignoreMismatchedSizes(boolean ignore) {
        this.ignoreMismatchedSizes = ignore;
        return this;
    }

    /** config.json values to change when loading the model, e.g. {"hidden_dropout_prob": "0"}. */
    public FineTuning config(Map<String, String> overrides) {
        this.config = new LinkedHashMap<>(overrides);
        return this;
    }

    /** Continue the run saved in this checkpoint folder, to the weights an uninterrupted run ends with. */
    public FineTuning resumeFrom(Path checkpoint) {
        this.resumeFrom = Objects.requireNonNull(checkpoint, "checkpoint is null");
        return this;
    }

    /** Continue from the latest complete checkpoint in the output folder. */
    public FineTuning resumeFromLatest() {
        this.resumeLatest = true;
        return this;
    }

    /** Train into an output folder that holds a previous run: its checkpoint-N folders are deleted first, so the runs cannot mix. */
    public FineTuning overwriteOutputDir(boolean overwrite) {
        this.overwriteOutputDir = overwrite;
        return this;
    }

    /**
     * The arithmetic of the products, as HF's bf16/fp16/tf32 arguments (default float32): under BF16 or FP16 every
     * product takes half-precision operands with float32 sums, and FP16 trains with dynamic loss scaling; weights,
     * gradients and optimizer state stay float32. TF32 and IEEE float32 are set on the CUDA backend
     * ({@code CudaBackend.useTf32}); the CPU computes half precision only by emulating it (slowly: for tests).
     */
    public FineTuning precision(Precision precision) {
        this.precision = Objects.requireNonNull(precision, "precision is null");
        return this;
    }

    /** The element type of the final model.safetensors: F32 (the default, as HF), BF16 or F16; checkpoints stay float32. */
    public FineTuning saveDtype(DType dtype) {
        if (dtype != DType.F32 && !dtype.isHalf()) throw new IllegalArgumentException("saved weights must be F32, BF16 or F16, got " + dtype);
        this.saveDtype = dtype;
        return this;
    }

    /** Asks the run to stop after the update in progress; {@link #run} then throws {@link Trainer.StoppedException}. */
    public void stop() {
        stopRequested = true;
        Trainer t = trainer;
        if (t != null) t.requestStop();
    }

    /** {@link #run(Trainer.Listener)} with no listener. */
    public TrainingResult run() throws IOException {
        return run(new Trainer.Listener() {});
    }

    /**
     * Trains, saves the model into the output folder, and evaluates when there is evaluation data.
     * {@code listener} hears each update, each log entry (loss, learning rate, gradient norm, evaluations) and
     * what the run has to say in words (what loading did, what it trains on).
     *
     * @throws IllegalArgumentException  a folder that cannot be used, a checkpoint that is not there, a setting
     *                                   that does not suit the data (a metric of another problem type)
     * @throws IOException               a model, data or checkpoint file that cannot be read (the message names it)
     * @throws Trainer.StoppedException  after {@link #stop()}, once what is on disk is complete
     */
    public TrainingResult run(Trainer.Listener listener) throws IOException {
        Objects.requireNonNull(listener, "listener is null");
        Path out = args.outputDir();
        Path resume = checkFolders();
        Backend compute = backend != null ? backend : openDevice(listener);
        boolean offlineNow = hub.offline() || DataLoader.offlineByEnvironment();
        ModelResolver.ModelAndTokenizer folders = ModelResolver.fromEnvironment(hub).resolveWithTokenizer(model, this.tokenizer);
        Path modelDir = folders.model(), tokenizerDir = folders.tokenizer();
        WordPieceTokenizer tokenizer = WordPieceTokenizer.load(tokenizerDir);
        // config.json's problem_type (with the overrides) reads the labels when the data does not say.
        Dataset dataset = data.load(args.seed(), offlineNow, BertConfig.read(modelDir).set(config).problemType());
        BertForSequenceClassification classifier = load(modelDir, tokenizerDir, compute, dataset, listener);
        classifier.setPrecision(precision);
        int maxLength = Tokenization.maxLength(args.maxLength(), tokenizer, classifier.config().maxPositionEmbeddings());
        List<Batches.Tokenized> train = Tokenization.tokenize(tokenizer, dataset.train(), maxLength);
        List<Batches.Tokenized> eval = Tokenization.tokenize(tokenizer, dataset.eval(), maxLength);
        listener.onMessage(String.format(Locale.ROOT, "training on %d examples, evaluating on %d; max length %d; %s%s; device %s, %s",
                train.size(), eval.size(), maxLength, dataset.problemType().hfName(),
                dataset.problemType() == ProblemType.REGRESSION ? "" : " " + String.join("/", dataset.labelNames()), compute.name(), precision));

        long parameters = classifier.namedParameters().values().stream().mapToLong(p -> p.value().numel()).sum();
        OutputFolders.requireSpace(out, OutputFolders.checkpointBytes(parameters, args.saveStrategy() != TrainingArgs.Strategy.NO));
        if (overwriteOutputDir) Checkpoints.removeAll(out);

        TrainingArgs recorded = args.recorded().isEmpty() ? args.toBuilder().recorded(args.hfValues()).build() : args;
        // auto_find_batch_size: a resumed run goes on with the batch size its checkpoint found, as HF's does
        int batchSize = args.autoFindBatchSize() && resume != null ? Checkpoints.trainBatchSize(resume) : args.batchSize();
        Trainer.Result r;
        while (true) {
            TrainingArgs attempt = batchSize == args.batchSize() ? recorded : recorded.toBuilder().batchSize(batchSize).build();
            Trainer t = new Trainer(classifier, attempt, compute, train, eval, tokenizer.padId(), dataset.labelNames().size(), listener);
            t.saveWeightsAs(saveDtype);
            trainer = t;
            if (stopRequested) t.requestStop();
            try {
                r = t.train(resume);
                break;
            } catch (DeviceOutOfMemoryException | OutOfMemoryError e) {
                if (!args.autoFindBatchSize() || batchSize == 1) throw e;
                int smaller = Math.max(1, (int) (batchSize * 0.9));   // accelerate's find_executable_batch_size
                listener.onMessage("out of memory at batch size " + batchSize + ": training again from the start with " + smaller
                        + " (auto_find_batch_size)");
                batchSize = smaller;
                trainer = null;
                classifier = null;   // the failed attempt's weights and moments may be collected while the next loads
                if (resume == null) Checkpoints.removeAll(out);   // what the failed attempt saved; the folder started empty
                else Checkpoints.removeAfter(out, Checkpoints.step(resume));
                classifier = load(modelDir, tokenizerDir, compute, dataset, listener);
                classifier.setPrecision(precision);
            }
        }
        Map<String, Double> evalMetrics = new LinkedHashMap<>();
        if (r.finalEval() != null) {
            evalMetrics.put("eval_loss", r.finalEval().loss());
            r.finalEval().scores().forEach((name, v) -> evalMetrics.put("eval_" + name, v));
        }
        String best = r.state().bestModelCheckpoint();
        return new TrainingResult(out, r.state().globalStep(), r.stepsRun(), r.state().epoch(), r.trainLoss(), r.trainRuntimeSeconds(),
                r.trainSamples(), evalMetrics, best == null ? null : Path.of(best), r.state().bestMetric());
    }

    /** The folder checks (see the top), before anything loads; returns the checkpoint to resume from, or null. */
    private Path checkFolders() throws IOException {
        Path out = args.outputDir();
        boolean resuming = resumeFrom != null || resumeLatest;
        if (overwriteOutputDir && resuming) {
            throw new IllegalArgumentException("overwriting the output folder and resuming exclude each other: the first deletes"
                    + " the checkpoints the second continues");
        }
        OutputFolders.requireWritable(TrainingArgs.OUTPUT_DIR, out);
        OutputFolders.requireWritable(TrainingArgs.LOGGING_DIR, args.loggingDir());
        if (!resuming && !overwriteOutputDir) {
            OutputFolders.requireEmpty(out, "overwriteOutputDir(true) replaces the run in it, a resume continues it");
        }
        if (resumeLatest) {
            return Checkpoints.latest(out).orElseThrow(() -> new IllegalArgumentException(
                    "no complete checkpoint to resume from in output folder " + out));
        }
        if (resumeFrom != null && !Files.isDirectory(resumeFrom)) {
            throw new IllegalArgumentException("checkpoint " + resumeFrom + " to resume from is not a folder");
        }
        return resumeFrom;
    }

    private Backend openDevice(Trainer.Listener listener) {
        Devices.Resolved r = Devices.resolve(device, threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
        listener.onMessage(r.summary());
        return r.backend();
    }

    /**
     * The pretrained model in {@code dir} with a head for the data's labels and problem type (fresh when the folder has
     * none), saying what loading did; it saves the tokenizer files of {@code tokenizerDir} with its weights.
     */
    private BertForSequenceClassification load(Path dir, Path tokenizerDir, Backend compute, Dataset dataset, Trainer.Listener listener)
            throws IOException {
        List<String> labels = dataset.labelNames();
        Map<Integer, String> id2label = new LinkedHashMap<>();
        for (int i = 0; i < labels.size(); i++) id2label.put(i, labels.get(i));
        // As transformers' from_pretrained(..., problem_type=...): a config value given at load time.
        Map<String, String> overrides = new LinkedHashMap<>(config);
        overrides.put("problem_type", dataset.problemType().hfName());
        BertForSequenceClassification m = BertForSequenceClassification.fromPretrained(dir, compute,
                new BertForSequenceClassification.LoadOptions(labels.size(), id2label, args.seed(), overrides, ignoreMismatchedSizes));
        m.tokenizerFrom(tokenizerDir);
        var report = m.loadReport();
        if (!report.mismatched().isEmpty()) {
            listener.onMessage("initialised afresh, the checkpoint's shape not fitting (ignore_mismatched_sizes): "
                    + String.join("; ", report.mismatched()));
        }
        if (!report.newlyInitialized().isEmpty()) {
            listener.onMessage("newly initialized (train them before use): " + String.join(", ", report.newlyInitialized()));
        }
        if (!report.ignored().isEmpty()) listener.onMessage("not used from the checkpoint: " + String.join(", ", report.ignored()));
        return m;
    }
}
