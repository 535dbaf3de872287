package dev.bertft.safetensors;

import dev.bertft.tensor.Float16;

import java.nio.ByteBuffer;

/**
 * The element conversions both readers ({@link SafetensorsFile}, the PyTorch reader) apply: stored
 * little-endian elements into Java arrays, widened exactly, or narrowed only where every value fits.
 * Each method reads the whole buffer (position 0, little endian, a whole number of elements) into
 * {@code out} from index {@code first}; the caller has checked that the stored type is one the
 * method reads (floating point for floats and doubles, the integer types for ints and longs).
 */
public final class Widening {

    private Widening() {
    }

    /** A stored element that has no value in the type asked for; the message names it and says why. */
    public static final class BadElement extends Exception {
        private static final long serialVersionUID = 1L;

        BadElement(String message) {
            super(message);
        }
    }

    /** One of the conversions below, into an array of type {@code A}. */
    public interface Conversion<A> {
        void convert(StoredType from, ByteBuffer in, A out, int first) throws BadElement;
    }

    /** F32 as is; F16 and BF16 exactly; F64 rounded to nearest. */
    public static void toFloats(StoredType from, ByteBuffer in, float[] out, int first) {
        int n = in.limit() / from.byteSize();
        switch (from) {
            case F32 -> in.asFloatBuffer().get(out, first, n);
            case F64 -> { for (int i = 0; i < n; i++) out[first + i] = (float) in.getDouble(8 * i); }
            case F16 -> { for (int i = 0; i < n; i++) out[first + i] = Float16.f16ToFloat(in.getShort(2 * i)); }
            case BF16 -> { for (int i = 0; i < n; i++) out[first + i] = Float16.bf16ToFloat(in.getShort(2 * i)); }
            default -> throw notRead(from, "floats");
        }
    }

    /** F64 as is; F32, F16 and BF16 exactly. */
    public static void toDoubles(StoredType from, ByteBuffer in, double[] out, int first) {
        int n = in.limit() / from.byteSize();
        switch (from) {
            case F64 -> in.asDoubleBuffer().get(out, first, n);
            case F32 -> { for (int i = 0; i < n; i++) out[first + i] = in.getFloat(4 * i); }
            case F16 -> { for (int i = 0; i < n; i++) out[first + i] = Float16.f16ToFloat(in.getShort(2 * i)); }
            case BF16 -> { for (int i = 0; i < n; i++) out[first + i] = Float16.bf16ToFloat(in.getShort(2 * i)); }
            default -> throw notRead(from, "doubles");
        }
    }

    /** I32 as is; I64 when the value fits in an int; I8 signed; U8 as 0..255; BOOL as 0 or 1. */
    public static void toInts(StoredType from, ByteBuffer in, int[] out, int first) throws BadElement {
        int n = in.limit() / from.byteSize();
        switch (from) {
            case I32 -> in.asIntBuffer().get(out, first, n);
            case I64 -> {
                for (int i = 0; i < n; i++) {
                    long v = in.getLong(8 * i);
                    if (v != (int) v) {
                        throw new BadElement("I64 element " + (first + i) + " = " + v + " does not fit in an int; use readI64");
                    }
                    out[first + i] = (int) v;
                }
            }
            default -> { for (int i = 0; i < n; i++) out[first + i] = (int) smallInteger(from, in, i, first); }
        }
    }

    /** I64 as is; I32 and I8 signed; U8 as 0..255; BOOL as 0 or 1. */
    public static void toLongs(StoredType from, ByteBuffer in, long[] out, int first) throws BadElement {
        int n = in.limit() / from.byteSize();
        switch (from) {
            case I64 -> in.asLongBuffer().get(out, first, n);
            case I32 -> { for (int i = 0; i < n; i++) out[first + i] = in.getInt(4 * i); }
            default -> { for (int i = 0; i < n; i++) out[first + i] = smallInteger(from, in, i, first); }
        }
    }

    /** Element {@code i} of a one-byte integer type. */
    private static long smallInteger(StoredType from, ByteBuffer in, int i, int first) throws BadElement {
        byte b = in.get(i);
        return switch (from) {
            case I8 -> b;
            case U8 -> b & 0xFF;
            case BOOL -> {
                if (b != 0 && b != 1) throw new BadElement("BOOL element " + (first + i) + " is byte " + (b & 0xFF) + ", not 0 or 1");
                yield b;
            }
            default -> throw notRead(from, "integers");
        };
    }

    private static IllegalArgumentException notRead(StoredType from, String into) {
        return new IllegalArgumentException(from + " is not read as " + into);
    }
}
