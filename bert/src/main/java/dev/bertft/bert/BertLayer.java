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

    /**
     * x: [B, T, H], keyMask: [B, T] → [B, H]: forward(x, keyMask)[:, 0] bit for bit, for a head
     * that reads only the [CLS] rows. The query projection, the attention over every key and value,
     * the output projection and the feed-forward network (10 of the layer's 12·H² multiply-adds per
     * token, and the attention's T query rows but one) run for those rows alone; the two LayerNorms run on
     * every row, so they draw their dropout masks where the full layer does and sum their γ and β
     * gradients over the same blocks of rows (zero outside [:, 0]).
     */
    Var forwardCls(Var x, Tensor keyMask) {
        Var attended = attention.forwardCls(x, keyMask);  // [B, T, H]
        Var cls = attended.select(1, 0);                   // [B, H]
        return output.forwardCls(intermediate.forward(cls), attended).select(1, 0);
    }

    @Override
    public void visit(Visitor v) {
        v.child("attention", attention);
        v.child("intermediate", intermediate);
        v.child("output", output);
    }
}
