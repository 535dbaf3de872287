package dev.bertft.bert;

import dev.bertft.autograd.Var;
import dev.bertft.nn.Linear;
import dev.bertft.nn.Module;

/** The feed-forward expansion: GELU(dense(x)), H → I features (exact erf GELU). */
final class BertIntermediate implements Module {
    final Linear dense;  // [I, H]

    BertIntermediate(BertConfig c, Params p) {
        dense = p.linear("dense", c.hiddenSize(), c.intermediateSize());
    }

    /** [B, T, H] → [B, T, I]. */
    Var forward(Var x) {
        return dense.forwardGelu(x);
    }

    @Override
    public void visit(Visitor v) {
        v.child("dense", dense);
    }
}
