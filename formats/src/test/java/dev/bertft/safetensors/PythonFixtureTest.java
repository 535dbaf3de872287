package dev.bertft.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Reads all_dtypes.safetensors, written by make_safetensors_fixtures.py with its tensor bytes from
 * PyTorch, and compares every element with PyTorch's own conversions in all_dtypes.expected.json.
 */
class PythonFixtureTest {

    private static final Path FILE = Fixtures.resource("all_dtypes.safetensors");

    @Test
    void headerNamesMetadataAndLayoutOrder() throws Exception {
        try (SafetensorsFile f = SafetensorsFile.open(FILE)) {
            // the header lists keys in reverse name order; names() follows the data layout
            assertEquals(List.of("f32", "f64", "f16", "bf16", "i64", "i64_small", "i32", "u8", "bool", "scalar", "empty"),
                    f.names());
            assertEquals(Map.of("format", "pt", "source", "make_safetensors_fixtures.py"), f.metadata());
            TensorInfo f64 = f.info("f64");
            assertEquals(StoredType.F64, f64.dtype());
            assertArrayEquals(new long[] {8}, f64.shape());
            assertEquals(24, f64.begin()); // after f32 [2, 3] = 24 bytes
            assertEquals(24 + 64, f64.end());
            assertEquals(0, f.info("scalar").rank());
            assertEquals(1, f.info("scalar").elementCount());
            assertEquals(0, f.info("empty").byteSize());
        }
    }

    @Test
    void everyTensorMatchesPyTorch() throws Exception {
        JsonNode expected = new ObjectMapper().readTree(Fixtures.resource("all_dtypes.expected.json").toFile());
        try (SafetensorsFile f = SafetensorsFile.open(FILE)) {
            for (Map.Entry<String, JsonNode> entry : expected.properties()) {
                String name = entry.getKey();
                JsonNode e = entry.getValue();
                TensorInfo info = f.info(name);
                assertEquals(e.get("dtype").asText(), info.dtype().name(), name);
                assertArrayEquals(longs(e.get("shape")), info.shape(), name);
                if (info.dtype().isFloatingPoint()) {
                    long[] f32Bits = longs(e.get("f32_bits"));
                    float[] asF32 = f.readF32(name);
                    assertEquals(f32Bits.length, asF32.length, name);
                    for (int i = 0; i < asF32.length; i++) {
                        float torch = Float.intBitsToFloat((int) f32Bits[i]);
                        assertTrue(Fixtures.sameFloat(torch, asF32[i]), name + "[" + i + "]: torch " + torch + ", read " + asF32[i]);
                    }
                    long[] f64Bits = longs(e.get("f64_bits"));
                    double[] asF64 = f.readF64(name);
                    for (int i = 0; i < asF64.length; i++) {
                        double torch = Double.longBitsToDouble(f64Bits[i]);
                        assertTrue(Fixtures.sameDouble(torch, asF64[i]), name + "[" + i + "]: torch " + torch + ", read " + asF64[i]);
                    }
                } else {
                    long[] ints = longs(e.get("ints"));
                    assertArrayEquals(ints, f.readI64(name), name);
                    boolean fitsInt = true;
                    for (long v : ints) fitsInt &= v == (int) v;
                    if (fitsInt) {
                        int[] asI32 = f.readI32(name);
                        for (int i = 0; i < ints.length; i++) assertEquals(ints[i], asI32[i], name + "[" + i + "]");
                    }
                }
            }
        }
    }

    @Test
    void i64OutOfIntRangeIsAnErrorNamingTheElement() throws Exception {
        try (SafetensorsFile f = SafetensorsFile.open(FILE)) {
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> f.readI32("i64"));
            assertTrue(e.getMessage().startsWith(FILE + ": tensor 'i64': "), e.getMessage());
            assertTrue(e.getMessage().contains("element 2 = 1099511627776"), e.getMessage());
        }
    }

    @Test
    void wrongTypeAndUnknownNameAreClearErrors() throws Exception {
        try (SafetensorsFile f = SafetensorsFile.open(FILE)) {
            SafetensorsException wrong = assertThrows(SafetensorsException.class, () -> f.readF32("i32"));
            assertEquals(FILE + ": tensor 'i32': is I32; readF32 reads F32, F16, BF16 or F64", wrong.getMessage());
            assertThrows(SafetensorsException.class, () -> f.readI64("f32"));
            assertThrows(SafetensorsException.class, () -> f.readF64("u8"));
            SafetensorsException unknown = assertThrows(SafetensorsException.class, () -> f.readF32("nope"));
            assertEquals(FILE + ": tensor 'nope': no such tensor in this file", unknown.getMessage());
        }
    }

    @Test
    void readAfterCloseIsAnError() throws Exception {
        SafetensorsFile f = SafetensorsFile.open(FILE);
        f.close();
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> f.readF32("f32"));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
    }

    private static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) out[i] = array.get(i).asLong();
        return out;
    }
}
