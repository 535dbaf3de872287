package dev.bertft.tensor;

/** Element types: F32 is the compute type, F64 serves gradient checks, I32 holds ids and labels. */
public enum DType {
    F32(4), F64(8), I32(4);

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
}
