package dev.bertft.nn;

import dev.bertft.autograd.Var;

/** Dropout drawing its masks from the run's {@link Rng}; active only in train mode. */
public final class Dropout implements Module {
    private final double p;
    private final Rng rng;
    private boolean training = true;

    public Dropout(double p, Rng rng) {
        if (p < 0 || p >= 1) throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        this.p = p;
        this.rng = rng;
    }

    public Var forward(Var x) {
        if (!training || p == 0) return x;
        return x.dropout(p, true, rng.seed(), rng.next());
    }

    @Override
    public void setTraining(boolean training) {
        this.training = training;
    }

    @Override
    public void visit(Visitor v) {}
}
