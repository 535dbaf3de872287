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

    /**
     * {@link #forward(Var, Linear, Dropout, Var)}'s rows at index 0 of residual's axis 1, for x
     * holding only those rows ([B, in] against residual's [B, T, H]): dense runs on those rows
     * alone, and the LayerNorm on all of residual's rows, so the dropout mask is drawn at the
     * positions the full op draws it. Those rows of the [B, T, H] result are the full op's bit
     * for bit (each row is normalised on its own); the others are LayerNorm(residual) alone.
     */
    public Var forwardFirstRows(Var x, Linear dense, Dropout dropout, Var residual) {
        return forward(dense.forward(x).placedAt(1, 0, residual.size(1)), dropout, residual);
    }

    @Override
    public void visit(Visitor v) {
        v.parameter("weight", weight);
        v.parameter("bias", bias);
    }
}
