package dev.bertft.safetensors;

import dev.bertft.tensor.Float16;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.ShortBuffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class Float16Test {

    private static void assertF16(int bits, float expected) {
        float actual = Float16.f16ToFloat((short) bits);
        assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual),
                String.format("f16 0x%04X: expected %s, got %s", bits, expected, actual));
    }

    private static void assertBf16(int bits, float expected) {
        float actual = Float16.bf16ToFloat((short) bits);
        assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(actual),
                String.format("bf16 0x%04X: expected %s, got %s", bits, expected, actual));
    }

    @Test
    void halfPrecisionHandComputedValues() {
        assertF16(0x0000, 0.0f);
        assertF16(0x8000, -0.0f);
        assertF16(0x3C00, 1.0f);                   // e=15, m=0: 2^0
        assertF16(0xC000, -2.0f);                  // s=1, e=16
        assertF16(0x3800, 0.5f);
        assertF16(0x3555, 0x1.554p-2f);            // 1.0101010101b * 2^-2 = 0.333251953125
        assertF16(0x7BFF, 65504.0f);               // largest finite: (2 - 2^-10) * 2^15
        assertF16(0x0400, 0x1p-14f);               // smallest normal
        assertF16(0x0001, 0x1p-24f);               // smallest subnormal: 1 * 2^-24
        assertF16(0x03FF, 1023 * 0x1p-24f);        // largest subnormal
        assertF16(0x8001, -0x1p-24f);
        assertF16(0x7C00, Float.POSITIVE_INFINITY);
        assertF16(0xFC00, Float.NEGATIVE_INFINITY);
        assertTrue(Float.isNaN(Float16.f16ToFloat((short) 0x7E00)), "quiet NaN");
        assertTrue(Float.isNaN(Float16.f16ToFloat((short) 0x7C01)), "signalling NaN stays NaN, not infinity");
        assertTrue(Float.isNaN(Float16.f16ToFloat((short) 0xFFFF)), "negative NaN");
    }

    @Test
    void bfloat16HandComputedValues() {
        assertBf16(0x3F80, 1.0f);
        assertBf16(0xC000, -2.0f);
        assertBf16(0x0000, 0.0f);
        assertBf16(0x8000, -0.0f);
        assertBf16(0x7F7F, 0x1.fep127f);           // largest finite: (2 - 2^-7) * 2^127
        assertBf16(0x0080, 0x1p-126f);             // smallest normal
        assertBf16(0x0001, 0x1p-133f);             // smallest subnormal: 2^-7 * 2^-126
        assertBf16(0x7F80, Float.POSITIVE_INFINITY);
        assertBf16(0xFF80, Float.NEGATIVE_INFINITY);
        assertTrue(Float.isNaN(Float16.bf16ToFloat((short) 0x7FC0)));
    }

    /** All 65536 patterns of each format against PyTorch's conversion, stored in half_tables.safetensors. */
    @Test
    void everyBitPatternMatchesPyTorch() throws Exception {
        try (SafetensorsFile file = SafetensorsFile.open(Fixtures.resource("half_tables.safetensors"))) {
            for (String format : new String[] {"f16", "bf16"}) {
                ShortBuffer bits = ByteBuffer.wrap(file.readBytes(format)).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
                float[] torch = file.readF32(format + "_as_f32");
                float[] viaReader = file.readF32(format);
                assertEquals(65536, bits.limit());
                assertEquals(65536, torch.length);
                for (int i = 0; i < 65536; i++) {
                    short b = bits.get(i);
                    assertEquals((short) i, b, "the table enumerates the patterns in order");
                    float ours = format.equals("f16") ? Float16.f16ToFloat(b) : Float16.bf16ToFloat(b);
                    if (!Fixtures.sameFloat(torch[i], ours) || !Fixtures.sameFloat(torch[i], viaReader[i])) {
                        fail(String.format("%s 0x%04X: torch %s, ours %s, reader %s", format, i, torch[i], ours, viaReader[i]));
                    }
                }
            }
        }
    }
}
