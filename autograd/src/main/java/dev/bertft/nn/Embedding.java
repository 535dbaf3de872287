package dev.bertft.nn;

import dev.bertft.autograd.Var;
import dev.bertft.tensor.Tensor;

/** A lookup table [num, dim]. */
public final class Embedding implements Module {
    public final Var weight;

    public Embedding(Var weight) {
        this.weight = weight;
    }

    /** ids: I32 of any shape → [..., dim]. */
    public Var forward(Tensor ids) {
        return Var.embedding(weight, ids);
    }

    @Override
    public void visit(Visitor v) {
        v.parameter("weight", weight);
    }
}
