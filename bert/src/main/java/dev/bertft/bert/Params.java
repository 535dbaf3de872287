package dev.bertft.bert;

import dev.bertft.autograd.Var;
import dev.bertft.nn.Embedding;
import dev.bertft.nn.LayerNorm;
import dev.bertft.nn.Linear;
import dev.bertft.nn.Rng;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;

import java.util.ArrayList;
import java.util.List;

/**
 * Hands each module its parameters while the model is built, by full HF name
 * ({@code bert.encoder.layer.0.attention.self.query.weight}). Where the values come from is the
 * {@link Source}: a checkpoint ({@link CheckpointWeights}) or fresh initialisation ({@link #fresh}).
 * A module asks under the same names its {@code visit} reports, so building and naming agree.
 */
final class Params {

    /** How a parameter is initialised when there is no stored value: as transformers' BertPreTrainedModel._init_weights. */
    enum Init {
        /** Normal(0, initializer_range): Linear and Embedding weights. */
        NORMAL,
        /** Linear biases, LayerNorm β. */
        ZEROS,
        /** LayerNorm γ. */
        ONES
    }

    interface Source {
        Var get(String name, int[] shape, Init init);

        /** A Linear's weight, which only matrix products read: a source may keep it in the products' type. */
        default Var productWeight(String name, int[] shape) {
            return get(name, shape, Init.NORMAL);
        }
    }

    private final Source source;
    private final String prefix;

    Params(Source source) {
        this(source, "");
    }

    private Params(Source source, String prefix) {
        this.source = source;
        this.prefix = prefix;
    }

    /** The parameters under {@code name.}. */
    Params child(String name) {
        return new Params(source, prefix + name + ".");
    }

    /** torch.nn.Linear(in, out): weight [out, in], bias [out]. */
    Linear linear(String name, int in, int out) {
        return new Linear(source.productWeight(prefix + name + ".weight", new int[] {out, in}),
                source.get(prefix + name + ".bias", new int[] {out}, Init.ZEROS));
    }

    /**
     * torch.nn.Linear(in, out) for each of {@code names}, stacked into one Linear of names.size()·out
     * outputs: each part is read or drawn as {@link #linear} does it, in order, and the parts are
     * copied once into the fused weight and bias.
     */
    Linear fusedLinear(List<String> names, int in, int out) {
        List<Linear> parts = new ArrayList<>();
        for (String name : names) parts.add(linear(name, in, out));
        return Linear.stacked(parts);
    }

    Embedding embedding(String name, int count, int dim) {
        return new Embedding(source.get(prefix + name + ".weight", new int[] {count, dim}, Init.NORMAL));
    }

    LayerNorm layerNorm(String name, int size, double eps) {
        return new LayerNorm(source.get(prefix + name + ".weight", new int[] {size}, Init.ONES),
                source.get(prefix + name + ".bias", new int[] {size}, Init.ZEROS), eps);
    }

    /**
     * Every parameter freshly initialised: weights from Normal(0, std) drawn from {@code rng}, one
     * draw per tensor in build order; biases 0, LayerNorm γ 1. (HF also zeroes the padding row of
     * the word embeddings; this initialiser serves tests and new heads, which do not need that.)
     */
    static Source fresh(Backend backend, Rng rng, double std) {
        return (name, shape, init) -> Var.parameter(initial(backend, rng, std, shape, init));
    }

    static dev.bertft.tensor.Tensor initial(Backend backend, Rng rng, double std, int[] shape, Init init) {
        return switch (init) {
            case NORMAL -> backend.normal(DType.F32, shape, 0, std, rng.seed(), rng.next());
            case ZEROS -> backend.zeros(DType.F32, shape);
            case ONES -> backend.full(DType.F32, shape, 1.0);
        };
    }
}
