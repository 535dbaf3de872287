package dev.bertft.nn;

import dev.bertft.autograd.Var;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/** y = x·Wᵀ + b, with W stored [out, in] as in torch.nn.Linear and HF checkpoints. */
public final class Linear implements Module {
    public final Var weight;
    public final Var bias;

    public Linear(Var weight, Var bias) {
        this.weight = weight;
        this.bias = bias;
    }

    /** W ~ Normal(0, std), b = 0: the initialisation BERT uses for new heads. */
    public static Linear init(Backend backend, DType dtype, int in, int out, double std, Rng rng) {
        return new Linear(Var.parameter(backend.normal(dtype, new int[] {out, in}, 0, std, rng.seed(), rng.next())),
                Var.parameter(backend.zeros(dtype, out)));
    }

    /** One Linear computing all of {@code parts}' outputs in their order: their weights' rows and biases copied into new parameters. */
    public static Linear stacked(List<Linear> parts) {
        List<Tensor> weights = new ArrayList<>(), biases = new ArrayList<>();
        for (Linear p : parts) {
            weights.add(p.weight.value());
            if (p.bias != null) biases.add(p.bias.value());
        }
        if (!biases.isEmpty() && biases.size() != parts.size()) throw new IllegalArgumentException("stacked: some parts have no bias");
        return new Linear(Var.parameter(Tensor.concat(weights, 0)), biases.isEmpty() ? null : Var.parameter(Tensor.concat(biases, 0)));
    }

    /** Outputs {@code first .. first + count} of this layer as a Linear of their own, on {@link Var#rows} views of its parameters. */
    public Linear rows(int first, int count) {
        return new Linear(Var.rows(weight, first, count), bias == null ? null : Var.rows(bias, first, count));
    }

    public Var forward(Var x) {
        return x.linear(weight, bias);
    }

    /** {@link #forward} for a result only products read: under autocast it is kept in their BF16/F16 alone ({@link Var#linearOperand}). */
    public Var forwardOperand(Var x) {
        return x.linearOperand(weight, bias);
    }

    /** GELU(x·Wᵀ + b) (exact erf GELU) as one op; without a bias, the two ops. */
    public Var forwardGelu(Var x) {
        return bias == null ? x.linear(weight, null).gelu() : x.linearGelu(weight, bias);
    }

    /**
     * Promises the backend that the weight of every Linear under {@code root} never changes again (a
     * model that only predicts), so that it may keep them in its products' layout. A fused Linear is
     * held as the one Linear it runs as, not as the rows checkpoints store.
     */
    public static void holdForPrediction(Module root) {
        forEach(root, l -> l.weight.value().backend().holdLinearWeight(l.weight.value()));
    }

    /**
     * Keeps the weight of every Linear under {@code root} in {@code half} from now on, in place of
     * its float32 value (a model that only predicts under autocast to that type): its products
     * read the same bits as from a cast of it, with no cast per pass and half the memory.
     */
    public static void keepWeightsAs(Module root, DType half) {
        forEach(root, l -> l.weight.keepAs(half));
    }

    /** The weight and bias of every Linear under {@code root}, as it runs: what autocast's products read ({@link dev.bertft.autograd.Autocast#castAll}). */
    public static List<Var> parametersUnder(Module root) {
        List<Var> out = new ArrayList<>();
        forEach(root, l -> {
            out.add(l.weight);
            if (l.bias != null) out.add(l.bias);
        });
        return out;
    }

    /** {@code action} on every Linear under {@code root}, a fused one as the one Linear it runs as. */
    private static void forEach(Module root, Consumer<Linear> action) {
        root.visit(new Visitor() {
            @Override
            public void parameter(String name, Var p) {}

            @Override
            public void child(String name, Module m) {
                if (m instanceof Linear l) action.accept(l);
                else forEach(m, action);
            }

            @Override
            public void fusedChild(String name, Module trained, Map<String, Module> stored) {
                child(name, trained);
            }
        });
    }

    @Override
    public void visit(Visitor v) {
        v.parameter("weight", weight);
        if (bias != null) v.parameter("bias", bias);
    }
}
