package dev.bertft.api;

import dev.bertft.autograd.Precision;
import dev.bertft.hub.HubOptions;
import dev.bertft.tensor.Backend;

import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * How a {@link BertClassifier} runs: on which device, with how many CPU threads, how many texts per forward
 * pass, how many tokens per text, and whether a hub id may be downloaded. Immutable; each setter returns a
 * changed copy, so a shared instance is safe:
 * {@code ClassifierOptions.defaults().device("auto").batchSize(16).maxLength(128)}.
 */
public final class ClassifierOptions {
    private static final Pattern DEVICE = Pattern.compile("cpu|auto|cuda(:\\d+)?");

    private final String device;
    private final int threads;
    private final int batchSize;
    private final Integer maxLength;
    private final HubOptions hub;
    private final Backend backend;
    private final Precision precision;

    private ClassifierOptions(String device, int threads, int batchSize, Integer maxLength, HubOptions hub, Backend backend,
                              Precision precision) {
        this.device = device;
        this.threads = threads;
        this.batchSize = batchSize;
        this.maxLength = maxLength;
        this.hub = hub;
        this.backend = backend;
        this.precision = precision;
    }

    /** The CPU with one thread per core, 32 texts per forward pass, the tokenizer's maximum length, downloads allowed. */
    public static ClassifierOptions defaults() {
        return new ClassifierOptions("cpu", 0, 32, null, HubOptions.defaults(), null, Precision.FP32);
    }

    /**
     * Where to compute: "cpu", "cuda" (the first GPU), "cuda:N", or "auto" (the first GPU when one is usable,
     * else the CPU). "cuda" never falls back to the CPU: loading fails with the reason instead.
     */
    public ClassifierOptions device(String device) {
        Objects.requireNonNull(device, "device is null");
        String d = device.trim().toLowerCase(Locale.ROOT);
        if (!DEVICE.matcher(d).matches()) {
            throw new IllegalArgumentException("device must be cpu, cuda, cuda:N or auto, got '" + device + "'");
        }
        return new ClassifierOptions(d, threads, batchSize, maxLength, hub, backend, precision);
    }

    /** CPU threads for one forward pass; 0 means one per core. */
    public ClassifierOptions threads(int threads) {
        if (threads < 0) throw new IllegalArgumentException("threads must be >= 0 (0: one per core), got " + threads);
        return new ClassifierOptions(device, threads, batchSize, maxLength, hub, backend, precision);
    }

    /** Texts per forward pass: longer lists are split into batches of this many, each padded to its longest text. */
    public ClassifierOptions batchSize(int batchSize) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
        return new ClassifierOptions(device, threads, batchSize, maxLength, hub, backend, precision);
    }

    /**
     * Tokens per text (or pair), [CLS] and [SEP] included; longer inputs are truncated. At most the model's
     * max_position_embeddings, checked when the model is loaded. Unset: the tokenizer's model_max_length,
     * capped at max_position_embeddings.
     */
    public ClassifierOptions maxLength(int maxLength) {
        if (maxLength < 2) throw new IllegalArgumentException("maximum length must be at least 2 tokens ([CLS] and [SEP]), got " + maxLength);
        return new ClassifierOptions(device, threads, batchSize, maxLength, hub, backend, precision);
    }

    /** Never download a hub id: use the Hugging Face cache only (as HF_HUB_OFFLINE=1 does). */
    public ClassifierOptions offline(boolean offline) {
        return hub(hub.withOffline(offline));
    }

    /** Where a hub id comes from: the cache folder, the token, the revision, offline (see {@link HubOptions}). */
    public ClassifierOptions hub(HubOptions hub) {
        return new ClassifierOptions(device, threads, batchSize, maxLength, Objects.requireNonNull(hub, "hub options are null"), backend,
                precision);
    }

    /**
     * A backend the caller opened, for several models on one GPU; it replaces {@link #device} and
     * {@link #threads}. The caller keeps it: closing the classifier leaves it open.
     */
    public ClassifierOptions backend(Backend backend) {
        return new ClassifierOptions(device, threads, batchSize, maxLength, hub, Objects.requireNonNull(backend, "backend is null"), precision);
    }

    /** The forward pass's precision: {@link Precision#BF16} or {@link Precision#FP16} autocast its products (a GPU's). Default FP32. */
    public ClassifierOptions precision(Precision precision) {
        return new ClassifierOptions(device, threads, batchSize, maxLength, hub, backend, Objects.requireNonNull(precision, "precision is null"));
    }

    /** "cpu", "cuda", "cuda:N" or "auto". */
    public String device() {
        return device;
    }

    /** CPU threads; 0 means one per core. */
    public int threads() {
        return threads;
    }

    /** Texts per forward pass. */
    public int batchSize() {
        return batchSize;
    }

    /** Tokens per text, or null for the tokenizer's own maximum. */
    public Integer maxLength() {
        return maxLength;
    }

    /** Whether hub ids are looked up in the cache only. */
    public boolean offline() {
        return hub.offline();
    }

    /** How hub ids are looked up. */
    public HubOptions hub() {
        return hub;
    }

    /** The caller's backend, or null when {@link #device} chooses one. */
    public Backend backend() {
        return backend;
    }

    public Precision precision() {
        return precision;
    }
}
