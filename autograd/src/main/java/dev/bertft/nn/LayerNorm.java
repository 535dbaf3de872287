package dev.bertft.nn;

import dev.bertft.autograd.Var;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;

/** LayerNorm over the last axis; parameters named weight/bias as in current HF checkpoints. */
public final class LayerNorm implements Module {
    public final Var weight;
    public final Var bias;
    public final double eps;

    public LayerNorm(Var weight, Var bias, double eps) {
        this.weight = weight;
        this.bias = bias;
        this.eps = eps;
    }

    /** γ = 1, β = 0. */
    public static LayerNorm init(Backend backend, DType dtype, int size, double eps) {
        return new LayerNorm(Var.parameter(backend.full(dtype, new int[] {size}, 1.0)),
                Var.parameter(backend.zeros(dtype, size)), eps);
    }

    public Var forward(Var x) {
        return x.layerNorm(weight, bias, eps);
    }

    /** LayerNorm(dropout(x) + residual) in one op, with the mask {@code dropout} would draw now. */
    public Var forward(Var x, Dropout dropout, Var residual) {
        Dropout.Draw d = dropout.draw();
        return x.dropoutAddLayerNorm(residual, weight, bias, eps, d.p(), d.seed(), d.offset());
    }

    /** LayerNorm(dropout(dense(x)) + residual) in one op, which keeps no copy of the product ({@link Var#linearDropoutAddLayerNorm}). */
    public Var forward(Var x, Linear dense, Dropout dropout, Var residual) {
        Dropout.Draw d = dropout.draw();
        return x.linearDropoutAddLayerNorm(dense.weight, dense.bias, residual, weight, bias, eps, d.p(), d.seed(), d.offset());
    }

    @Override
    public void visit(Visitor v) {
        v.parameter("weight", weight);
        v.parameter("bias", bias);
    }
}
