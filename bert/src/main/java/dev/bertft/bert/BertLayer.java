package dev.bertft.bert;

import dev.bertft.autograd.Var;
import dev.bertft.nn.Module;
import dev.bertft.nn.Rng;
import dev.bertft.tensor.Tensor;

/** One transformer block (post-LayerNorm): attention, then the feed-forward network. */
final class BertLayer implements Module {
    final BertAttention attention;
    final BertIntermediate intermediate;
    final BertOutput output;

    BertLayer(BertConfig c, Params p, Rng rng) {
        attention = new BertAttention(c, p.child("attention"), rng);
        intermediate = new BertIntermediate(c, p.child("intermediate"));
        output = new BertOutput(c, p.child("output"), rng);
    }

    /** x: [B, T, H], keyMask: [B, T] → [B, T, H]. */
    Var forward(Var x, Tensor keyMask) {
        Var attended = attention.forward(x, keyMask);  // [B, T, H]
        return output.forward(intermediate.forward(attended), attended);
    }

    @Override
    public void visit(Visitor v) {
        v.child("attention", attention);
        v.child("intermediate", intermediate);
        v.child("output", output);
    }
}
