package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Simd;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Vector GELU and GELU' against the double-precision series/continued-fraction erf. */
class SimdGeluTest {
    @Test
    void matchesDoublePrecisionGelu() {
        assumeTrue(Simd.AVAILABLE, "Vector API not enabled in this JVM");
        int n = 40_003; // not a multiple of the vector length: the scalar tail runs too
        float[] x = new float[n], y = new float[n], dy = new float[n], dx = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = -12f + 24f * i / (n - 1);
            dy[i] = 1f - 2f * (i % 7) / 7f;
        }
        x[5] = 0f;
        x[6] = -0f;
        x[7] = 1e30f;
        x[8] = -1e30f;
        SimdGelu.forward(x, 0, y, 0, n);
        SimdGelu.backward(x, 0, dy, 0, dx, 0, n);
        for (int i = 0; i < n; i++) {
            double scale = Math.max(1, Math.abs(x[i]));
            // float rounding of x/√2, the table, and the products: a few float ulps of |x|
            assertEquals(Special.gelu(x[i]), y[i], 4e-7 * scale, "gelu(" + x[i] + ")");
            if (Math.abs(x[i]) < 1e3) assertEquals(dy[i] * Special.geluGrad(x[i]), dx[i], 4e-7 * scale, "gelu'(" + x[i] + ")");
        }
    }
}
