package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Philox;
import dev.bertft.tensor.Simd;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The vectorized Philox gives the scalar reference's dropout draws, whatever the alignment of the range. */
class SimdPhiloxTest {
    @Test
    void matchesScalarPhilox() {
        assumeTrue(Simd.AVAILABLE, "Vector API not enabled in this JVM");
        long[] seeds = {0, 42, -1, 0x243F6A8885A308D3L};
        long[] offsets = {0, 7, 1L << 33, -5};
        int[][] ranges = {{0, 1}, {0, 4}, {1, 3}, {3, 70}, {5, 129}, {1_000_003, 513}, {(1 << 30) + 2, 41}};
        for (long seed : seeds) {
            for (long offset : offsets) {
                for (int[] r : ranges) {
                    int[] expected = new int[r[1]], actual = new int[r[1]];
                    Philox.dropoutDraws(seed, offset, r[0], expected, r[1]);
                    SimdPhilox.dropoutDraws(seed, offset, r[0], actual, r[1]);
                    assertArrayEquals(expected, actual, "seed " + seed + " offset " + offset + " range " + r[0] + "+" + r[1]);
                }
            }
        }
    }
}
