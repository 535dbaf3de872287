package dev.bertft.nn;

import dev.bertft.autograd.Var;
import dev.bertft.tensor.Tensor;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Dynamic loss scaling as torch.cuda.amp.GradScaler does it with its defaults, for fp16 training,
 * whose small gradients would otherwise flush to zero in F16 products: the backward starts from
 * the loss times {@link #scale()} (initially 2¹⁶); {@link #unscale} divides the gradients back
 * before clipping and says whether any is inf or NaN; {@link #update} then halves the scale after
 * such a step (whose update the caller skips) and doubles it after 2,000 clean steps in a row.
 * The scale stays a power of two, so scaling and unscaling are exact.
 */
public final class GradScaler {
    public static final double INITIAL_SCALE = 0x1p16, GROWTH_FACTOR = 2.0, BACKOFF_FACTOR = 0.5;
    public static final int GROWTH_INTERVAL = 2000;

    /** What a checkpoint keeps: the scale and the clean steps since it last changed (torch's _growth_tracker). */
    public record State(double scale, int growthTracker) {}

    private double scale = INITIAL_SCALE;
    private int growthTracker;

    /** The factor the loss is multiplied by before its backward pass. */
    public double scale() {
        return scale;
    }

    /** Divides every gradient of {@code params} by the scale, in place; false when any gradient holds an inf or NaN. */
    public boolean unscale(Collection<Var> params) {
        List<Tensor> grads = new ArrayList<>();
        for (Var p : params) if (p.grad() != null) grads.add(p.grad());
        if (grads.isEmpty()) return true;
        for (Tensor g : grads) g.backend().scaleInPlace(g, 1 / scale);
        // Σ g² of float32 values in double overflows for no finite gradient, so it is finite exactly when all are
        return Double.isFinite(grads.get(0).backend().sumOfSquares(grads));
    }

    /** After a step: backoff when its gradients were not finite, growth after {@link #GROWTH_INTERVAL} finite ones. */
    public void update(boolean finite) {
        if (!finite) {
            scale *= BACKOFF_FACTOR;
            growthTracker = 0;
        } else if (++growthTracker == GROWTH_INTERVAL) {
            scale *= GROWTH_FACTOR;
            growthTracker = 0;
        }
    }

    public State state() {
        return new State(scale, growthTracker);
    }

    public void restore(State state) {
        if (!(state.scale() > 0) || Double.isInfinite(state.scale()) || state.growthTracker() < 0) {
            throw new IllegalArgumentException("grad scaler state " + state + ": the scale must be positive and finite, the tracker >= 0");
        }
        scale = state.scale();
        growthTracker = state.growthTracker();
    }
}
