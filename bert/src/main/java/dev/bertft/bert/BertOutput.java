package dev.bertft.bert;

import dev.bertft.autograd.Var;
import dev.bertft.nn.Dropout;
import dev.bertft.nn.LayerNorm;
import dev.bertft.nn.Linear;
import dev.bertft.nn.Module;
import dev.bertft.nn.Rng;

/** The feed-forward contraction plus the residual: LayerNorm(dropout(dense(h)) + input), I → H. */
final class BertOutput implements Module {
    final Linear dense;  // [H, I]
    final LayerNorm layerNorm;
    final Dropout dropout;

    BertOutput(BertConfig c, Params p, Rng rng) {
        dense = p.linear("dense", c.intermediateSize(), c.hiddenSize());
        layerNorm = p.layerNorm("LayerNorm", c.hiddenSize(), c.layerNormEps());
        dropout = new Dropout(c.hiddenDropoutProb(), rng);
    }

    /** hidden: [B, T, I], input: [B, T, H] → [B, T, H]. */
    Var forward(Var hidden, Var input) {
        return layerNorm.forward(hidden, dense, dropout, input);
    }

    /** hidden: [B, I], the [CLS] rows alone; input: [B, T, H] → [B, T, H], right at [:, 0] only ({@link LayerNorm#forwardFirstRows}). */
    Var forwardCls(Var hidden, Var input) {
        return layerNorm.forwardFirstRows(hidden, dense, dropout, input);
    }

    @Override
    public void visit(Visitor v) {
        v.child("dense", dense);
        v.child("LayerNorm", layerNorm);
        v.child("dropout", dropout);
    }
}
