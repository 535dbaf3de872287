package dev.bertft.safetensors;

import dev.bertft.tensor.DType;

/**
 * How a file stores one element: the names are the safetensors header's "dtype" strings, which
 * the PyTorch reader uses too. Four of them are tensor {@link DType}s as they are; the integer types
 * (I64, I8, U8, BOOL) have no tensor type and are read widened or narrowed through {@link Widening}.
 * Other types of the format (U16, F8_E4M3, ...) are rejected as unknown when a file is opened.
 */
public enum StoredType {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I8(1), U8(1), BOOL(1);

    private final int byteSize;

    StoredType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    public boolean isFloatingPoint() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    /** How a tensor of type {@code t} is stored: the type of the same name. */
    public static StoredType of(DType t) {
        return valueOf(t.name());
    }

    /** The type named by a header "dtype" string, or null when it is not one of ours. */
    static StoredType fromHeader(String name) {
        for (StoredType t : values()) {
            if (t.name().equals(name)) return t;
        }
        return null;
    }
}
