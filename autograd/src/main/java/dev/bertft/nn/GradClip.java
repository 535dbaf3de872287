package dev.bertft.nn;

import dev.bertft.autograd.Var;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Tensor;

import java.util.Collection;
import java.util.List;
import java.util.Objects;

/** Global gradient-norm clipping, as torch.nn.utils.clip_grad_norm_. */
public final class GradClip {
    private GradClip() {}

    /**
     * Scales all gradients by min(1, maxNorm / (‖g‖ + 1e-6)) where ‖g‖ is the 2-norm over every
     * gradient together ({@link Backend#clipCoefficient}), and returns ‖g‖ before clipping (what
     * Trainer logs as grad_norm).
     */
    public static double clipGradNorm(Collection<Var> params, double maxNorm) {
        List<Tensor> grads = grads(params);
        if (grads.isEmpty()) return 0;
        double norm = norm(grads);
        double coef = Backend.clipCoefficient(maxNorm, norm);
        if (coef != 1) {
            List<Tensor> clipped = grads.get(0).backend().scaled(grads, coef);
            int i = 0;
            for (Var p : params) if (p.grad() != null) p.setGrad(clipped.get(i++));
        }
        return norm;
    }

    /** ‖g‖, the 2-norm over every gradient together, without clipping (0 when there are none). */
    public static double gradNorm(Collection<Var> params) {
        List<Tensor> grads = grads(params);
        return grads.isEmpty() ? 0 : norm(grads);
    }

    private static List<Tensor> grads(Collection<Var> params) {
        return params.stream().map(Var::grad).filter(Objects::nonNull).toList();
    }

    private static double norm(List<Tensor> grads) {
        return Math.sqrt(grads.get(0).backend().sumOfSquares(grads));
    }
}
