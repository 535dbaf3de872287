package dev.bertft.safetensors;

/**
 * The safetensors element types bert-ft reads and writes; the constant names are the strings used
 * in the header's "dtype" field. Other types of the format (I8, U16, F8_E4M3, ...) are rejected as
 * unknown when a file is opened.
 */
public enum DType {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), U8(1), BOOL(1);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    public boolean isFloatingPoint() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /** The type named by a header "dtype" string, or null when it is not one of ours. */
    static DType fromHeader(String name) {
        for (DType t : values()) {
            if (t.name().equals(name)) return t;
        }
        return null;
    }
}
