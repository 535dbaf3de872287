package dev.bertft.cuda;

import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The Strides3 parameter: merged dims must address exactly the elements the unmerged view does.
 * Checked by evaluating the kernel's index math (common.cuh, strided_offsets) in Java.
 */
class StridedLayoutTest {

    /** strided_offsets of common.cuh for operand k (0 = a, 1 = b, 2 = c). */
    static long offset(int[] layout, long i, int operand) {
        int rank = layout[0];
        long off = 0;
        for (int d = rank - 1; d >= 0; d--) {
            int size = layout[1 + d];
            long q = i / size;
            int r = (int) (i - q * size);
            off += (long) r * layout[1 + (1 + operand) * StridedLayout.MAX_RANK + d];
            i = q;
        }
        return off;
    }

    /** The reference: row-major index i of shape → Σ coordinate·stride. */
    static long direct(int[] shape, int[] strides, long i) {
        long off = 0;
        for (int d = shape.length - 1; d >= 0; d--) {
            off += (i % shape[d]) * strides[d];
            i /= shape[d];
        }
        return off;
    }

    static void assertSameAddresses(int[] shape, int[] a, int[] b, int[] c) {
        int[] layout = StridedLayout.of(shape, a, b, c);
        long n = 1;
        for (int s : shape) n *= s;
        for (long i = 0; i < n; i++) {
            assertEquals(direct(shape, a, i), offset(layout, i, 0), "a at " + i);
            assertEquals(direct(shape, b, i), offset(layout, i, 1), "b at " + i);
            assertEquals(direct(shape, c, i), offset(layout, i, 2), "c at " + i);
        }
    }

    @Test
    void contiguousOperandsMergeToOneDim() {
        int[] layout = StridedLayout.of(new int[] {2, 3, 4}, new int[] {12, 4, 1}, new int[] {12, 4, 1}, new int[] {12, 4, 1});
        assertEquals(1, layout[0]);
        assertEquals(24, layout[1]);
        assertSameAddresses(new int[] {2, 3, 4}, new int[] {12, 4, 1}, new int[] {12, 4, 1}, new int[] {12, 4, 1});
    }

    @Test
    void broadcastAndTransposedOperandsKeepTheirDims() {
        // a: [2,3,4] contiguous; b: a [4] bias broadcast (stride 0 on the leading dims); c: contiguous
        int[] layout = StridedLayout.of(new int[] {2, 3, 4}, new int[] {12, 4, 1}, new int[] {0, 0, 1}, new int[] {12, 4, 1});
        assertEquals(2, layout[0]); // [6, 4]: the two leading dims merge (b is 0 on both)
        assertSameAddresses(new int[] {2, 3, 4}, new int[] {12, 4, 1}, new int[] {0, 0, 1}, new int[] {12, 4, 1});
        // a transposed [3,2] view of a [2,3] matrix, plus size-1 dims that must vanish
        assertSameAddresses(new int[] {1, 3, 1, 2}, new int[] {7, 1, 5, 3}, new int[] {0, 0, 0, 0}, new int[] {6, 2, 2, 1});
        // a narrow() of a wider row (concat's destination view)
        assertSameAddresses(new int[] {3, 2, 5}, new int[] {10, 5, 1}, new int[] {0, 0, 0}, new int[] {24, 12, 1});
    }

    @Test
    void scalarsHaveRankZeroAndAddressZero() {
        int[] layout = StridedLayout.of(new int[0], new int[0], new int[0], new int[0]);
        assertEquals(0, layout[0]);
        assertEquals(0, offset(layout, 0, 0));
        assertArrayEquals(new int[33], layoutWithoutRank(layout));
    }

    private static int[] layoutWithoutRank(int[] layout) {
        int[] copy = Arrays.copyOf(layout, layout.length);
        copy[0] = 0;
        return copy;
    }

    @Test
    void moreThanEightUnmergeableDimsAreRefused() {
        int[] shape = new int[9], a = new int[9], z = new int[9], c = new int[9];
        for (int d = 0; d < 9; d++) {
            shape[d] = 2;
            a[d] = 1 << (2 * (8 - d)); // gaps between dims: nothing merges
            c[d] = 1 << (8 - d);
        }
        assertThrows(IllegalArgumentException.class, () -> StridedLayout.of(shape, a, z, c));
    }
}
