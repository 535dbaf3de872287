package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import jcuda.driver.CUdeviceptr;

import java.util.Arrays;

import static dev.bertft.cuda.Launches.THREADS;
import static dev.bertft.cuda.Launches.suffix;

/**
 * The launches of layernorm.cu: one warp per row, {@link Launches#THREADS} / 32 = 8 rows per block;
 * the plain backward's dγ and dβ in two passes, over chunks of {@link #CHUNK_ROWS} rows and then over
 * the chunks, by blocks of 32 columns × 8 row groups. The residual LayerNorm's backward sums them
 * itself, in blocks of {@link #BACKWARD_WARPS} warps, each over a chunk of rows, into the partials
 * the second pass adds.
 */
final class LayerNormKernels {
    private static final int CHUNK_ROWS = 256;
    /** Warps a block of the residual LayerNorm's backward (layernorm.cu's LN_BACKWARD_WARPS). */
    private static final int BACKWARD_WARPS = 4;
    /** The widest row whose column sums fit that kernel's shared memory (128·LN_MAX_VECS). */
    static final int BACKWARD_MAX_LEN = 1024;

    private final Launches l;
    private final CudaMemory memory;

    LayerNormKernels(Launches launches, CudaMemory memory) {
        this.l = launches;
        this.memory = memory;
    }

    /** Blocks for {@code rows} rows, a warp each. */
    private int blocks(int rows) {
        return l.rowGrid((rows + 7) / 8);
    }

    /** y, μ and rstd of {@code rows} rows of {@code len}; also y as BF16/F16 into {@code half} when not null. */
    void forward(Tensor in, Tensor g, Tensor b, Tensor out, Tensor mean, Tensor rstd, int rows, int len, double eps, Tensor half) {
        Object e = in.dtype() == DType.F32 ? (Object) (float) eps : (Object) eps;
        if (half == null) {
            l.ops.launch("layernorm_" + suffix(in.dtype()), blocks(rows), 1, 1, THREADS, 1,
                    l.ptr(in), l.ptr(g), l.ptr(b), l.ptr(out), l.ptr(mean), l.ptr(rstd), rows, len, e);
        } else {
            l.ops.launch("layernorm_f32_copy_" + suffix(half.dtype()), blocks(rows), 1, 1, THREADS, 1,
                    l.ptr(in), l.ptr(g), l.ptr(b), l.ptr(out), l.ptr(mean), l.ptr(rstd), rows, len, e, l.ptr(half));
        }
    }

    void backward(Tensor dy, Tensor x, Tensor gamma, Tensor mean, Tensor rstd, Tensor dx, int rows, int len) {
        if (rows > 0) {
            l.ops.launch("layernorm_backward_" + suffix(x.dtype()), blocks(rows), 1, 1, THREADS, 1,
                    l.ptr(dy), l.ptr(x), l.ptr(gamma), l.ptr(mean), l.ptr(rstd), l.ptr(dx), rows, len);
        }
    }

    /** dγ = Σ_rows dy ⊙ x̂ and dβ = Σ_rows dy, in fixed chunks added in a fixed order. */
    void paramGrads(Tensor gs, Tensor xs, Tensor mu, Tensor rs, Tensor dgamma, Tensor dbeta) {
        int len = xs.size(-1), rows = xs.numel() / Math.max(1, len);
        String t = suffix(xs.dtype());
        int chunks = Math.max(1, (rows + CHUNK_ROWS - 1) / CHUNK_ROWS);
        withPartials(chunks, len, (pg, pb) -> l.ops.launch("layernorm_param_grads_partial_" + t, (len + 31) / 32, chunks, 1, 32, 8,
                l.ptr(gs), l.ptr(xs), l.ptr(mu), l.ptr(rs), pg, pb, rows, len, CHUNK_ROWS), dgamma, dbeta);
    }

    /** What fills the [chunks, len] double partial sums of dγ (at pg) and dβ (at pb). */
    private interface PartialSums {
        void launch(CUdeviceptr pg, CUdeviceptr pb);
    }

    /** Scratch partials for {@code chunks} chunks, filled by {@code sums} and added into dγ and dβ by the second pass. */
    private void withPartials(int chunks, int len, PartialSums sums, Tensor dgamma, Tensor dbeta) {
        long partialBytes = (long) chunks * len * 8;
        CachingAllocator.Block<CUdeviceptr> pg = memory.scratch(partialBytes, "LayerNorm dgamma partial sums");
        CachingAllocator.Block<CUdeviceptr> pb = memory.scratch(partialBytes, "LayerNorm dbeta partial sums");
        try {
            sums.launch(pg.handle(), pb.handle());
            l.ops.launch("layernorm_param_grads_final_" + suffix(dgamma.dtype()), (len + 31) / 32, 1, 1, 32, 8,
                    pg.handle(), pb.handle(), l.ptr(dgamma), l.ptr(dbeta), chunks, len);
        } finally {
            memory.release(pg);
            memory.release(pb);
        }
    }

    /**
     * sum = x ⊙ dropout mask + residual and y = LayerNorm(sum), float32, the mask drawn from (seed,
     * start's value + offset); also y as BF16/F16 into {@code half} when not null, x then float32 or
     * in half's format.
     */
    void dropoutAdd(Tensor x, Tensor residual, Tensor g, Tensor b, Tensor sum, Tensor y, Tensor mean, Tensor rstd, int rows, int len,
                    double eps, double p, long seed, CUdeviceptr start, long offset, Tensor half) {
        if (rows > 0 && len > 0) {
            Object[] args = {l.ptr(x), l.ptr(residual), l.ptr(g), l.ptr(b), l.ptr(sum), l.ptr(y), l.ptr(mean), l.ptr(rstd), rows, len,
                    (float) eps, (float) p, (float) (1 / (1 - p)), seed, start, offset};
            launchPerRow(rows, half == null ? "dropout_add_layernorm_f32" : "dropout_add_layernorm_" + suffix(x.dtype()) + "_copy_"
                    + suffix(half.dtype()), args, half);
        }
    }

    /** A kernel of one warp per row, with {@code half} (when not null) as its last argument, after {@code args}. */
    private void launchPerRow(int rows, String kernel, Object[] args, Tensor half) {
        l.ops.launch(kernel, blocks(rows), 1, 1, THREADS, 1, withHalf(args, half));
    }

    /** {@code args}, then {@code half}'s address when it is not null: the kernels that write a copy take it last. */
    private Object[] withHalf(Object[] args, Tensor half) {
        if (half == null) return args;
        Object[] copied = Arrays.copyOf(args, args.length + 1);
        copied[args.length] = l.ptr(half);
        return copied;
    }

    /**
     * d(residual) and dx through the same mask, drawn again from (seed, start's value + offset);
     * dx float32 (written only when p > 0: else it is dres), or BF16/F16 (dres when p = 0, rounded),
     * the kernel that writes it then writing no float32 dx; and dγ, dβ. Rows at most
     * {@link #BACKWARD_MAX_LEN} wide. A block takes a chunk of rows, a warp a few of them: enough
     * chunks to fill the GPU about once ({@link #BACKWARD_WARPS} warps, 4 blocks an SM), so the
     * partials the second pass adds stay few.
     */
    void dropoutAddBackward(Tensor dy, Tensor sum, Tensor gamma, Tensor mean, Tensor rstd, Tensor dres, Tensor dx, Tensor dgamma,
                            Tensor dbeta, int rows, int len, double p, long seed, CUdeviceptr start, long offset) {
        if (len > BACKWARD_MAX_LEN) throw new IllegalArgumentException("residual LayerNorm backward of rows of " + len + " > " + BACKWARD_MAX_LEN);
        Tensor half = dx.dtype().isHalf() ? dx : null;
        String kernel = half == null ? "dropout_add_layernorm_backward_f32" : "dropout_add_layernorm_backward_f32_copy_" + suffix(half.dtype());
        long warps = 4L * l.multiprocessors() * BACKWARD_WARPS;
        int perBlock = BACKWARD_WARPS * (int) Math.max(1, (rows + warps - 1) / warps);
        int chunks = Math.max(1, (rows + perBlock - 1) / perBlock);
        withPartials(chunks, len, (pg, pb) -> l.ops.launch(kernel, chunks, 1, 1, 32 * BACKWARD_WARPS, 1, withHalf(new Object[] {
                l.ptr(dy), l.ptr(sum), l.ptr(gamma), l.ptr(mean), l.ptr(rstd), l.ptr(dres), half == null ? l.ptr(dx) : Launches.NULL, rows, len,
                (float) p, (float) (1 / (1 - p)), seed, start, offset, pg, pb, perBlock}, half)), dgamma, dbeta);
    }
}
