package dev.bertft.autograd;

import dev.bertft.tensor.DType;

/**
 * torch.autocast for this thread: while open, every matrix product of the graph ({@link Var#linear},
 * {@link Var#linearGelu}, the Q·Kᵀ and P·V of {@link Var#attention}) rounds its operands to
 * BF16 or F16 and accumulates in float32, writing float32; every other op runs in float32 as
 * before. The backward of a product uses the type its forward ran in, so only the forward needs
 * to run inside: {@code try (Autocast on = Autocast.to(DType.BF16)) { logits = model.logits(batch); }}.
 */
public final class Autocast implements AutoCloseable {
    private static final ThreadLocal<DType> OPERANDS = new ThreadLocal<>();
    private final DType previous;

    private Autocast(DType operands) {
        previous = OPERANDS.get();
        OPERANDS.set(operands);
    }

    /** Products in {@code operands} (BF16 or F16) until closed; null leaves them float32. */
    public static Autocast to(DType operands) {
        if (operands != null && !operands.isHalf()) throw new IllegalArgumentException("autocast to " + operands + ": BF16 or F16");
        return new Autocast(operands);
    }

    /** The products' operand type now, or null outside autocast. */
    public static DType operands() {
        return OPERANDS.get();
    }

    @Override
    public void close() {
        OPERANDS.set(previous);
    }
}
