package dev.bertft.api;

import dev.bertft.autograd.GradMode;
import dev.bertft.bert.BertForSequenceClassification;
import dev.bertft.cuda.Devices;
import dev.bertft.hub.ModelFiles;
import dev.bertft.hub.ModelResolver;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Tensor;
import dev.bertft.tokenizer.EncodeOptions;
import dev.bertft.tokenizer.Encoding;
import dev.bertft.tokenizer.WordPieceTokenizer;
import dev.bertft.classifier.ProblemType;
import dev.bertft.train.Batches;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * A fine-tuned BERT classifier loaded for prediction: texts (or sentence pairs) in, one {@link Prediction}
 * per text out, in order.
 *
 * <pre>{@code
 * try (BertClassifier clf = BertClassifier.load(Path.of("my-model"))) {      // CPU by default
 *     List<Prediction> out = clf.predict(List.of("a great film", "dull and long"));
 * }
 * }</pre>
 *
 * <p>The folder is what {@code bert-ft train} saves (or any Hugging Face BERT classifier folder): config.json,
 * model.safetensors or pytorch_model.bin, vocab.txt. Each list runs in batches of
 * {@link ClassifierOptions#batchSize}, longest texts first and each batch padded to its longest text, so that
 * little of the work goes to padding; the answers come back in the list's order and equal
 * {@code bert-ft predict --batch-size N} on the same texts.
 *
 * <p><b>Threads.</b> Any number of threads may call {@code predict} at once on one classifier. Tokenizing and
 * the softmax run on the callers' threads, in parallel; the forward passes take turns, one batch at a time,
 * under one lock. A lock rather than concurrent forward passes because the CPU backend already spreads one
 * batch over all its threads (two at once would only contend for the cores) and the CUDA backend runs one
 * stream; a lock per batch rather than per call so that a long list does not hold up other callers for
 * longer than one batch. Prediction itself shares no mutable state between calls: the model is put in
 * evaluation mode once, at load, and never changed (no dropout, so its random generator is never drawn
 * from), gradients are off per thread ({@link GradMode}), and each batch frees its tensors in a memory scope
 * of its own thread.
 */
public final class BertClassifier implements AutoCloseable {
    private final Path folder;
    private final BertForSequenceClassification model;
    private final WordPieceTokenizer tokenizer;
    private final Backend backend;
    private final int batchSize;
    private final int maxLength;
    /** Held for each forward pass, and by close. */
    private final Object forwardPass = new Object();
    private volatile boolean closed;

    private BertClassifier(Path folder, BertForSequenceClassification model, WordPieceTokenizer tokenizer, Backend backend,
                           int batchSize, int maxLength) {
        this.folder = folder;
        this.model = model;
        this.tokenizer = tokenizer;
        this.backend = backend;
        this.batchSize = batchSize;
        this.maxLength = maxLength;
    }

    /** The model in {@code folder}, on the CPU with {@link ClassifierOptions#defaults()}. */
    public static BertClassifier load(Path folder) throws IOException {
        return load(folder, ClassifierOptions.defaults());
    }

    /**
     * The model in {@code folder}, run as {@code options} say.
     *
     * @throws FileNotFoundException when the folder does not exist
     * @throws IOException           when it lacks a model file, or config.json, the weights or the vocabulary
     *                               cannot be read (the message names the file and the reason)
     * @throws IllegalArgumentException when the maximum length is more than the model's positions
     * @throws RuntimeException      when a GPU was asked for and none is usable (the message says why)
     */
    public static BertClassifier load(Path folder, ClassifierOptions options) throws IOException {
        Objects.requireNonNull(folder, "model folder is null");
        Objects.requireNonNull(options, "options are null");
        if (!Files.exists(folder)) throw new FileNotFoundException("model folder " + folder + " does not exist");
        if (!Files.isDirectory(folder)) throw new IOException("model folder " + folder + " is a file, not a folder");
        List<String> missing = ModelFiles.missing(folder, ModelFiles.Needs.MODEL);
        if (!missing.isEmpty()) throw new IOException("model folder " + folder + " lacks " + String.join(", ", missing));
        return open(folder, options);
    }

    /** The model with this Hugging Face hub id (like {@code google-bert/bert-base-uncased}), on the CPU. */
    public static BertClassifier fromHub(String modelId) throws IOException {
        return fromHub(modelId, ClassifierOptions.defaults());
    }

    /**
     * The model with this hub id, from the Hugging Face cache (HF_HUB_CACHE, HF_HOME) when it holds it whole,
     * else downloaded into it from HF_ENDPOINT (with HF_TOKEN), unless {@link ClassifierOptions#offline} or
     * HF_HUB_OFFLINE=1 forbid it; {@link ClassifierOptions#hub} may name another cache, token or revision.
     * A local folder's path is accepted too.
     *
     * @throws IOException when the id is malformed, or not cached while offline, or the download fails
     */
    public static BertClassifier fromHub(String modelId, ClassifierOptions options) throws IOException {
        Objects.requireNonNull(modelId, "model id is null");
        Objects.requireNonNull(options, "options are null");
        return open(ModelResolver.fromEnvironment(options.hub()).resolve(modelId, ModelFiles.Needs.MODEL), options);
    }

    private static BertClassifier open(Path folder, ClassifierOptions options) throws IOException {
        Backend backend = options.backend() != null ? options.backend()
                : Devices.resolve(options.device(), options.threads() > 0 ? options.threads() : Runtime.getRuntime().availableProcessors()).backend();
        BertForSequenceClassification model = BertForSequenceClassification.forPrediction(folder, backend,
                BertForSequenceClassification.LoadOptions.seed(0), options.precision());
        WordPieceTokenizer tokenizer = WordPieceTokenizer.load(folder);
        int positions = model.config().maxPositionEmbeddings();
        int maxLength;
        if (options.maxLength() != null) {
            if (options.maxLength() > positions) {
                throw new IllegalArgumentException("maximum length " + options.maxLength() + " is more than the model's "
                        + positions + " positions (max_position_embeddings in " + folder.resolve(ModelFiles.CONFIG) + ")");
            }
            maxLength = options.maxLength();
        } else {
            int fromTokenizer = tokenizer.modelMaxLength();
            maxLength = fromTokenizer > 0 ? Math.min(fromTokenizer, positions) : positions;
        }
        return new BertClassifier(folder, model, tokenizer, backend, options.batchSize(), maxLength);
    }

    /**
     * One prediction per text, in order. An empty text is classified too (as [CLS] [SEP]).
     *
     * @throws NullPointerException  when the list or one of its texts is null (the message gives its index)
     * @throws IllegalStateException after {@link #close()}
     */
    public List<Prediction> predict(List<String> texts) {
        checkTexts(texts, "texts");
        return inBatches(texts, null);
    }

    /**
     * One prediction per sentence pair {@code (first[i], second[i])}, encoded as [CLS] first [SEP] second [SEP]
     * with token type 1 on the second part, as the model was trained on pairs; truncation takes tokens from the
     * longer text first.
     *
     * @throws IllegalArgumentException when the lists differ in length
     * @throws NullPointerException     when a list or a text is null
     */
    public List<Prediction> predict(List<String> first, List<String> second) {
        checkTexts(first, "first texts");
        checkTexts(second, "second texts");
        if (first.size() != second.size()) {
            throw new IllegalArgumentException("sentence pairs need as many second texts as first ones: "
                    + first.size() + " first, " + second.size() + " second");
        }
        return inBatches(first, second);
    }

    /**
     * Texts per length-sorted window: {@link #predict} encodes this many at a time, longest first, before cutting
     * them into batches, so that memory stays bounded however long the list.
     */
    public int window() {
        return WINDOW_BATCHES * batchSize;
    }

    /** Windows of 64 batches: the batches of a window pad almost as little as those of the whole list would. */
    private static final int WINDOW_BATCHES = 64;

    /**
     * The texts (and pairs, when not null) window by window: each window's encodings longest first
     * ({@link Batches#longestFirst}), cut into batches of batchSize, the answers put back in the callers' order.
     */
    private List<Prediction> inBatches(List<String> first, List<String> second) {
        Prediction[] out = new Prediction[first.size()];
        for (int start = 0; start < first.size(); start += window()) {
            int end = Math.min(first.size(), start + window());
            List<Encoding> enc = tokenizer.encodeBatch(first.subList(start, end), second == null ? null : second.subList(start, end),
                    EncodeOptions.of(maxLength));
            int[] lengths = enc.stream().mapToInt(Encoding::length).toArray();
            // each batch's logits are read once the next batch is queued, so the device goes on meanwhile
            QueuedBatch queued = null;
            for (int[] batch : Batches.split(Batches.longestFirst(lengths), batchSize)) {
                QueuedBatch next = queueBatch(batch, enc, start);
                if (queued != null) queued.answerInto(out);
                queued = next;
            }
            if (queued != null) queued.answerInto(out);
        }
        return Arrays.asList(out);
    }
    private static void checkTexts(List<String> texts, String what) {
        if (texts == null) throw new NullPointerException(what + " are null");
        for (int i = 0; i < texts.size(); i++) {
            if (texts.get(i) == null) throw new NullPointerException(what + ": text " + i + " is null");
        }
    }

    /** The encodings {@code batch} picks, padded to their longest, through the model: queued, their logits read later. */
    private QueuedBatch queueBatch(int[] batch, List<Encoding> encodings, int first) {
        int b = batch.length, t = 0;
        for (int i : batch) t = Math.max(t, encodings.get(i).length());
        int[] ids = new int[b * t], types = new int[b * t], mask = new int[b * t];
        for (int r = 0; r < b; r++) {
            Encoding e = encodings.get(batch[r]).padTo(t, tokenizer.padId());
            System.arraycopy(e.ids(), 0, ids, r * t, t);
            System.arraycopy(e.typeIds(), 0, types, r * t, t);
            System.arraycopy(e.attentionMask(), 0, mask, r * t, t);
        }
        synchronized (forwardPass) {
            if (closed) throw new IllegalStateException("this classifier of " + folder + " is closed");
            try (GradMode off = GradMode.off(); Backend.Scope scope = backend.openScope()) {
                return new QueuedBatch(batch, first, model.predictLogits(Tensor.of(backend, ids, b, t), Tensor.of(backend, types, b, t),
                        Tensor.of(backend, mask, b, t)).toFloatArrayLater());
            }
        }
    }

    /** A batch on its way through the model: the texts it holds (from {@code first} of all), and its logits, read later. */
    private final class QueuedBatch {
        private final int[] texts;
        private final int first;
        private final Supplier<float[]> logits;

        QueuedBatch(int[] texts, int first, Supplier<float[]> logits) {
            this.texts = texts;
            this.first = first;
            this.logits = logits;
        }

        /** Waits for the logits and puts each text's prediction at its place in {@code out}. */
        void answerInto(Prediction[] out) {
            float[] all = logits.get();
            int c = all.length / texts.length;
            for (int i = 0; i < texts.length; i++) {
                out[first + texts[i]] = Prediction.ofLogits(model.problemType(), all, i * c, model.config().id2label());
            }
        }
    }

    /** How the model's outputs are read: config.json's problem_type, else transformers' guess from the number of labels. */
    public ProblemType problemType() {
        return model.problemType();
    }

    /** The label names by id, from config.json's id2label: what {@link Prediction#probabilities()} is indexed by. */
    public List<String> labels() {
        return List.copyOf(model.config().id2label().values());
    }

    /**
     * The classifier's weights the folder lacked, drawn at random instead (seed 0): empty for a fine-tuned
     * folder; otherwise its predictions mean nothing (a pretrained encoder without a trained head, say).
     */
    public List<String> untrainedWeights() {
        return model.loadReport().newlyInitialized();
    }

    /** The folder the model was loaded from (the cache snapshot for a hub id). */
    public Path folder() {
        return folder;
    }

    /** Where the model runs: "cpu", "cuda:0", ... */
    public String device() {
        return backend.name();
    }

    /** Texts per forward pass. */
    public int batchSize() {
        return batchSize;
    }

    /** Tokens per text or pair, [CLS] and [SEP] included; longer inputs are truncated to this. */
    public int maxLength() {
        return maxLength;
    }

    /**
     * Ends this classifier's use: a batch in flight finishes, later {@code predict} calls throw
     * {@link IllegalStateException}. The weights are freed with the classifier once nothing refers to it; a
     * backend passed in {@link ClassifierOptions#backend} stays open for its owner.
     */
    @Override
    public void close() {
        synchronized (forwardPass) {
            closed = true;
        }
    }
}
