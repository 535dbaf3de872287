package dev.bertft.cuda;

import dev.bertft.tensor.Tensor;

import static dev.bertft.cuda.Launches.THREADS;
import static dev.bertft.cuda.Launches.suffix;

/**
 * The launches of embedding.cu: the gather one thread per output element; the backward one block
 * of 32 threads per segment of equal ids and 32 columns, summing the segment's rows in position
 * order (see {@link IdSegments}), the order of the CPU's scatter-add; a segment of
 * {@link #LONG_SEGMENT} positions or more gets a block of {@link #LONG_WARPS} warps, all but one
 * fetching its rows while the one adds them.
 */
final class EmbeddingKernels {
    /** embedding.cu's #defines: the length from which a segment is long, the warps of a long segment's block. */
    static final int LONG_SEGMENT = 256, LONG_WARPS = 9;
    private final Launches l;

    EmbeddingKernels(Launches launches) {
        this.l = launches;
    }

    /** out[t] ← weight[ids[t]] for {@code count} ids and rows of {@code h}. */
    void gather(Tensor weight, Tensor ids, Tensor out, int count, int h) {
        long n = out.numel();
        if (n > 0) {
            l.ops.launch(weight.dtype().bytes() == 4 ? "embedding_4" : "embedding_8", l.grid(n), 1, 1, THREADS, 1,
                    l.ptr(weight), l.ptr(ids), l.ptr(out), count, h);
        }
    }

    /**
     * out[ids[s]] ← Σ dy[order[start[s] .. start[s + 1])] for each of the segments, whose number the
     * kernels read from {@code counts} [segments, long segments], the long ones listed in
     * {@code longOnes}; the grids are sized for one segment per token of {@code tokens}.
     */
    void scatterAdd(Tensor dy, Tensor ids, Tensor start, Tensor order, Tensor longOnes, Tensor out, Tensor counts, int tokens, int h) {
        String t = suffix(dy.dtype());
        l.ops.launch("embedding_backward_" + t, l.rowGrid(tokens), (h + 31) / 32, 1, 32, 1,
                l.ptr(dy), l.ptr(ids), l.ptr(start), l.ptr(order), l.ptr(out), l.ptr(counts), h);
        l.ops.launch("embedding_backward_long_" + t, IdSegments.mostLong(tokens), (h + 31) / 32, 1, 32, LONG_WARPS,
                l.ptr(dy), l.ptr(ids), l.ptr(start), l.ptr(order), l.ptr(longOnes), l.ptr(out), l.ptr(counts), h);
    }
}
