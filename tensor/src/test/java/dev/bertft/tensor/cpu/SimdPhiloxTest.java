package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Philox;
import dev.bertft.tensor.Simd;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The vectorized Philox gives the scalar reference's dropout draws, whatever the alignment of the
 * range, and its kept bits are those of the scalar draws packed one by one.
 */
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

    @Test
    void keptBitsAreTheScalarDrawsPacked() {
        assumeTrue(Simd.AVAILABLE, "Vector API not enabled in this JVM");
        // row starts at multiples of 8; lengths short of, at and past one and two vectors of blocks
        long[][] ranges = {{0, 1}, {8, 31}, {64, 32}, {128, 70}, {128 * 128, 128}, {8_000_008, 512}, {1L << 33, 100}};
        for (long seed : new long[] {0, 42, 0x243F6A8885A308D3L}) {
            for (long offset : new long[] {0, 7, 1L << 33}) {
                for (int threshold : new int[] {0, 6554, 32768, 65535, 65536}) {
                    for (long[] r : ranges) {
                        int n = (int) r[1], words = (n + 31) / 32;
                        int[] draws = new int[n], expected = new int[words + 2], actual = new int[words + 2];
                        actual[0] = actual[words + 1] = expected[0] = expected[words + 1] = 0x5A5A5A5A;
                        actual[1] = -1;   // stale bits of an earlier call are cleared
                        Philox.dropoutDraws(seed, offset, r[0], draws, n);
                        for (int j = 0; j < n; j++) if (draws[j] >= threshold) expected[1 + j / 32] |= 1 << (j % 32);
                        SimdPhilox.keptBits(seed, offset, r[0], n, threshold, actual, 1);
                        assertArrayEquals(expected, actual, "seed " + seed + " offset " + offset + " threshold " + threshold
                                + " range " + r[0] + "+" + n);
                    }
                }
            }
        }
    }
}
