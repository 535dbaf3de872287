package dev.bertft.safetensors;

/**
 * Exact widening of the two 16-bit float formats to float32 (Java 17 has no Float.float16ToFloat).
 *
 * <pre>
 * IEEE half (F16):  s eeeee mmmmmmmmmm   bias 15;  float32: s eeeeeeee m(23)  bias 127
 *   e = 0:      subnormal, value = (-1)^s * m * 2^-24      (m = 0 gives signed zero)
 *   e = 1..30:  normal,    value = (-1)^s * 1.m * 2^(e-15) -> float32 exponent e - 15 + 127
 *   e = 31:     m = 0 is infinity, otherwise NaN (payload kept in the top mantissa bits)
 * bfloat16 (BF16):  the top 16 bits of a float32, so widening is a shift.
 * </pre>
 */
public final class Float16 {

    private Float16() {
    }

    /** The float32 value of IEEE half-precision bits (exact: every half is a float). */
    public static float f16ToFloat(short bits) {
        int h = bits & 0xFFFF;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1F;
        int mantissa = h & 0x3FF;
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F80_0000 | (mantissa << 13));
        }
        if (exponent == 0) {
            // m * 2^-24: m < 2^10 and the scale is a power of two, so the product is exact
            float magnitude = mantissa * 0x1p-24f;
            return sign != 0 ? -magnitude : magnitude;
        }
        return Float.intBitsToFloat(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
    }

    /** The float32 value of bfloat16 bits. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }
}
