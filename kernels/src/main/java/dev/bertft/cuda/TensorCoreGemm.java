package dev.bertft.cuda;

import jcuda.driver.CUdeviceptr;

/**
 * Our GEMM kernels (gemm.cu): TF32 tensor cores (mma.sync m16n8k8, 128×128 tiles of 4 warps, a
 * 4-stage cp.async pipeline) for float32, and a plain tiled kernel for float64, which only gradient
 * checks use.
 *
 * <p>Two shape decisions are made here rather than in the kernel. A batch of products that share
 * B and whose A and C rows follow on from one batch entry to the next (a linear layer over
 * [batch, tokens, features]) is one tall product. A product with too few 128×128 tiles to fill
 * the GPU and a long K (a weight gradient, K = batch × tokens) is split along K; the partial
 * products land in a workspace and one more kernel adds them in split order, so the result does
 * not depend on timing.
 */
final class TensorCoreGemm implements GemmEngine {
    private static final int TILE = 128, THREADS = 128, SUM_THREADS = 256, BK = 16, STAGES = 4, D_TILE = 16, MAX_GRID_Y = 65535,
            MAX_GRID_Z = 65535;
    /** The pipeline's shared memory: STAGES × (A tile + B tile) of 128 × (BK + 4) floats. */
    static final int SHARED_BYTES = STAGES * 2 * TILE * (BK + 4) * Float.BYTES;
    /** Two blocks fit on an SM (sm_80, sm_90); a split gets at least this much K. */
    private static final int BLOCKS_PER_SM = 2, MIN_SPLIT_K = 256, MAX_SPLITS = 16;
    /** The kernels' null bias. */
    private static final CUdeviceptr NO_BIAS = new CUdeviceptr();

    private final DeviceOps kernels;
    private final String reason;
    private CachingAllocator<CUdeviceptr> workspace;
    private int multiprocessors = 1;

    TensorCoreGemm(DeviceOps kernels, String reason) {
        this.kernels = kernels;
        this.reason = reason;
    }

    /** Where split products get their workspace, and how many SMs a grid should fill. */
    void runOn(CachingAllocator<CUdeviceptr> memory, int multiprocessors) {
        this.workspace = memory;
        this.multiprocessors = multiprocessors;
    }

    @Override
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, int batch,
                      CUdeviceptr a, long lda, long strideA, CUdeviceptr b, long ldb, long strideB,
                      CUdeviceptr c, long ldc, long strideC) {
        sgemm(transA, transB, m, n, k, batch, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, NO_BIAS);
    }

    /** The product plus {@code bias}[n] on every row, as the kernel writes it out: a Linear layer. */
    void sgemm(boolean transA, boolean transB, int m, int n, int k, int batch,
               CUdeviceptr a, long lda, long strideA, CUdeviceptr b, long ldb, long strideB,
               CUdeviceptr c, long ldc, long strideC, CUdeviceptr bias) {
        if (batch > 1 && strideB == 0 && !transA && strideA == (long) m * lda && strideC == (long) m * ldc
                && (long) m * batch <= (long) MAX_GRID_Y * TILE) {
            m *= batch;
            batch = 1;
        }
        long tiles = (long) ceil(m, TILE) * ceil(n, TILE) * batch, slots = (long) BLOCKS_PER_SM * multiprocessors;
        int splits = batch == 1 && tiles < slots ? (int) Math.min(Math.min(MAX_SPLITS, slots / tiles), k / MIN_SPLIT_K) : 1;
        sgemm(transA, transB, m, n, k, batch, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, bias, Math.max(1, splits));
    }

    /** The product with K cut in (up to) {@code splits} pieces of a whole number of K tiles. */
    private void sgemm(boolean transA, boolean transB, int m, int n, int k, int batch,
                       CUdeviceptr a, long lda, long strideA, CUdeviceptr b, long ldb, long strideB,
                       CUdeviceptr c, long ldc, long strideC, CUdeviceptr bias, int splits) {
        if (splits > 1 && batch != 1) throw new IllegalArgumentException("a K split is for single products, got a batch of " + batch);
        int chunk = Math.max(BK, ceil(ceil(k, splits), BK) * BK);
        splits = Math.max(1, ceil(k, chunk)); // K = 0 is one launch that writes zeros (plus the bias)
        String kernel = "sgemm_tf32_" + (transA ? "t" : "n") + (transB ? "t" : "n");
        if (splits == 1) {
            for (int first = 0; first < batch; first += MAX_GRID_Z) { // grid z holds at most 65535 batch entries
                long bytes = (long) first * Float.BYTES;
                kernels.launchShared(kernel, SHARED_BYTES, ceil(n, TILE), ceil(m, TILE), Math.min(batch - first, MAX_GRID_Z), THREADS, 1,
                        m, n, k, 1, chunk, a.withByteOffset(bytes * strideA), lda, strideA, b.withByteOffset(bytes * strideB), ldb, strideB,
                        bias, c.withByteOffset(bytes * strideC), ldc, strideC);
            }
            return;
        }
        long mn = (long) m * n;
        CachingAllocator.Block<CUdeviceptr> partial = workspace.allocate(splits * mn * Float.BYTES,
                "GEMM workspace (" + splits + " K splits of " + m + "x" + n + ")");
        try {
            kernels.launchShared(kernel, SHARED_BYTES, ceil(n, TILE), ceil(m, TILE), splits, THREADS, 1,
                    m, n, k, splits, chunk, a, lda, 0L, b, ldb, 0L, NO_BIAS, partial.handle(), (long) n, mn);
            kernels.launch("splitk_sum", (int) Math.min(ceil(mn, SUM_THREADS), 4096L * multiprocessors), 1, 1, SUM_THREADS, 1,
                    partial.handle(), bias, c, m, n, ldc, splits);
        } finally {
            workspace.release(partial); // stream order keeps the block alive for the launches above
        }
    }

    void dgemm(boolean transA, boolean transB, int m, int n, int k, int batch,
               CUdeviceptr a, long lda, long strideA, CUdeviceptr b, long ldb, long strideB,
               CUdeviceptr c, long ldc, long strideC) {
        kernels.launch("dgemm_tiled", ceil(n, D_TILE), ceil(m, D_TILE), Math.min(batch, MAX_GRID_Z), D_TILE, D_TILE,
                transA ? 1 : 0, transB ? 1 : 0, m, n, k, batch, a, lda, strideA, b, ldb, strideB, c, ldc, strideC);
    }

    private static int ceil(int x, int d) {
        return (x + d - 1) / d;
    }

    private static long ceil(long x, long d) {
        return (x + d - 1) / d;
    }

    @Override
    public String describe() {
        return "own TF32 tensor-core kernel (mma.sync m16n8k8): " + reason;
    }
}
