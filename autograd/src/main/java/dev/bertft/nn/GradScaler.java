package dev.bertft.nn;

import dev.bertft.tensor.Tensor;

import java.util.List;

/**
 * Dynamic loss scaling as torch.cuda.amp.GradScaler does it with its defaults, for fp16 training,
 * whose small gradients would otherwise flush to zero in F16 products: the backward starts from
 * the loss times {@link #scale()} (initially 2¹⁶); {@link #unscale} divides the gradients back
 * before clipping (an overflow stays inf or NaN, which the update guard sees); {@link #update} then halves the scale after
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

    /**
     * Divides every gradient by the scale, in place: exact, the scale being a power of two. An inf
     * or NaN stays one, so the update's guard ({@link dev.bertft.tensor.Backend#updateGuard}) finds
     * the overflow in the gradient norm and skips the update.
     */
    public void unscale(List<Tensor> grads) {
        if (!grads.isEmpty()) grads.get(0).backend().scaleInPlace(grads, 1 / scale);
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
