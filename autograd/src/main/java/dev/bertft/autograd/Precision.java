package dev.bertft.autograd;

import dev.bertft.tensor.DType;

/**
 * How a run computes, as the Hugging Face Trainer's {@code bf16}, {@code fp16} and {@code tf32}
 * arguments choose it. FP32 multiplies in IEEE float32 (PyTorch's default); TF32 lets a GPU's
 * float32 products round their operands to TF32's 10-bit mantissa; BF16 and FP16 autocast the
 * matrix products ({@link Autocast}) while everything else, the weights, gradients and optimizer
 * state stay float32. FP16 also needs a {@code GradScaler}: its gradients underflow without one.
 */
public enum Precision {
    FP32("fp32"), TF32("tf32"), BF16("bf16"), FP16("fp16");

    private final String flagName;

    Precision(String flagName) {
        this.flagName = flagName;
    }

    /** The matrix products' operand type under autocast; null when products stay float32. */
    public DType autocast() {
        return switch (this) {
            case BF16 -> DType.BF16;
            case FP16 -> DType.F16;
            case FP32, TF32 -> null;
        };
    }

    /** True for the half-precision autocast modes, which a device must support. */
    public boolean isHalf() {
        return autocast() != null;
    }

    /** Whether float32 products may use TF32 (the float32 products left in a half-precision run never do here: all are autocast). */
    public boolean tf32() {
        return this == TF32;
    }

    /** "fp32", "tf32", "bf16", "fp16". */
    @Override
    public String toString() {
        return flagName;
    }
}
