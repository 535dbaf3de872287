package dev.bertft.tensor;

/**
 * Element types: F32 is the compute type, F64 serves gradient checks, I32 holds ids and labels.
 * BF16 and F16 store weights and GEMM operands in half the memory; on the host they are the
 * formats' bit patterns in a short[] (see {@link dev.bertft.tensor.Float16}).
 */
public enum DType {
    F32(4), F64(8), I32(4), BF16(2), F16(2);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    public int bytes() {
        return bytes;
    }

    public boolean isFloating() {
        return this != I32;
    }

    /** The host's array of n elements of this type: float[], double[], int[], or short[] for the half types. */
    public Object newArray(int n) {
        return switch (this) {
            case F32 -> new float[n];
            case F64 -> new double[n];
            case I32 -> new int[n];
            case BF16, F16 -> new short[n];
        };
    }

    /** BF16 or F16: products accumulate in float32, and other ops want them cast first. */
    public boolean isHalf() {
        return this == BF16 || this == F16;
    }
}
