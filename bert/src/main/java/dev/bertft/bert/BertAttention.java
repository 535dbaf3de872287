package dev.bertft.bert;

import dev.bertft.autograd.Var;
import dev.bertft.nn.Module;
import dev.bertft.nn.Rng;
import dev.bertft.tensor.Tensor;

/** Self-attention followed by its output projection and residual LayerNorm. */
final class BertAttention implements Module {
    final BertSelfAttention self;
    final BertSelfOutput output;

    BertAttention(BertConfig c, Params p, Rng rng) {
        self = new BertSelfAttention(c, p.child("self"), rng);
        output = new BertSelfOutput(c, p.child("output"), rng);
    }

    /** x: [B, T, H], keyMask: [B, T] → [B, T, H]. */
    Var forward(Var x, Tensor keyMask) {
        return output.forward(self.forward(x, keyMask), x);
    }

    /**
     * x: [B, T, H] → [B, T, H], right at [:, 0] only: every key and value, but the query, the
     * attention and the output projection for the [CLS] rows alone.
     */
    Var forwardCls(Var x, Tensor keyMask) {
        return output.forwardCls(self.forwardCls(x, keyMask), x);
    }

    @Override
    public void visit(Visitor v) {
        v.child("self", self);
        v.child("output", output);
    }
}
