package dev.bertft.bert;

import dev.bertft.autograd.Var;
import dev.bertft.nn.Module;
import dev.bertft.nn.Rng;

/** Self-attention followed by its output projection and residual LayerNorm. */
final class BertAttention implements Module {
    final BertSelfAttention self;
    final BertSelfOutput output;

    BertAttention(BertConfig c, Params p, Rng rng) {
        self = new BertSelfAttention(c, p.child("self"), rng);
        output = new BertSelfOutput(c, p.child("output"), rng);
    }

    /** x: [B, T, H], extendedMask: [B, 1, 1, T] → [B, T, H]. */
    Var forward(Var x, Var extendedMask) {
        return output.forward(self.forward(x, extendedMask), x);
    }

    @Override
    public void visit(Visitor v) {
        v.child("self", self);
        v.child("output", output);
    }
}
