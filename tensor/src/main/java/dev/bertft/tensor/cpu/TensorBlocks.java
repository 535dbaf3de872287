package dev.bertft.tensor.cpu;

import java.util.List;

/**
 * A list of contiguous float tensors (a model's gradients, parameters or moments) cut into blocks
 * of at most {@link #BLOCK} elements, each block inside one tensor: one parallel loop over the
 * blocks covers every tensor, instead of one loop per tensor, most of them too small to share.
 * Block boundaries depend only on the tensors' sizes, so per-block sums added in a fixed order
 * give the same total whatever the thread count.
 */
final class TensorBlocks {
    static final int BLOCK = 1 << 14;

    /** Block b covers elements [start[b], start[b] + length[b]) of tensor tensor[b]. */
    final int[] tensor, start, length;
    /** firstBlock[i] is tensor i's first block; firstBlock[tensors] the block count. */
    final int[] firstBlock;

    TensorBlocks(List<Integer> sizes) {
        firstBlock = new int[sizes.size() + 1];
        for (int i = 0; i < sizes.size(); i++) firstBlock[i + 1] = firstBlock[i] + (sizes.get(i) + BLOCK - 1) / BLOCK;
        int blocks = firstBlock[sizes.size()];
        tensor = new int[blocks];
        start = new int[blocks];
        length = new int[blocks];
        for (int i = 0; i < sizes.size(); i++) {
            for (int b = firstBlock[i]; b < firstBlock[i + 1]; b++) {
                tensor[b] = i;
                start[b] = (b - firstBlock[i]) * BLOCK;
                length[b] = Math.min(BLOCK, sizes.get(i) - start[b]);
            }
        }
    }

    int blocks() {
        return tensor.length;
    }

    /**
     * Σ x² of every tensor (x[i] from offset[i]), the total in double: each block summed on its own
     * ({@link SimdSquares}, or in double in order without the Vector API), then each tensor's blocks
     * in order, then the tensors in order; so the same bits whatever the thread count.
     */
    double sumOfSquares(Parallel pool, float[][] x, int[] offset) {
        double[] partial = new double[blocks()];
        forEachBlock(pool, b -> {
            float[] a = x[tensor[b]];
            int from = offset[tensor[b]] + start[b];
            partial[b] = dev.bertft.tensor.Simd.AVAILABLE ? SimdSquares.sum(a, from, length[b]) : squaresInDouble(a, from, from + length[b]);
        });
        double total = 0;
        for (int t = 0; t + 1 < firstBlock.length; t++) {
            double sum = 0;
            for (int b = firstBlock[t]; b < firstBlock[t + 1]; b++) sum += partial[b];
            total += sum;
        }
        return total;
    }

    /** Σ a[i]² over [from, to), each square and the sum in double, in order: without the Vector API, and SimdSquares' tail. */
    static double squaresInDouble(float[] a, int from, int to) {
        double acc = 0;
        for (int i = from; i < to; i++) acc += (double) a[i] * a[i];
        return acc;
    }

    /** Runs {@code body(block)} for every block, blocks spread over the pool's threads. */
    void forEachBlock(Parallel pool, java.util.function.IntConsumer body) {
        pool.forRange(blocks(), 1, (b0, b1) -> {
            for (int b = b0; b < b1; b++) body.accept(b);
        });
    }
}
