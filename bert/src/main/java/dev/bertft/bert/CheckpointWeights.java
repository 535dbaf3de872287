package dev.bertft.bert;

import dev.bertft.autograd.Var;
import dev.bertft.nn.Rng;
import dev.bertft.safetensors.StoredType;
import dev.bertft.safetensors.TensorInfo;
import dev.bertft.safetensors.TensorReader;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Parameters read from a Hugging Face checkpoint, matched by name the way transformers does it:
 * a model name {@code bert.X} is also found as {@code X} (a bare BertModel checkpoint such as
 * all-MiniLM-L6-v2), and {@code LayerNorm.weight}/{@code LayerNorm.bias} also as the legacy
 * {@code LayerNorm.gamma}/{@code LayerNorm.beta} (bert-base-uncased). Only the heads a pretrained
 * encoder lacks — the pooler and the classifier — may be missing; they are initialised as HF does
 * and listed. Checkpoint tensors the model does not use (cls.*, embeddings.position_ids) are
 * listed as ignored. With ignoreMismatchedSizes a stored tensor of another shape is initialised afresh
 * as transformers does it, and listed. Loaded for prediction under autocast, the Linear weights stored in the products'
 * BF16/F16 stay so ({@link #productWeight}); everything else is widened to float32.
 */
final class CheckpointWeights implements Params.Source {
    private final TensorReader reader;
    private final Path where;
    private final Backend backend;
    private final Rng rng;
    private final double initStd;
    private final boolean allowNewHeads;
    /** The products' operand type whose stored Linear weights are kept as they are, or null to widen all. */
    private final DType products;
    private final boolean ignoreMismatchedSizes;
    private final Set<String> used = new LinkedHashSet<>();
    private final List<String> newlyInitialized = new ArrayList<>();
    private final List<String> mismatched = new ArrayList<>();

    /** allowNewHeads: initialise a missing pooler or classifier (loading a pretrained encoder) rather than fail. */
    CheckpointWeights(TensorReader reader, Path where, Backend backend, Rng rng, double initStd, boolean allowNewHeads) {
        this(reader, where, backend, rng, initStd, allowNewHeads, null, false);
    }

    /**
     * {@code products} (BF16, F16 or null): Linear weights stored in that type are read without widening;
     * {@code ignoreMismatchedSizes}: a stored tensor of another shape is initialised afresh instead of failing.
     */
    CheckpointWeights(TensorReader reader, Path where, Backend backend, Rng rng, double initStd, boolean allowNewHeads, DType products,
                      boolean ignoreMismatchedSizes) {
        this.reader = reader;
        this.products = products;
        this.ignoreMismatchedSizes = ignoreMismatchedSizes;
        this.allowNewHeads = allowNewHeads;
        this.where = where;
        this.backend = backend;
        this.rng = rng;
        this.initStd = initStd;
    }

    /** Names the model may lack in a pretrained checkpoint: the heads a task adds on top of the encoder. */
    static boolean isHead(String name) {
        return name.startsWith("bert.pooler.") || name.startsWith("classifier.");
    }

    @Override
    public Var get(String name, int[] shape, Params.Init init) {
        return find(name, shape, init, null);
    }

    @Override
    public Var productWeight(String name, int[] shape) {
        return find(name, shape, Params.Init.NORMAL, products);
    }

    /**
     * The stored tensor for {@code name}, kept in {@code keep} when stored in it (else float32); or, initialised
     * afresh, a missing head's or (with ignoreMismatchedSizes) one stored in another shape.
     */
    private Var find(String name, int[] shape, Params.Init init, DType keep) {
        List<String> candidates = candidates(name);
        String stored = candidates.stream().filter(reader::contains).findFirst().orElse(null);
        if (stored != null) {
            used.add(stored);
            TensorInfo info = info(stored);
            long[] have = info.shape(), want = Arrays.stream(shape).asLongStream().toArray();
            if (Arrays.equals(have, want)) return Var.parameter(read(stored, info, shape, keep));
            if (!ignoreMismatchedSizes) {
                throw new IllegalArgumentException(where + ": tensor " + stored + " has shape " + Arrays.toString(have) + " but the model's "
                        + name + " needs " + Arrays.toString(want) + " (does config.json match the weights?"
                        + (isHead(name) ? " A classifier trained for another number of labels is initialised afresh with"
                        + " ignore_mismatched_sizes, as in transformers)" : ")"));
            }
            mismatched.add(name + ": " + Arrays.toString(have) + " in the checkpoint, " + Arrays.toString(want) + " in the model");
        } else if (!allowNewHeads || !isHead(name)) {
            throw new IllegalArgumentException(where + ": missing weight " + name + " (looked for " + String.join(", ", candidates) + ")");
        }
        newlyInitialized.add(name);
        return Var.parameter(Params.initial(backend, rng, initStd, shape, init));
    }

    private TensorInfo info(String stored) {
        try {
            return reader.info(stored);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Tensor read(String stored, TensorInfo info, int[] shape, DType keep) {
        try {
            if (keep != null && info.dtype() == StoredType.of(keep)) return backend.fromHost(reader.readHalf(stored), keep, shape);
            return backend.fromHost(reader.readF32(stored), DType.F32, shape);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The stored names that may hold model parameter {@code name}, most specific first. */
    static List<String> candidates(String name) {
        List<String> bases = new ArrayList<>(List.of(name));
        if (name.startsWith("bert.")) bases.add(name.substring("bert.".length()));
        List<String> out = new ArrayList<>(bases);
        for (String b : bases) {
            if (b.endsWith("LayerNorm.weight")) out.add(b.substring(0, b.length() - "weight".length()) + "gamma");
            if (b.endsWith("LayerNorm.bias")) out.add(b.substring(0, b.length() - "bias".length()) + "beta");
        }
        return out;
    }

    List<String> newlyInitialized() {
        return List.copyOf(newlyInitialized);
    }

    List<String> mismatched() {
        return List.copyOf(mismatched);
    }

    /** Stored tensors no parameter was read from, in file order. */
    List<String> ignored() {
        List<String> out = new ArrayList<>();
        for (String n : reader.names()) if (!used.contains(n)) out.add(n);
        return out;
    }
}
