package dev.bertft.bert;

import dev.bertft.autograd.Autocast;
import dev.bertft.autograd.GradMode;
import dev.bertft.autograd.Precision;
import dev.bertft.autograd.Var;
import dev.bertft.classifier.Batch;
import dev.bertft.classifier.ProblemType;
import dev.bertft.classifier.SequenceClassifier;
import dev.bertft.io.AtomicFiles;
import dev.bertft.nn.Dropout;
import dev.bertft.nn.Linear;
import dev.bertft.nn.Module;
import dev.bertft.nn.Rng;
import dev.bertft.pytorch.TorchCheckpoint;
import dev.bertft.safetensors.SafetensorsFile;
import dev.bertft.safetensors.SafetensorsWriter;
import dev.bertft.safetensors.ShardedSafetensors;
import dev.bertft.safetensors.TensorReader;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * BERT with a classification head, as transformers' BertForSequenceClassification:
 * logits = classifier(dropout(pooler(bert(ids)))), the loss that of config.json's problem_type
 * ({@link ProblemType#loss}).
 * Parameter names are the checkpoint's: {@code bert.embeddings.word_embeddings.weight}, ...,
 * {@code classifier.weight} [num_labels, H].
 *
 * <p>All dropout modules draw their masks from one {@link Rng} ({@link #rng()}); a trainer saves
 * its offset in a checkpoint and restores it with {@code rng().seek(offset)}. Fresh weights
 * (a missing pooler or classifier) are drawn from the same stream first, at load time.
 */
public final class BertForSequenceClassification implements Module, SequenceClassifier {
    /** Tokenizer files copied along by {@link #save}, when the tokenizer's folder has them. */
    public static final List<String> TOKENIZER_FILES =
            List.of("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json");

    final BertModel bert;
    final Dropout dropout;
    final Linear classifier;  // [C, H]
    private final BertConfig config;
    private final Rng rng;
    private boolean training = true; // as its Dropout modules start
    private final LoadReport loadReport;
    private Path tokenizerDir;   // where save() copies the tokenizer files from: the folder loaded, unless told otherwise
    private Precision precision = Precision.FP32;
    /** The half type of Linear weights kept as a checkpoint stored them ({@link #forPrediction}), or null. */
    private DType heldWeights;
    /** Set by {@link #holdForPrediction}: the backend may keep packed copies of the Linear weights, so they must not change. */
    private boolean predictsOnly;
    /** Set where {@link #holdForPrediction} rounded float32 Linear weights to {@link #heldWeights}: saving them would lose bits. */
    private boolean roundedWeights;
    /** config.json's torch_dtype for each type the weights are saved in. */
    private static final Map<DType, String> TORCH_DTYPES = Map.of(DType.F32, "float32", DType.BF16, "bfloat16", DType.F16, "float16");

    /**
     * How to load: numLabels (null = from config.json) or explicit id2label (null = from
     * config.json or numLabels), the seed of the model's random stream, config overrides
     * applied as {@link BertConfig#set} in order, and ignoreMismatchedSizes, as from_pretrained's: a
     * stored tensor whose shape differs from the model's (a classifier trained for another number of
     * labels) is initialised afresh, not an error.
     */
    public record LoadOptions(Integer numLabels, Map<Integer, String> id2label, long seed, Map<String, String> configOverrides,
                              boolean ignoreMismatchedSizes) {
        public LoadOptions {
            configOverrides = configOverrides == null ? Map.of() : configOverrides;
        }

        public LoadOptions(Integer numLabels, Map<Integer, String> id2label, long seed, Map<String, String> configOverrides) {
            this(numLabels, id2label, seed, configOverrides, false);
        }

        public static LoadOptions seed(long seed) {
            return new LoadOptions(null, null, seed, Map.of());
        }
    }

    /**
     * What loading did: parameters initialised afresh (those of {@code mismatched} among them), checkpoint tensors
     * left unused, and the stored tensors whose shape did not fit, each as "name: [stored] in the checkpoint, [model's]
     * in the model".
     */
    public record LoadReport(List<String> newlyInitialized, List<String> ignored, List<String> mismatched) {
        public LoadReport {
            newlyInitialized = List.copyOf(newlyInitialized);
            ignored = List.copyOf(ignored);
            mismatched = List.copyOf(mismatched);
        }
    }

    private BertForSequenceClassification(BertConfig config, Params.Source source, Rng rng, Path sourceDir,
                                          java.util.function.Supplier<LoadReport> report) {
        ProblemType problem = config.resolvedProblemType();
        if (problem == ProblemType.REGRESSION ? config.numLabels() != 1 : config.numLabels() < 2) {
            throw new IllegalArgumentException("num_labels " + config.numLabels() + " does not suit problem_type " + problem.hfName()
                    + " (regression has 1 label: bert-ft's data has one score per example; classification at least 2)");
        }
        this.config = config;
        this.rng = rng;
        this.tokenizerDir = sourceDir;
        Params p = new Params(source);
        bert = new BertModel(config, p.child("bert"), rng);
        dropout = new Dropout(config.effectiveClassifierDropout(), rng);
        classifier = p.linear("classifier", config.hiddenSize(), config.numLabels());
        loadReport = report.get();
    }

    /** A model with every weight freshly drawn from Normal(0, initializer_range), for tests and training from scratch. */
    public static BertForSequenceClassification init(BertConfig config, Backend backend, long seed) {
        Rng rng = new Rng(seed);
        return new BertForSequenceClassification(config, Params.fresh(backend, rng, config.initializerRange()), rng, null,
                () -> new LoadReport(List.of(), List.of(), List.of()));
    }

    /**
     * Loads a Hugging Face model folder: config.json plus model.safetensors, a sharded
     * model.safetensors.index.json or a PyTorch pytorch_model.bin, in that order of preference.
     * See {@link CheckpointWeights} for how names are matched.
     */
    public static BertForSequenceClassification fromPretrained(Path dir, Backend backend, LoadOptions opts) throws IOException {
        return load(dir, backend, opts, null);
    }

    /**
     * {@link #fromPretrained} for prediction at {@code precision}, in eval mode. Under BF16/FP16 autocast
     * the Linear weights a checkpoint stores in the products' type stay in it, not widened: the products
     * read them as they are (half the memory, no cast per pass), while LayerNorm, biases and embeddings
     * are float32 as autocast wants them. A model holding such weights predicts only: it refuses train
     * mode and any other precision.
     */
    public static BertForSequenceClassification forPrediction(Path dir, Backend backend, LoadOptions opts, Precision precision)
            throws IOException {
        BertForSequenceClassification m = load(dir, backend, opts, precision.autocast());
        m.setTraining(false);
        for (Var p : m.namedParameters().values()) if (p.value().dtype().isHalf()) m.heldWeights = p.value().dtype();
        m.setPrecision(precision);
        m.holdForPrediction();
        return m;
    }

    /** {@code products}: the type whose stored Linear weights are kept as they are (null: all widened to float32). */
    private static BertForSequenceClassification load(Path dir, Backend backend, LoadOptions opts, DType products) throws IOException {
        if (!Files.isDirectory(dir)) throw new NoSuchFileException(dir.toString(), null, "model folder not found");
        BertConfig config = BertConfig.read(dir.resolve("config.json")).set(opts.configOverrides());
        if (opts.id2label() != null) {
            if (opts.numLabels() != null && opts.numLabels() != opts.id2label().size()) {
                throw new IllegalArgumentException("numLabels " + opts.numLabels() + " disagrees with id2label " + opts.id2label());
            }
            config = config.withLabels(opts.id2label());
        } else if (opts.numLabels() != null && opts.numLabels() != config.numLabels()) {
            config = config.withLabels(BertConfig.defaultLabels(opts.numLabels()));
        }
        Rng rng = new Rng(opts.seed());
        try (TensorReader reader = openWeights(dir)) {
            CheckpointWeights weights = new CheckpointWeights(reader, reader.source(), backend, rng, config.initializerRange(), true,
                    products, opts.ignoreMismatchedSizes());
            return new BertForSequenceClassification(config, weights, rng, dir,
                    () -> new LoadReport(weights.newlyInitialized(), weights.ignored(), weights.mismatched()));
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /**
     * Replaces every parameter with the one saved in {@code dir} (a checkpoint written by
     * {@link #save}, or any folder with the same weights): all must be there, with the same shapes.
     */
    @Override
    public void loadWeights(Path dir) throws IOException {
        Map<String, Var> params = namedParameters();
        Backend backend = classifier.weight.backend();
        try (TensorReader reader = openWeights(dir)) {
            CheckpointWeights weights = new CheckpointWeights(reader, reader.source(), backend, rng, config.initializerRange(), false);
            // Read everything before replacing anything, so a bad file leaves the model as it was.
            Map<String, Tensor> loaded = new java.util.LinkedHashMap<>();
            for (Map.Entry<String, Var> e : params.entrySet()) {
                loaded.put(e.getKey(), weights.get(e.getKey(), e.getValue().shape(), Params.Init.ZEROS).value());
            }
            loaded.forEach((name, t) -> params.get(name).setValue(t));
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /** Continues the dropout stream from a checkpointed {@code rng().offset()}. */
    @Override
    public void restoreRng(long offset) {
        rng.seek(offset);
    }

    /** The weights file transformers would pick: safetensors (single, then sharded) before pytorch_model.bin. */
    private static TensorReader openWeights(Path dir) throws IOException {
        Path single = dir.resolve("model.safetensors");
        if (Files.exists(single)) return SafetensorsFile.open(single);
        if (Files.exists(dir.resolve(ShardedSafetensors.INDEX_FILE_NAME))) return ShardedSafetensors.open(dir);
        Path pytorch = dir.resolve(TorchCheckpoint.HF_FILE_NAME);
        if (Files.exists(pytorch)) return TorchCheckpoint.open(pytorch);
        throw new NoSuchFileException(dir.toString(), null, "no model.safetensors, " + ShardedSafetensors.INDEX_FILE_NAME
                + " or " + TorchCheckpoint.HF_FILE_NAME);
    }

    // ---- forward ----------------------------------------------------------------------------

    /**
     * inputIds, tokenTypeIds: I32 [B, T] (token types may be null: all 0); attentionMask: I32 or
     * F32 [B, T], 1 = keep, 0 = padding (null: keep all) → logits [B, C].
     */
    public Var logits(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask) {
        try (Autocast products = Autocast.to(precision.autocast())) {
            // castAll's casts live as long as the step; a run that recomputes its layers to save memory casts each where it is read
            if (!bert.encoder.gradientCheckpointing) products.castAll(Linear.parametersUnder(this));
            Var pooled = bert.pooled(inputIds, tokenTypeIds, attentionMask);  // [B, H]
            return classifier.forward(dropout.forward(pooled));                           // [B, C]
        }
    }

    /**
     * Prediction's logits [B, C] of a batch (eval mode, no gradients), as {@link #logits(Tensor,
     * Tensor, Tensor)} computes them; the backend may capture the forward pass as a graph per batch
     * shape and replay it ({@link Backend#runStep}). The key holds the weights' identities: loaded
     * weights are new tensors, which a graph captured before would not read.
     */
    public Tensor predictLogits(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask) {
        if (training) throw new IllegalStateException("predictLogits runs in eval mode: setTraining(false) first");
        long weights = 1;
        for (Var p : trainableParameters().values()) weights = 31 * weights + System.identityHashCode(p.value());
        String key = "predict@" + System.identityHashCode(this) + "#" + weights + " " + Arrays.toString(inputIds.shape())
                + attentionMask.dtype() + precision;
        try (GradMode off = GradMode.off()) {
            return inputIds.backend().runStep(key, List.of(inputIds, tokenTypeIds, attentionMask), new Backend.StepValues(rng.offset(), 0, 0),
                    in -> logits(in.get(0), in.get(1), in.get(2)).value()).output();
        }
    }

    /** The Trainer's entry point: {@link #logits(Tensor, Tensor, Tensor)} of a padded batch. */
    @Override
    public Var logits(Batch batch) {
        return logits(batch.inputIds(), batch.typeIds(), batch.attentionMask());
    }

    @Override
    public ProblemType problemType() {
        return config.resolvedProblemType();
    }

    // ---- state ------------------------------------------------------------------------------

    /** The precision the forward pass runs in: BF16 and FP16 autocast its matrix products. */
    @Override
    public Precision precision() {
        return precision;
    }

    public void setPrecision(Precision precision) {
        java.util.Objects.requireNonNull(precision, "precision");
        if (heldWeights != null && precision.autocast() != heldWeights) {
            throw new IllegalStateException("weights loaded in " + heldWeights + " for prediction at that precision only, not " + precision);
        }
        this.precision = precision;
    }

    public BertModel bert() {
        return bert;
    }

    public BertConfig config() {
        return config;
    }

    /** The random stream every dropout mask (and any fresh weight) is drawn from. */
    @Override
    public Rng rng() {
        return rng;
    }

    public LoadReport loadReport() {
        return loadReport;
    }

    @Override
    public Map<String, Var> namedParameters() {
        return Module.namedParameters(this);
    }

    /**
     * Eval mode from now on, with the Linear weights held for prediction ({@link Linear#holdForPrediction}):
     * the CPU backend keeps each float32 one packed for its products, a second copy of it (bert-base:
     * 340 MB), which spares the repacking on every call that small batches paid. Under autocast the
     * Linear weights are kept in the products' type instead ({@link Linear#keepWeightsAs}), as a
     * checkpoint saved in it loads ({@link #forPrediction}): the same logits, no cast of them per pass,
     * half their memory (bert-base: 170 MB less). Train mode, and any other precision, are then refused.
     */
    public void holdForPrediction() {
        setTraining(false);
        DType half = precision.autocast();
        if (half == null) {
            Linear.holdForPrediction(this);
        } else if (heldWeights == null) {
            Linear.keepWeightsAs(this, half);
            heldWeights = half;
            roundedWeights = true;
        }
        predictsOnly = true;
    }

    /** Train mode (dropout on) or eval mode for the whole model. */
    @Override
    public void setTraining(boolean training) {
        if (training && heldWeights != null) throw new IllegalStateException("weights loaded in " + heldWeights + " for prediction only");
        if (training && predictsOnly) throw new IllegalStateException("weights held for prediction only");
        this.training = training;
        Module.train(bert, training);
        Module.train(dropout, training);
    }

    @Override
    public void setGradientCheckpointing(boolean on) {
        bert.encoder.gradientCheckpointing = on;
    }

    @Override
    public void visit(Visitor v) {
        v.child("bert", bert);
        v.child("dropout", dropout);
        v.child("classifier", classifier);
    }

    // ---- saving -----------------------------------------------------------------------------

    /** The folder whose tokenizer files {@link #save} writes beside the weights (HF's tokenizer_name), instead of the model's own. */
    public void tokenizerFrom(Path dir) {
        this.tokenizerDir = Objects.requireNonNull(dir, "tokenizer folder is null");
    }

    /**
     * Writes a folder transformers can load: config.json (architectures
     * ["BertForSequenceClassification"], id2label, label2id), model.safetensors (F32, this model's
     * parameter names, LayerNorm as weight/bias) and the tokenizer files ({@link #TOKENIZER_FILES}) of
     * the folder it was loaded from, or of {@link #tokenizerFrom}'s, where it has them.
     *
     * <p>A new folder is assembled next to {@code dir} and renamed into place, so it appears
     * complete or not at all. An existing folder has each file replaced atomically, weights first
     * and config.json last.
     */
    @Override
    public void save(Path dir) throws IOException {
        save(dir, DType.F32);
    }

    /**
     * {@link #save(Path)} with the weights rounded to {@code weights} (F32, BF16 or F16), as
     * {@code save_pretrained} writes a model cast with {@code .to(dtype)}; config.json's
     * {@code torch_dtype} names it. The model in memory keeps its float32 weights.
     */
    @Override
    public void save(Path dir, DType weights) throws IOException {
        if (weights != DType.F32 && !weights.isHalf()) throw new IllegalArgumentException("weights are saved as F32, BF16 or F16, not " + weights);
        if (roundedWeights) {
            throw new IllegalStateException("the Linear weights were rounded to " + heldWeights + " for prediction; save from a model loaded with its float32 weights");
        }
        Path target = dir.toAbsolutePath();
        if (Files.exists(target)) {
            writeFiles(target, weights);
            return;
        }
        Files.createDirectories(target.getParent());
        Path staging = AtomicFiles.temporarySibling(target);
        try {
            Files.createDirectory(staging);
            writeFiles(staging, weights);
            AtomicFiles.rename(staging, target);
        } finally {
            AtomicFiles.deleteTree(staging);
        }
    }

    private void writeFiles(Path dir, DType dtype) throws IOException {
        SafetensorsWriter weights = new SafetensorsWriter();
        for (Map.Entry<String, Var> e : namedParameters().entrySet()) {
            Tensor t = e.getValue().value();
            long[] shape = Arrays.stream(t.shape()).asLongStream().toArray();
            if (dtype == DType.F32) weights.add(e.getKey(), shape, t.toFloatArray());
            else weights.add(e.getKey(), dtype, shape, (short[]) t.cast(dtype).toHost());
        }
        weights.write(dir.resolve("model.safetensors"));
        if (tokenizerDir != null && !Files.isSameFile(tokenizerDir, dir)) {
            for (String name : TOKENIZER_FILES) {
                Path from = tokenizerDir.resolve(name);
                if (!Files.exists(from)) continue;
                AtomicFiles.copy(from, dir.resolve(name));
            }
        }
        config.withArchitectures(List.of("BertForSequenceClassification")).write(dir.resolve("config.json"), TORCH_DTYPES.get(dtype));
    }
}
