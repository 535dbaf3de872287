package dev.bertft.cuda;

import dev.bertft.tensor.Philox;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * philox.cuh is the same generator as dev.bertft.tensor.Philox: its functions are
 * __host__ __device__, so a host program built by nvcc from the very header the kernels include
 * prints draws that must equal the Java ones bit for bit (blocks, uniforms, 16-bit dropout draws
 * and factors).
 * The device build (__umulhi instead of the 64-bit product) is covered by the GPU parity tests.
 */
class PhiloxSourceTest {

    private static final long[][] CASES = {
            {0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {42, 7, 123456},
            {0x9E3779B97F4A7C15L, 0xFFFFFFFFFFFFFFFFL, 0x00000001FFFFFFFFL}, {-1, 3, 1L << 40}, {1234567890123L, 99, 77}};

    @Test
    void headerMatchesJava() throws Exception {
        var nvcc = Nvcc.find();
        Assumptions.assumeTrue(nvcc.isPresent(), "nvcc not found (CUDA_HOME, /usr/local/cuda): philox.cuh not checked on the host");
        Path dir = Files.createTempDirectory("philox");
        StringBuilder src = new StringBuilder("#include \"philox.cuh\"\n#include <stdio.h>\nint main() {\n");
        src.append("  unsigned long long c[][3] = {");
        for (long[] c : CASES) src.append(String.format("{%dull, %dull, %dull},", c[0], c[1], c[2]));
        src.append("};\n");
        src.append("  for (int i = 0; i < ").append(CASES.length).append("; i++) {\n")
                .append("    Philox4 b = philox_block(c[i][0], c[i][1], c[i][2]);\n")
                .append("    printf(\"%u %u %u %u\\n\", b.v[0], b.v[1], b.v[2], b.v[3]);\n")
                .append("    for (int lane = 0; lane < 4; lane++) printf(\"%.9g %.17g\\n\", (double) philox_uniform(philox_lane(b, lane)),")
                .append(" philox_uniform_open_zero(philox_lane(b, lane)));\n")
                .append("    for (int e = 0; e < 8; e++) printf(\"%u %.9g\\n\", dropout_draw(b, c[i][2] * 8 + e),")
                .append(" (double) dropout_factor(c[i][0], c[i][1], c[i][2] * 8 + e, 0.1f, 1.0f / 0.9f));\n")
                .append("  }\n  return 0;\n}\n");
        Files.writeString(dir.resolve("check.cu"), src);
        Path exe = dir.resolve("check");
        var build = Nvcc.run(dir, List.of(nvcc.get().toString(), "-I", Nvcc.cudaSources().toString(), "-o", exe.toString(), "check.cu"), 600);
        assertEquals(0, build.exitCode(), build.output());
        var run = Nvcc.run(dir, List.of(exe.toString()), 60);
        assertEquals(0, run.exitCode(), run.output());

        StringBuilder expected = new StringBuilder();
        int[] bits = new int[4];
        for (long[] c : CASES) {
            Philox.block(c[0], c[1], c[2], bits);
            expected.append(String.format("%d %d %d %d%n", bits[0] & 0xFFFFFFFFL, bits[1] & 0xFFFFFFFFL, bits[2] & 0xFFFFFFFFL,
                    bits[3] & 0xFFFFFFFFL));
            for (int lane = 0; lane < 4; lane++) {
                expected.append(String.format("%s %s%n", g9(Philox.uniform(bits[lane])), g17(Philox.uniformOpenZero(bits[lane]))));
            }
            for (int e = 0; e < 8; e++) {
                int draw = Philox.dropoutDraw(c[0], c[1], c[2] * 8 + e);
                expected.append(String.format("%d %s%n", draw, g9(Philox.kept(draw, 0.1f) ? 1.0f / 0.9f : 0f)));
            }
        }
        assertEquals(expected.toString(), run.output());
    }

    /** C's %.9g of a float and %.17g of a double, via the exact decimal expansion C prints. */
    private static String g9(float f) {
        return cFormat(f, 9);
    }

    private static String g17(double d) {
        return cFormat(d, 17);
    }

    private static String cFormat(double v, int digits) {
        if (v == 0) return "0";
        java.math.BigDecimal b = new java.math.BigDecimal(v).round(new java.math.MathContext(digits, java.math.RoundingMode.HALF_EVEN));
        int exp = b.precision() - b.scale() - 1;
        if (exp < -4 || exp >= digits) {
            String m = b.unscaledValue().abs().toString();
            m = m.length() > 1 ? m.charAt(0) + "." + m.substring(1) : m;
            m = m.contains(".") ? m.replaceAll("0+$", "").replaceAll("\\.$", "") : m;
            return (v < 0 ? "-" : "") + m + String.format("e%s%02d", exp < 0 ? "-" : "+", Math.abs(exp));
        }
        String s = b.toPlainString();
        return s.contains(".") ? s.replaceAll("0+$", "").replaceAll("\\.$", "") : s;
    }
}
