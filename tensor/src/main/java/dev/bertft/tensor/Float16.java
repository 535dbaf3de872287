package dev.bertft.tensor;

/**
 * The two 16-bit float formats and float32: widening, which is exact, and narrowing, rounded to
 * nearest with ties to even (Java 17 has neither Float.float16ToFloat nor floatToFloat16).
 *
 * <pre>
 * IEEE half (F16):  s eeeee mmmmmmmmmm   bias 15;  float32: s eeeeeeee m(23)  bias 127
 *   e = 0:      subnormal, value = (-1)^s * m * 2^-24      (m = 0 gives signed zero)
 *   e = 1..30:  normal,    value = (-1)^s * 1.m * 2^(e-15) -> float32 exponent e - 15 + 127
 *   e = 31:     m = 0 is infinity, otherwise NaN (payload kept in the top mantissa bits)
 * bfloat16 (BF16):  the top 16 bits of a float32, so widening is a shift.
 * Narrowing: NaN becomes 0x7FFF in either format (the canonical NaN of the GPU's cvt.rn), values past the largest finite one after
 * rounding become infinity, and float32 values below F16's normal range round to its subnormals.
 * </pre>
 */
public final class Float16 {

    /** What NaN narrows to, in both formats, so that both backends give the same bits. */
    private static final short CANONICAL_NAN = 0x7FFF;

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

    /** The IEEE half-precision bits nearest to {@code x}, ties to even. */
    public static short floatToF16(float x) {
        int bits = Float.floatToRawIntBits(x), sign = (bits >>> 16) & 0x8000, abs = bits & 0x7FFF_FFFF;
        if (abs > 0x7F80_0000) return CANONICAL_NAN;
        if (abs >= 0x477F_F000) return (short) (sign | 0x7C00); // 65520, halfway past 65504, rounds to the even 2^16
        if (abs < 0x3880_0000) {
            // below 2^-14: a multiple of 2^-24; the scaled value is exact in double, rint rounds it to even
            return (short) (sign | (int) Math.rint(Math.abs((double) x) * 0x1p24));
        }
        int half = ((abs >>> 23) - 127 + 15) << 10 | (abs & 0x7F_FFFF) >>> 13, dropped = abs & 0x1FFF;
        if (dropped > 0x1000 || (dropped == 0x1000 && (half & 1) != 0)) half++; // a carry moves into the exponent
        return (short) (sign | half);
    }

    /** The bfloat16 bits nearest to {@code x}, ties to even. */
    public static short floatToBf16(float x) {
        int bits = Float.floatToRawIntBits(x);
        if ((bits & 0x7FFF_FFFF) > 0x7F80_0000) return CANONICAL_NAN;
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }
}
