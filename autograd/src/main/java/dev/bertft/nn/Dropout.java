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
        Draw d = draw();
        return d.p() == 0 ? x : x.dropout(d.p(), true, d.seed(), d.offset());
    }

    /**
     * The mask this call applies, for an op that fuses dropout into its own pass: p and the run's
     * (seed, offset), taking the next offset as {@link #forward} does; p = 0, and no offset taken,
     * when there is no mask (eval mode or p = 0).
     */
    public Draw draw() {
        if (!training || p == 0) return new Draw(0, rng.seed(), 0);
        return new Draw(p, rng.seed(), rng.next());
    }

    public record Draw(double p, long seed, long offset) {}

    @Override
    public void setTraining(boolean training) {
        this.training = training;
    }

    @Override
    public void visit(Visitor v) {}
}
