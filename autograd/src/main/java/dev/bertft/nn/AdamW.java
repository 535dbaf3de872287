package dev.bertft.nn;

import dev.bertft.autograd.Var;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * AdamW exactly as torch.optim.AdamW: decoupled weight decay, bias-corrected moments. Each
 * parameter belongs to a group with its own weight decay; the moments live on the parameter's
 * device and are kept by parameter name, so they can be saved and restored with a checkpoint.
 */
public final class AdamW {

    /** Parameters that share a weight decay. */
    public record Group(Map<String, Var> params, double weightDecay) {}

    /** First and second moments of one parameter. */
    public record Moments(Tensor m, Tensor v) {}

    private final List<Group> groups;
    private final double beta1, beta2, eps;
    private final Map<String, Moments> state = new LinkedHashMap<>();
    private long step;

    public AdamW(List<Group> groups, double beta1, double beta2, double eps) {
        this.groups = List.copyOf(groups);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
    }

    /**
     * The usual fine-tuning split, as HF Trainer does it: decay for every parameter except biases
     * and LayerNorm weights.
     */
    public static List<Group> decayGroups(Map<String, Var> named, double weightDecay) {
        Predicate<String> noDecay = n -> n.endsWith(".bias") || n.equals("bias") || n.contains("LayerNorm.");
        Map<String, Var> decay = new LinkedHashMap<>(), plain = new LinkedHashMap<>();
        named.forEach((n, p) -> (noDecay.test(n) ? plain : decay).put(n, p));
        List<Group> out = new ArrayList<>();
        out.add(new Group(decay, weightDecay));
        out.add(new Group(plain, 0.0));
        return out;
    }

    /** One update at learning rate {@code lr}; parameters without a gradient are left alone. */
    public void step(double lr) {
        step(lr, null);
    }

    /**
     * The same, counted always but skipped on the device where {@code guard} (of
     * {@link Backend#updateGuard}) says so; the caller takes the count back with
     * {@link #setStepCount} once it has read the guard.
     */
    public void step(double lr, Tensor guard) {
        step++;
        for (Group g : groups) {
            List<Tensor> values = new ArrayList<>(), grads = new ArrayList<>(), ms = new ArrayList<>(), vs = new ArrayList<>();
            for (Map.Entry<String, Var> e : g.params.entrySet()) {
                Var p = e.getValue();
                if (p.grad() == null) continue;
                Tensor value = p.value();
                Backend be = value.backend();
                Moments mv = state.computeIfAbsent(e.getKey(),
                        k -> new Moments(be.zeros(value.dtype(), value.shape()), be.zeros(value.dtype(), value.shape())));
                values.add(value);
                grads.add(p.grad());
                ms.add(mv.m());
                vs.add(mv.v());
            }
            if (values.isEmpty()) continue;
            Backend.AdamWStep at = new Backend.AdamWStep(lr, beta1, beta2, eps, g.weightDecay, step);
            if (guard == null) values.get(0).backend().adamW(values, grads, ms, vs, at);
            else values.get(0).backend().adamW(values, grads, ms, vs, at, guard);
        }
    }

    public void zeroGrad() {
        for (Group g : groups) g.params.values().forEach(Var::zeroGrad);
    }

    /** Number of updates taken so far. */
    public long stepCount() {
        return step;
    }

    /** Sets the count: an update replayed from a captured graph adds one, a skipped one takes its count back. */
    public void setStepCount(long step) {
        this.step = step;
    }

    /** Moments by parameter name (for checkpoints). */
    public Map<String, Moments> state() {
        return state;
    }

    /** Lets the moments outlive a step's memory scope: the first update makes them inside it. */
    public void keepState(Backend.Scope step) {
        for (Moments mv : state.values()) {
            step.keep(mv.m());
            step.keep(mv.v());
        }
    }

    /** Restores a checkpointed state: the step count and every parameter's moments. */
    public void restore(long stepCount, Map<String, Moments> moments) {
        step = stepCount;
        state.clear();
        state.putAll(moments);
    }

    public List<Group> groups() {
        return groups;
    }
}
