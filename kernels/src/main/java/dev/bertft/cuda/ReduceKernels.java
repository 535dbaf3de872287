package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import dev.bertft.tensor.Ops;
import dev.bertft.tensor.Tensor;
import jcuda.driver.CUdeviceptr;

import java.util.List;

import static dev.bertft.cuda.Launches.THREADS;
import static dev.bertft.cuda.Launches.rowThreads;
import static dev.bertft.cuda.Launches.suffix;

/**
 * The launches of reduce.cu. Every sum is taken in fixed chunks added in a fixed order (no float
 * atomics), so a reduction gives the same bits on every run: column sums by blocks of 32 columns ×
 * 8 row groups ({@code part[8][33]}), row reductions one block per row, and sums of squares in
 * chunks whose partial sums one block adds in order.
 */
final class ReduceKernels {
    /** Rows per block of a column reduction: [4096, 768] gets 24 × 32 blocks. */
    private static final int COLUMN_CHUNK_ROWS = 128;
    private static final long SQUARES_CHUNK = 1 << 14;

    private final Launches l;
    private final CudaMemory memory;

    ReduceKernels(Launches launches, CudaMemory memory) {
        this.l = launches;
        this.memory = memory;
    }

    /** Column reductions of a contiguous [inner, outer] matrix into out[outer], by row chunks. */
    void columns(Ops.Reduce op, Tensor x, Tensor out, int inner, int outer) {
        String t = suffix(x.dtype());
        int chunkRows = Math.max(COLUMN_CHUNK_ROWS, (inner + 65534) / 65535); // grid y holds at most 65535 chunks
        int chunks = Math.max(1, (inner + chunkRows - 1) / chunkRows);
        CachingAllocator.Block<CUdeviceptr> partial = memory.scratch((long) chunks * outer * 8, "column reduction partials");
        try {
            l.ops.launch("reduce_cols_partial_" + t, (outer + 31) / 32, chunks, 1, 32, 8, op.ordinal(), l.ptr(x), partial.handle(),
                    inner, outer, chunkRows);
            l.ops.launch("reduce_cols_final_" + t, (outer + THREADS - 1) / THREADS, 1, 1, THREADS, 1, op.ordinal(), partial.handle(),
                    l.ptr(out), chunks, inner, outer);
        } finally {
            memory.release(partial);
        }
    }

    /** Reductions of {@code outer} contiguous runs of {@code inner} elements. */
    void rows(Ops.Reduce op, Tensor runs, Tensor out, int outer, int inner) {
        l.ops.launch("reduce_rows_" + suffix(runs.dtype()), l.rowGrid(outer), 1, 1, rowThreads(inner), 1, op.ordinal(), l.ptr(runs), l.ptr(out),
                outer, inner);
    }

    /** The index of the largest of each of out.numel() contiguous rows of {@code len}, a warp per row. */
    void argmax(Tensor rows, Tensor out, int len) {
        int n = out.numel();
        if (n > 0) l.ops.launch("argmax_rows_" + suffix(rows.dtype()), l.rowGrid((n + 7) / 8), 1, 1, THREADS, 1, l.ptr(rows), l.ptr(out), n, len);
    }

    /**
     * Every tensor's chunk sums go into one buffer and one block adds them all in order into the
     * float64 at {@code total}: a gradient norm over 200 parameters is one number, which the host
     * waits for once, not 200 times, or not at all (update_guard). float32 tensors go 48 to a
     * launch (sum_squares_list), others one each.
     */
    void sumOfSquares(List<Tensor> dense, CUdeviceptr total) {
        long blocks = 0;
        for (Tensor d : dense) {
            long chunk = d.dtype() == DType.F32 ? TensorList.CHUNK : SQUARES_CHUNK;
            blocks += (d.numel() + chunk - 1) / chunk;
        }
        if (blocks == 0) {
            l.ops.zero(total, 8);
            return;
        }
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException("sum of squares over " + blocks + " chunks");
        CachingAllocator.Block<CUdeviceptr> partial = memory.scratch(blocks * 8, "sum of squares partials");
        try {
            int[] at = {0}; // the next free partial
            TensorList list = new TensorList(l::ptr, tl -> {
                l.ops.launch("sum_squares_list_f32", tl.blocks(), 1, 1, THREADS, 1, tl.parameter(), partial.handle(), at[0]);
                at[0] += tl.blocks();
            });
            for (Tensor d : dense) {
                long n = d.numel();
                if (n == 0) continue;
                if (d.dtype() == DType.F32) {
                    list.add(d);
                    continue;
                }
                int b = (int) ((n + SQUARES_CHUNK - 1) / SQUARES_CHUNK);
                l.ops.launch("sum_squares_partial_" + suffix(d.dtype()), b, 1, 1, THREADS, 1, l.ptr(d),
                        partial.handle().withByteOffset(at[0] * 8L), n, SQUARES_CHUNK);
                at[0] += b;
            }
            list.flush();
            l.ops.launch("sum_partials", 1, 1, 1, 1024, 1, partial.handle(), total, at[0]);
        } finally {
            memory.release(partial);
        }
    }

    /**
     * guard ← {loss, ‖g‖, clipping coefficient, skip} from the float64 scalars loss and Σ g² (update_guard, one thread);
     * {@code halted}: null, or the word that makes a skip final (see {@link dev.bertft.tensor.Backend#updateGuard}).
     */
    void updateGuard(Tensor loss, Tensor squares, double maxNorm, Tensor halted, Tensor guard) {
        l.ops.launch("update_guard", 1, 1, 1, 32, 1, l.ptr(loss), l.ptr(squares), maxNorm, l.ptrOrNull(halted), l.ptr(guard));
    }
}
