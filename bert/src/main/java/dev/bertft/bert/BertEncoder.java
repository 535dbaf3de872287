package dev.bertft.bert;

import dev.bertft.autograd.Var;
import dev.bertft.nn.Module;
import dev.bertft.nn.Rng;
import dev.bertft.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/** num_hidden_layers BertLayers applied in turn; named encoder.layer.0, encoder.layer.1, ... */
final class BertEncoder implements Module {
    final List<BertLayer> layer;

    BertEncoder(BertConfig c, Params p, Rng rng) {
        List<BertLayer> layers = new ArrayList<>();
        for (int i = 0; i < c.numHiddenLayers(); i++) layers.add(new BertLayer(c, p.child("layer." + i), rng));
        layer = List.copyOf(layers);
    }

    /** x: [B, T, H], keyMask: [B, T] → [B, T, H]. */
    Var forward(Var x, Tensor keyMask) {
        for (BertLayer l : layer) x = l.forward(x, keyMask);
        return x;
    }

    @Override
    public void visit(Visitor v) {
        for (int i = 0; i < layer.size(); i++) v.child("layer." + i, layer.get(i));
    }
}
