package dev.bertft.cuda;

import java.util.Arrays;

/**
 * The Strides3 kernel parameter of common.cuh: an iteration shape and the strides of up to
 * three operands along it, as 1 + 4·8 ints. Size-1 dims are dropped and neighbouring dims that
 * are contiguous with each other in every operand are merged, so a plain contiguous op has
 * rank 1 and the kernel's index math stays short.
 */
final class StridedLayout {
    static final int MAX_RANK = 8;

    private StridedLayout() {}

    static int[] of(int[] shape, int[] a, int[] b, int[] c) {
        int[] ns = new int[shape.length], na = new int[shape.length], nb = new int[shape.length], nc = new int[shape.length];
        int rank = 0;
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] == 1) continue;
            if (rank > 0 && na[rank - 1] == a[d] * shape[d] && nb[rank - 1] == b[d] * shape[d] && nc[rank - 1] == c[d] * shape[d]) {
                // dim d continues dim rank-1 in every operand: one dim of the product's size
                ns[rank - 1] *= shape[d];
                na[rank - 1] = a[d];
                nb[rank - 1] = b[d];
                nc[rank - 1] = c[d];
                continue;
            }
            ns[rank] = shape[d];
            na[rank] = a[d];
            nb[rank] = b[d];
            nc[rank] = c[d];
            rank++;
        }
        if (rank > MAX_RANK) {
            throw new IllegalArgumentException("strided op over shape " + Arrays.toString(shape) + " needs " + rank
                    + " dims after merging; the kernels take at most " + MAX_RANK);
        }
        int[] out = new int[1 + 4 * MAX_RANK];
        out[0] = rank;
        for (int d = 0; d < rank; d++) {
            out[1 + d] = ns[d];
            out[1 + MAX_RANK + d] = na[d];
            out[1 + 2 * MAX_RANK + d] = nb[d];
            out[1 + 3 * MAX_RANK + d] = nc[d];
        }
        return out;
    }
}
