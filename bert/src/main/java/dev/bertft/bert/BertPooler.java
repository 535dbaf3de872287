package dev.bertft.bert;

import dev.bertft.autograd.Var;
import dev.bertft.nn.Linear;
import dev.bertft.nn.Module;

/** The sentence vector: tanh(dense(h[:, 0])), the hidden state of the first ([CLS]) token. */
final class BertPooler implements Module {
    final Linear dense;  // [H, H]

    BertPooler(BertConfig c, Params p) {
        dense = p.linear("dense", c.hiddenSize(), c.hiddenSize());
    }

    /** [B, T, H] → [B, H]. */
    Var forward(Var hidden) {
        return forwardCls(hidden.select(1, 0));
    }

    /** The [CLS] rows [B, H] → [B, H]. */
    Var forwardCls(Var cls) {
        return dense.forward(cls).tanh();
    }

    @Override
    public void visit(Visitor v) {
        v.child("dense", dense);
    }
}
