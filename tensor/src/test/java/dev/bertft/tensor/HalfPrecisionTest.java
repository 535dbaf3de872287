package dev.bertft.tensor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * BF16 and F16 on the CPU: rounding float32 to either format against PyTorch's own conversions
 * (half/rounding.json, from make_half_fixtures.py: ties, overflow, subnormals, random values),
 * casts of tensors both ways and strided copies (safetensors files that keep the 16-bit patterns:
 * HalfTensorsTest in formats/).
 */
class HalfPrecisionTest {
    private static final Backend CPU = new CpuBackend(1);

    /** Inputs and PyTorch's roundings, as bit patterns. */
    record Rounding(float[] inputs, short[] bf16, short[] f16) {
        static Rounding load() throws IOException {
            try (InputStream in = HalfPrecisionTest.class.getResourceAsStream("/half/rounding.json")) {
                if (in == null) throw new IllegalStateException("missing test resource half/rounding.json");
                JsonNode json = new ObjectMapper().readTree(in);
                int n = json.get("f32_bits").size();
                float[] x = new float[n];
                short[] b = new short[n], h = new short[n];
                for (int i = 0; i < n; i++) {
                    x[i] = Float.intBitsToFloat((int) json.get("f32_bits").get(i).asLong());
                    b[i] = (short) json.get("bf16_bits").get(i).asInt();
                    h[i] = (short) json.get("f16_bits").get(i).asInt();
                }
                return new Rounding(x, b, h);
            }
        }

        short[] expected(DType t) {
            return t == DType.BF16 ? bf16 : f16;
        }
    }

    /** Same bits, or both NaN: PyTorch's NaN patterns differ between its scalar and vector paths. */
    static void assertSameHalf(DType t, float input, short expected, short actual) {
        boolean nan = t == DType.BF16 ? Float.isNaN(Float16.bf16ToFloat(expected)) : Float.isNaN(Float16.f16ToFloat(expected));
        boolean actualNan = t == DType.BF16 ? Float.isNaN(Float16.bf16ToFloat(actual)) : Float.isNaN(Float16.f16ToFloat(actual));
        if (nan) assertTrue(actualNan, t + " of NaN " + Integer.toHexString(Float.floatToRawIntBits(input)));
        else assertEquals(expected & 0xFFFF, actual & 0xFFFF, () -> String.format("%s of %s (0x%08X): torch 0x%04X, ours 0x%04X", t, input,
                Float.floatToRawIntBits(input), expected & 0xFFFF, actual & 0xFFFF));
    }

    @Test
    void narrowingRoundsLikePyTorch() throws IOException {
        Rounding r = Rounding.load();
        for (int i = 0; i < r.inputs.length; i++) {
            assertSameHalf(DType.BF16, r.inputs[i], r.bf16[i], Float16.floatToBf16(r.inputs[i]));
            assertSameHalf(DType.F16, r.inputs[i], r.f16[i], Float16.floatToF16(r.inputs[i]));
        }
    }

    @Test
    void tensorCastsBothWays() throws IOException {
        Rounding r = Rounding.load();
        Tensor x = Tensor.of(CPU, r.inputs, r.inputs.length);
        for (DType t : new DType[] {DType.BF16, DType.F16}) {
            Tensor h = x.cast(t);
            assertEquals(t, h.dtype());
            short[] bits = (short[]) h.toHost();
            for (int i = 0; i < bits.length; i++) assertSameHalf(t, r.inputs[i], r.expected(t)[i], bits[i]);
            float[] back = h.toFloatArray();
            double[] back64 = h.toDoubleArray();
            for (int i = 0; i < bits.length; i++) {
                float exact = t == DType.BF16 ? Float16.bf16ToFloat(bits[i]) : Float16.f16ToFloat(bits[i]);
                assertEquals(Float.floatToRawIntBits(exact), Float.floatToRawIntBits(back[i]), "widened " + i);
                assertEquals(Double.doubleToRawLongBits(exact), Double.doubleToRawLongBits(back64[i]), "widened to F64 " + i);
            }
            // from F64 through float32, and from I32
            assertArrayEquals(new short[] {Float16.floatToBf16(3.0f)}, (short[]) Tensor.of(CPU, new double[] {3.0}, 1)
                    .cast(DType.BF16).toHost());
            assertArrayEquals(new int[] {-7, 3}, Tensor.of(CPU, new int[] {-7, 3}, 2).cast(t).toIntArray());
        }
    }

    @Test
    void stridedCopiesAndFillsMoveTheBits() {
        float[] v = {1, 2, 3, 4, 5, 6};
        Tensor h = Tensor.of(CPU, v, 2, 3).cast(DType.F16);
        assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, h.transpose(0, 1).contiguous().toFloatArray());
        // 0x3555 is the half nearest to 1/3 (hand-computed: 1.0101010101b · 2^-2)
        assertArrayEquals(new short[] {0x3555, 0x3555}, (short[]) CPU.full(DType.F16, new int[] {2}, 1.0 / 3).toHost());
        assertArrayEquals(new short[] {0, 0, 0}, (short[]) CPU.zeros(DType.BF16, 3).toHost());
    }

    /** On the CPU a half product is the float32 one of the exactly widened operands, rounded once. */
    @Test
    void productsAccumulateInFloat32AndOtherOpsAskForACast() {
        Tensor a = Tensor.of(CPU, new float[] {1, 1 + 0x1p-8f, -3, 0.5f}, 2, 2).cast(DType.BF16);
        Tensor b = Tensor.of(CPU, new float[] {1, 0, 0x1p-10f, 1}, 2, 2).cast(DType.BF16);
        // 1 + 2^-8 rounds to 1 in BF16 (a tie, to even); row 0: [1 + 2^-10, 1], row 1: [-3 + 2^-11, 0.5]
        assertArrayEquals(new float[] {1 + 0x1p-10f, 1, -3 + 0x1p-11f, 0.5f}, a.matmul(b, DType.F32).toFloatArray());
        assertArrayEquals(new float[] {1, 1, -3, 0.5f}, a.matmul(b).toFloatArray()); // rounded to 8 significant bits
        // x·wᵀ + bias = [1, 1 + 2^-10] + [1, 0.5] and [-3, 0.5 - 3·2^-10] + [1, 0.5], rounded once
        assertArrayEquals(new float[] {2, 1.5f, -2, 1 - 0x1p-8f}, a.linear(b, Tensor.of(CPU, new float[] {1, 0.5f}, 2).cast(DType.BF16)).toFloatArray());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.softmax());
        assertEquals("softmax: BF16 tensors are stored, cast and multiplied (matmul, linear) only; cast to F32 first, got Tensor[2, 2] BF16 on cpu",
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(CPU, new float[] {1}, 1, 1).matmul(Tensor.of(CPU, new float[] {1}, 1, 1), DType.BF16));
    }
}
