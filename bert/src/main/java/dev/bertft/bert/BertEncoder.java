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

    BertEncoder(BertConfig c, Params p, Rng rng) {
        List<BertLayer> layers = new ArrayList<>();
        for (int i = 0; i < c.numHiddenLayers(); i++) layers.add(new BertLayer(c, p.child("layer." + i), rng));
        layer = List.copyOf(layers);
    }

    /**
     * x: [B, T, H], keyMask: [B, T] → [B, T, H]. Without a graph, nothing of a layer but its
     * output is needed once it returns, so each layer runs in a memory scope of its own: on a GPU
     * a prediction batch holds one layer's temporaries at a time instead of all twelve layers'.
     */
    Var forward(Var x, Tensor keyMask) {
        for (BertLayer l : layer) x = run(x, in -> l.forward(in, keyMask));
        return x;
    }

    /**
     * x: [B, T, H], keyMask: [B, T] → [B, H]: forward(x, keyMask)[:, 0] bit for bit, the last
     * layer computed for those rows only ({@link BertLayer#forwardCls}).
     */
    Var forwardCls(Var x, Tensor keyMask) {
        int last = layer.size() - 1;
        for (BertLayer l : layer.subList(0, last)) x = run(x, in -> l.forward(in, keyMask));
        return run(x, in -> layer.get(last).forwardCls(in, keyMask));
    }

    private static Var run(Var x, UnaryOperator<Var> layer) {
        if (GradMode.enabled()) return layer.apply(x);
        try (Backend.Scope scope = x.backend().openScope()) {
            Var y = layer.apply(x);
            y.keepIn(scope);
            return y;
        }
    }

    @Override
    public void visit(Visitor v) {
        for (int i = 0; i < layer.size(); i++) v.child("layer." + i, layer.get(i));
    }
}
