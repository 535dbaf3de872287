package dev.bertft.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Float16;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** BF16 and F16 tensors in safetensors files keep their 16-bit patterns, and widen as PyTorch does. */
class HalfTensorsTest {
    private static final Backend CPU = new CpuBackend(1);

    @Test
    void safetensorsKeepsHalfTensorsUnwidened(@TempDir Path dir) throws IOException {
        short[] bf = {0x3F80, (short) 0xC049, 0x7F80}, f16 = {0x3C00, (short) 0x8001};
        Path file = dir.resolve("half.safetensors");
        new SafetensorsWriter().add("b", DType.BF16, new long[] {3}, bf).add("h", DType.F16, new long[] {2}, f16)
                .add("f", new long[] {1}, new float[] {1f}).write(file);
        try (SafetensorsFile f = SafetensorsFile.open(file)) {
            assertEquals(StoredType.BF16, f.info("b").dtype());
            assertArrayEquals(bf, f.readHalf("b"));
            assertArrayEquals(f16, f.readHalf("h"));
            assertArrayEquals(new float[] {1f, -3.140625f, Float.POSITIVE_INFINITY}, f.readF32("b"));
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> f.readHalf("f"));
            assertTrue(e.getMessage().endsWith("tensor 'f': is F32; readHalf reads F16 or BF16"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> new SafetensorsWriter().add("x", DType.F32, new long[] {1}, new short[1]));
    }

    /** PyTorch's own F16 and BF16 tensors (all_dtypes.safetensors) read as stored, then widened, give its float32 values. */
    @Test
    void pytorchHalfTensorsReadAsStored() throws Exception {
        JsonNode expected = new ObjectMapper().readTree(HalfTensorsTest.class.getResourceAsStream("/safetensors/all_dtypes.expected.json"));
        try (SafetensorsFile f = SafetensorsFile.open(Path.of(HalfTensorsTest.class.getResource("/safetensors/all_dtypes.safetensors").toURI()))) {
            for (String name : new String[] {"f16", "bf16"}) {
                short[] bits = f.readHalf(name);
                JsonNode f32 = expected.get(name).get("f32_bits");
                assertEquals(f32.size(), bits.length);
                for (int i = 0; i < bits.length; i++) {
                    float widened = name.equals("f16") ? Float16.f16ToFloat(bits[i]) : Float16.bf16ToFloat(bits[i]);
                    float torch = Float.intBitsToFloat((int) f32.get(i).asLong());
                    assertTrue(Float.isNaN(torch) ? Float.isNaN(widened) : Float.floatToRawIntBits(torch) == Float.floatToRawIntBits(widened),
                            name + "[" + i + "]");
                    Tensor t = CPU.fromHost(new short[] {bits[i]}, name.equals("f16") ? DType.F16 : DType.BF16, 1);
                    assertTrue(Float.isNaN(torch) ? Float.isNaN(t.toFloatArray()[0]) : t.toFloatArray()[0] == torch, name + "[" + i + "] as a tensor");
                }
            }
        }
    }
}
