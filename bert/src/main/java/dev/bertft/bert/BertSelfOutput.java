package dev.bertft.bert;

import dev.bertft.autograd.Var;
import dev.bertft.nn.Dropout;
import dev.bertft.nn.LayerNorm;
import dev.bertft.nn.Linear;
import dev.bertft.nn.Module;
import dev.bertft.nn.Rng;

/** Projection of the attention context plus the residual: LayerNorm(dropout(dense(h)) + input). */
final class BertSelfOutput implements Module {
    final Linear dense;  // [H, H]
    final LayerNorm layerNorm;
    final Dropout dropout;

    BertSelfOutput(BertConfig c, Params p, Rng rng) {
        dense = p.linear("dense", c.hiddenSize(), c.hiddenSize());
        layerNorm = p.layerNorm("LayerNorm", c.hiddenSize(), c.layerNormEps());
        dropout = new Dropout(c.hiddenDropoutProb(), rng);
    }

    /** hidden, input: [B, T, H] → [B, T, H]. */
    Var forward(Var hidden, Var input) {
        return layerNorm.forward(hidden, dense, dropout, input);
    }

    /** hidden: [B, H], the [CLS] rows alone; input: [B, T, H] → [B, T, H], right at [:, 0] only ({@link LayerNorm#forwardFirstRows}). */
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
