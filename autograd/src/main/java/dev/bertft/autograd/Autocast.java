package dev.bertft.autograd;

import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;

import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * torch.autocast for this thread: while open, every matrix product of the graph ({@link Var#linear},
 * {@link Var#linearGelu}, the Q·Kᵀ and P·V of {@link Var#attention}) rounds its operands to
 * BF16 or F16 and accumulates in float32, writing float32; every other op runs in float32 as
 * before. The backward of a product uses the type its forward ran in, so only the forward needs
 * to run inside: {@code try (Autocast on = Autocast.to(DType.BF16)) { logits = model.logits(batch); }}.
 *
 * <p>As torch.autocast's weight cache does, a region can cast parameters once and keep the casts
 * until it closes (parameters do not change during a forward): {@link #castAll} casts a forward's
 * parameters at its start, all at once, and the products read those casts. A product that reads
 * a parameter castAll did not cast casts it on the spot, without keeping it: that cast may be made
 * inside a memory scope that ends before the region does.
 */
public final class Autocast implements AutoCloseable {
    private static final ThreadLocal<Autocast> CURRENT = new ThreadLocal<>();
    private final DType operands;
    private final Autocast previous;
    /** {@link #castAll}'s casts of parameter values, by the values' identity. */
    private final Map<Tensor, Tensor> casts = new IdentityHashMap<>();

    private Autocast(DType operands) {
        this.operands = operands;
        previous = CURRENT.get();
        CURRENT.set(this);
    }

    /** Products in {@code operands} (BF16 or F16) until closed; null leaves them float32. */
    public static Autocast to(DType operands) {
        if (operands != null && !operands.isHalf()) throw new IllegalArgumentException("autocast to " + operands + ": BF16 or F16");
        return new Autocast(operands);
    }

    /** The products' operand type now, or null outside autocast. */
    public static DType operands() {
        Autocast current = CURRENT.get();
        return current == null ? null : current.operands;
    }

    /** A parameter's value as the products' operand: {@link #castAll}'s cast of it, else a cast now. Inside autocast only. */
    static Tensor parameter(Tensor value) {
        Autocast current = CURRENT.get();
        if (current == null || current.operands == null) throw new IllegalStateException("a parameter's autocast operand outside autocast");
        Tensor cast = current.casts.get(value);
        return cast != null ? cast : value.cast(current.operands);
    }

    /**
     * Casts the values of {@code parameters} that this region has not cast yet, in one call of
     * {@link dev.bertft.tensor.Backend#castAll} (on a GPU, one launch for up to 48), and keeps the
     * casts for the region's products: the weights a forward's products read, cast before it runs,
     * so they live as long as its results. Outside autocast, nothing.
     */
    public void castAll(Collection<Var> parameters) {
        if (operands == null) return;
        List<Tensor> values = new ArrayList<>();
        for (Var p : parameters) {
            if (!casts.containsKey(p.value())) values.add(p.value());
        }
        if (values.isEmpty()) return;
        List<Tensor> cast = values.get(0).backend().castAll(values, operands);
        for (int i = 0; i < values.size(); i++) casts.put(values.get(i), cast.get(i));
    }

    @Override
    public void close() {
        CURRENT.set(previous);
    }
}
