package dev.bertft.nn;

import dev.bertft.autograd.Var;

import java.util.Collection;

/** Global gradient-norm clipping, as torch.nn.utils.clip_grad_norm_. */
public final class GradClip {
    private GradClip() {}

    /**
     * Scales all gradients by min(1, maxNorm / (‖g‖ + 1e-6)) where ‖g‖ is the 2-norm over every
     * gradient together, and returns ‖g‖ before clipping (what Trainer logs as grad_norm).
     */
    public static double clipGradNorm(Collection<Var> params, double maxNorm) {
        double sumSq = 0;
        for (Var p : params) if (p.grad() != null) sumSq += p.grad().backend().sumOfSquares(p.grad());
        double norm = Math.sqrt(sumSq);
        double coef = maxNorm / (norm + 1e-6);
        if (coef < 1) {
            for (Var p : params) if (p.grad() != null) p.setGrad(p.grad().mul(coef));
        }
        return norm;
    }
}
