package dev.bertft.bert;

import dev.bertft.autograd.GradMode;
import dev.bertft.autograd.Var;
import dev.bertft.nn.Module;
import dev.bertft.nn.Rng;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/** num_hidden_layers BertLayers applied in turn; named encoder.layer.0, encoder.layer.1, ... */
final class BertEncoder implements Module {
    final List<BertLayer> layer;
    /** The stream the layers' dropout draws from, rewound when a layer is recomputed. */
    private final Rng rng;
    /** With a graph: each layer's activations recomputed in the backward pass ({@link Var#recomputed}), not kept. */
    boolean gradientCheckpointing;

    BertEncoder(BertConfig c, Params p, Rng rng) {
        List<BertLayer> layers = new ArrayList<>();
        for (int i = 0; i < c.numHiddenLayers(); i++) layers.add(new BertLayer(c, p.child("layer." + i), rng));
        layer = List.copyOf(layers);
        this.rng = rng;
    }

    /**
     * x: [B, T, H], keyMask: [B, T] → [B, T, H]. Without a graph, nothing of a layer but its
     * output is needed once it returns, so each layer runs in a memory scope of its own: on a GPU
     * a prediction batch holds one layer's temporaries at a time instead of all twelve layers'.
     */
    Var forward(Var x, Tensor keyMask) {
        for (BertLayer l : layer) x = run(x, l, in -> l.forward(in, keyMask));
        return x;
    }

    /**
     * x: [B, T, H], keyMask: [B, T] → [B, H]: forward(x, keyMask)[:, 0] bit for bit, the last
     * layer computed for those rows only ({@link BertLayer#forwardCls}).
     */
    Var forwardCls(Var x, Tensor keyMask) {
        int last = layer.size() - 1;
        for (BertLayer l : layer.subList(0, last)) x = run(x, l, in -> l.forward(in, keyMask));
        BertLayer l = layer.get(last);
        return run(x, l, in -> l.forwardCls(in, keyMask));
    }

    /** {@code f}, one pass of layer {@code l}, applied to x: kept in the graph, recomputed in the backward, or without a graph. */
    private Var run(Var x, BertLayer l, UnaryOperator<Var> f) {
        if (GradMode.enabled()) {
            if (!gradientCheckpointing) return f.apply(x);
            return Var.recomputed(x, f, Module.trainableParameters(l).values(), rng::offset, rng::seek);
        }
        try (Backend.Scope scope = x.backend().openScope()) {
            Var y = f.apply(x);
            y.keepIn(scope);
            return y;
        }
    }

    @Override
    public void visit(Visitor v) {
        for (int i = 0; i < layer.size(); i++) v.child("layer." + i, layer.get(i));
    }
}
