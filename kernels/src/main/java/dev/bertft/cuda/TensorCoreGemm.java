package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import jcuda.driver.CUdeviceptr;

import java.util.Arrays;

/**
 * Our GEMM kernels: TF32 tensor cores (gemm.cu: mma.sync m16n8k8, 128×128 tiles of 4 warps, a
 * 3-stage cp.async pipeline of K steps of 32) for float32; BF16/F16 tensor cores (gemm_half.cu: mma.sync m16n8k16,
 * float32 accumulation, ldmatrix, 128×256 tiles of 8 warps, the same pipeline) with float32 or half
 * output; and a plain tiled kernel for float64, which only gradient checks use.
 *
 * <p>Two shape decisions are made here rather than in the kernel. A batch of products that share
 * B and whose A and C rows follow on from one batch entry to the next (a linear layer over
 * [batch, tokens, features]) is one tall product. A product with too few tiles to fill
 * the GPU and a long K (a weight gradient, K = batch × tokens) is split along K; the partial
 * products land in a workspace and one more kernel adds them in split order, so the result does
 * not depend on timing.
 */
final class TensorCoreGemm implements GemmEngine {
    static final int TILE = 128, THREADS = 128, SUM_THREADS = 256, TF32_STAGES = 3, D_TILE = 16, MAX_GRID_Y = 65535, MAX_GRID_Z = 65535;
    /** gemm_half.cu's tile (TILE rows), threads and stages. */
    static final int HALF_TILE_N = 256, HALF_THREADS = 256, HALF_STAGES = 3;

    /**
     * One family of tensor-core kernels, named prefix + transpose variant + suffix: element sizes of
     * the operands and of C, a block's tile of C ({@link #TILE} rows, tileN columns), its threads and
     * how many blocks an SM holds, K per pipeline stage, shared memory; for a K split, the suffix of
     * the kernels that write the float32 pieces and the kernel that adds them into C; whether it
     * is the half family, whose kernels have two of the epilogues.
     */
    private record Family(String prefix, String suffix, int inBytes, int outBytes, int tileN, int threads, int blocksPerSm, int bk,
                          int sharedBytes, String pieceSuffix, String splitSum, boolean half) {
        String kernel(boolean transA, boolean transB, String suffix) {
            return prefix + (transA ? "t" : "n") + (transB ? "t" : "n") + suffix;
        }

        /**
         * Whether this family's kernels have {@code epilogue} for the product's layout: the float32
         * ones all of them; the half ones, with C in their format, GELU for x·Wᵀ and GELU_GRAD for
         * dY·W (the bias already in aux: none taken), and ADD with float32 C.
         */
        boolean has(Epilogue epilogue, boolean transA, boolean transB) {
            return switch (epilogue) {
                case PLAIN -> true;
                case GELU -> !half || (outBytes == 2 && !transA && transB);
                case GELU_GRAD -> !half || (outBytes == 2 && !transA && !transB);
                case ADD -> outBytes == Float.BYTES;
            };
        }

        /**
         * The launch's arguments, then what every tensor-core kernel takes after them: where A's
         * sums over K go (or null), the epilogue and its matrix.
         */
        Object[] arguments(CUdeviceptr rowSums, Epilogue epilogue, CUdeviceptr aux, Object... args) {
            Object[] all = Arrays.copyOf(args, args.length + 3);
            all[args.length] = rowSums;
            all[args.length + 1] = epilogue.ordinal();
            all[args.length + 2] = aux;
            return all;
        }
    }

    /**
     * Float32, BK 32: TF32_STAGES × (A tile + B tile) of 128 × 32 floats of shared memory, 96 KiB; two
     * blocks fit on an SM of sm_90 (one on sm_80).
     */
    private static final Family TF32 = new Family("sgemm_tf32_", "", Float.BYTES, Float.BYTES, TILE, THREADS, 2, 32,
            TF32_STAGES * 2 * TILE * 32 * Float.BYTES, "", "splitk_sum", false);
    /** The pipeline's shared memory for float32 operands. */
    static final int SHARED_BYTES = TF32.sharedBytes();
    /** A split gets at least this much K. */
    private static final int MIN_SPLIT_K = 256, MAX_SPLITS = 16;
    /** The share of the resident block slots a split should keep busy through its last wave. */
    private static final double FULL_ENOUGH = 0.85;
    /** The kernels' null bias. */
    static final CUdeviceptr NO_BIAS = Launches.NULL;

    /**
     * What a kernel does with a single product P as it writes C (gemm.cu's EPI_*, in this order),
     * aux being an m × n matrix with C's leading dimension: PLAIN, C = P (+ bias); GELU, C = P and
     * aux = GELU(P + bias), a Linear layer and its GELU with the product kept for the backward
     * (aux may be C, for GELU(P + bias) alone); GELU_GRAD, C = P · GELU'(aux + bias), the gradient
     * at GELU's input from dY·W and the forward's product; ADD, C = P (+ bias) + aux, a Linear's input
     * gradient added to the one a residual collected. The bits of the bias_gelu kernels and of
     * binary_f32's add. Only PLAIN and ADD products are split along K.
     */
    enum Epilogue { PLAIN, GELU, GELU_GRAD, ADD }

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
        sgemm(transA, transB, m, n, k, batch, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, NO_BIAS, Epilogue.PLAIN, NO_BIAS);
    }

    /**
     * The product through {@code epilogue} with {@code bias}[n] and {@code aux}, as the kernel
     * writes it out: a Linear layer (PLAIN), or one with its GELU or GELU's derivative. Other than
     * PLAIN, the batch must make one tall product, which is then never split along K.
     */
    void sgemm(boolean transA, boolean transB, int m, int n, int k, int batch,
               CUdeviceptr a, long lda, long strideA, CUdeviceptr b, long ldb, long strideB,
               CUdeviceptr c, long ldc, long strideC, CUdeviceptr bias, Epilogue epilogue, CUdeviceptr aux) {
        gemm(TF32, transA, transB, m, n, k, batch, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, bias, NO_BIAS, epilogue, aux);
    }

    /**
     * A Linear layer's weight gradient dW = dYᵀ·x ([n, k], dY as [t, n] with leading dimension
     * ldDy, x as [t, k] with ldX) and its bias gradient db[j] = Σ_t dY[t, j], which the kernel adds
     * up from the dY tiles it reads for dW instead of a reduction of its own over dY.
     */
    void weightAndBiasGrads(int n, int k, int t, CUdeviceptr dy, long ldDy, CUdeviceptr x, long ldX, CUdeviceptr dw, CUdeviceptr db) {
        gemm(TF32, true, false, n, k, t, 1, dy, ldDy, 0L, x, ldX, 0L, dw, k, (long) n * k, NO_BIAS, db, Epilogue.PLAIN, NO_BIAS);
    }

    /**
     * The product of {@code in} (BF16 or F16) operands, C written as {@code out} (F32, or {@code in}
     * itself, rounded once), plus {@code bias} (C's type; null pointer for none) on every row.
     * {@code epilogue} GELU (C in the format, one tall product, A as it is and B transposed: x·Wᵀ): C is the pre-activation and
     * {@code aux} gets GELU of it, rounded (it may be C, for GELU alone); GELU_GRAD (C in the format,
     * one tall product, neither transposed: dY·W, no bias): C = P · GELU'(aux), aux the half
     * pre-activation; ADD (float32 C, one tall product): C = P (+ bias) + aux; PLAIN takes no matrix.
     */
    void hgemm(DType in, DType out, boolean transA, boolean transB, int m, int n, int k, int batch,
               CUdeviceptr a, long lda, long strideA, CUdeviceptr b, long ldb, long strideB,
               CUdeviceptr c, long ldc, long strideC, CUdeviceptr bias, Epilogue epilogue, CUdeviceptr aux) {
        gemm(half(in, out), transA, transB, m, n, k, batch, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, bias, NO_BIAS, epilogue, aux);
    }

    /**
     * {@link #weightAndBiasGrads} of {@code in} (BF16 or F16) dY and x, dW written as {@code out}:
     * db[j] = Σ_t dY[t, j] in float32, from the half tiles the product reads.
     */
    void halfWeightAndBiasGrads(DType in, DType out, int n, int k, int t, CUdeviceptr dy, long ldDy, CUdeviceptr x, long ldX,
                                CUdeviceptr dw, CUdeviceptr db) {
        gemm(half(in, out), true, false, n, k, t, 1, dy, ldDy, 0L, x, ldX, 0L, dw, k, (long) n * k, NO_BIAS, db, Epilogue.PLAIN, NO_BIAS);
    }

    /** The pipeline's shared memory for 16-bit operands. */
    static final int HALF_SHARED_BYTES = HALF_STAGES * (TILE + HALF_TILE_N) * (32 + 8) * 2;

    /** The BF16/F16 kernels of gemm_half.cu with C written as {@code out} (F32, or {@code in} itself, rounded once). */
    private static Family half(DType in, DType out) {
        if (!in.isHalf() || (out != in && out != DType.F32)) throw new IllegalArgumentException("no half GEMM from " + in + " to " + out);
        String format = in == DType.BF16 ? "bf16" : "f16";
        // BK 32: HALF_STAGES × (A tile + B tile) of (128 + 256) × (32 + 8) elements, 90 KiB; one block an SM (its registers)
        return new Family("hgemm_" + format + "_", "_" + (out == DType.F32 ? "f32" : format), 2, out.bytes(), HALF_TILE_N, HALF_THREADS, 1, 32,
                HALF_SHARED_BYTES, "_f32", out == DType.F32 ? "splitk_sum" : "splitk_sum_" + format, true);
    }

    /** A launch plan for either family: a tall product where a batch allows, a K split where the grid is small. */
    private void gemm(Family family, boolean transA, boolean transB, int m, int n, int k, int batch,
                      CUdeviceptr a, long lda, long strideA, CUdeviceptr b, long ldb, long strideB,
                      CUdeviceptr c, long ldc, long strideC, CUdeviceptr bias, CUdeviceptr rowSums, Epilogue epilogue, CUdeviceptr aux) {
        if (batch > 1 && strideB == 0 && !transA && strideA == (long) m * lda && strideC == (long) m * ldc
                && (long) m * batch <= (long) MAX_GRID_Y * TILE) {
            m *= batch;
            batch = 1;
        }
        if (epilogue != Epilogue.PLAIN && batch != 1) throw new IllegalArgumentException(epilogue + " epilogue on a batch of " + batch);
        if (!family.has(epilogue, transA, transB) || (family.half() && epilogue == Epilogue.GELU_GRAD && bias != NO_BIAS)) {
            throw new IllegalArgumentException(family.kernel(transA, transB, family.suffix()) + " has no " + epilogue + " epilogue"
                    + (bias != NO_BIAS ? " with a bias" : ""));
        }
        long tiles = (long) ceil(m, TILE) * ceil(n, family.tileN()) * batch, slots = (long) family.blocksPerSm() * multiprocessors;
        // the pieces of a K split are added by splitk_sum, which knows the bias and an addend only
        boolean splittable = batch == 1 && (epilogue == Epilogue.PLAIN || epilogue == Epilogue.ADD);
        int splits = splittable ? splits(tiles, slots, k) : 1;
        gemm(family, transA, transB, m, n, k, batch, a, lda, strideA, b, ldb, strideB, c, ldc, strideC, bias, rowSums, Math.max(1, splits),
                epilogue, aux);
    }

    /**
     * How many pieces a single product's K is cut into, for a grid of {@code tiles} blocks on
     * {@code slots} resident blocks (the family's blocks per SM): the fewest that keep {@link #FULL_ENOUGH} of the
     * slots busy through the last wave (tiles·s blocks run in ⌈tiles·s / slots⌉ waves of 1/s the
     * work each), else the best-filled; at most 16, each piece at least 256 deep. On an H200 (264
     * slots of the float32 kernel's 128×128 tiles), BERT-base at 32×128 tokens: a [768, 768] weight gradient (36 tiles) takes 7 pieces
     * (95% of the slots busy instead of 14%), a [3072, 768] one (144 tiles) 5 (91% instead of
     * 55%), the [4096, 768] products with K 3072 (the FFN's second Linear and its input gradient,
     * 192 tiles) 4 (97% instead of 73%), those with K 768 none. The model ignores that a block
     * alone on its SM runs faster than one of a pair, so it overrates splits of grids near a
     * wave; a GPU run should set FULL_ENOUGH.
     */
    static int splits(long tiles, long slots, int k) {
        int most = Math.max(1, Math.min(MAX_SPLITS, k / MIN_SPLIT_K)), best = 1;
        double bestFill = 0;
        for (int s = 1; s <= most; s++) {
            long blocks = tiles * s;
            double fill = (double) blocks / (ceil(blocks, slots) * slots);
            if (fill >= FULL_ENOUGH) return s;
            if (fill > bestFill) {
                best = s;
                bestFill = fill;
            }
        }
        return best;
    }

    /**
     * The product with K cut in (up to) {@code splits} pieces of a whole number of K tiles. The
     * pieces are float32 (the family's kernel with float32 C), and the family's sum writes C.
     * {@code rowSums} (products with A transposed and B not, one entry, else the null pointer):
     * where A's float32 sums over K go, from split pieces that the sum kernel adds in order too.
     */
    private void gemm(Family family, boolean transA, boolean transB, int m, int n, int k, int batch,
                      CUdeviceptr a, long lda, long strideA, CUdeviceptr b, long ldb, long strideB,
                      CUdeviceptr c, long ldc, long strideC, CUdeviceptr bias, CUdeviceptr rowSums, int splits, Epilogue epilogue,
                      CUdeviceptr aux) {
        if (splits > 1 && batch != 1) throw new IllegalArgumentException("a K split is for single products, got a batch of " + batch);
        int bk = family.bk(), chunk = Math.max(bk, ceil(ceil(k, splits), bk) * bk);
        splits = Math.max(1, ceil(k, chunk)); // K = 0 is one launch that writes zeros (plus the bias)
        if (splits == 1) {
            String kernel = family.kernel(transA, transB, family.suffix());
            for (int first = 0; first < batch; first += MAX_GRID_Z) { // grid z holds at most 65535 batch entries
                long in = (long) first * family.inBytes(), out = (long) first * family.outBytes();
                kernels.launchShared(kernel, family.sharedBytes(), ceil(n, family.tileN()), ceil(m, TILE), Math.min(batch - first, MAX_GRID_Z),
                        family.threads(), 1,
                        family.arguments(rowSums, epilogue, aux, m, n, k, 1, chunk, a.withByteOffset(in * strideA), lda, strideA,
                                b.withByteOffset(in * strideB), ldb, strideB, bias, c.withByteOffset(out * strideC), ldc, strideC));
            }
            return;
        }
        long mn = (long) m * n;
        boolean summing = rowSums != NO_BIAS;
        CachingAllocator.Block<CUdeviceptr> partial = workspace.allocate(splits * (mn + (summing ? m : 0)) * Float.BYTES,
                "GEMM workspace (" + splits + " K splits of " + m + "x" + n + ")");
        try {
            CUdeviceptr pieceSums = summing ? partial.handle().withByteOffset(splits * mn * Float.BYTES) : NO_BIAS;
            kernels.launchShared(family.kernel(transA, transB, family.pieceSuffix()), family.sharedBytes(), ceil(n, family.tileN()), ceil(m, TILE),
                    splits, family.threads(), 1,
                    family.arguments(pieceSums, Epilogue.PLAIN, NO_BIAS, m, n, k, splits, chunk, a, lda, 0L, b, ldb, 0L, NO_BIAS, partial.handle(),
                            (long) n, mn));
            sumSplits(family, partial.handle(), bias, epilogue == Epilogue.ADD ? aux : NO_BIAS, c, m, n, ldc, splits);
            if (summing) sumSplits(TF32, pieceSums, NO_BIAS, NO_BIAS, rowSums, 1, m, m, splits); // float32 in every family
        } finally {
            workspace.release(partial); // stream order keeps the block alive for the launches above
        }
    }

    /**
     * C ([m, n], ldc) = the sum of {@code splits} float32 pieces of m × n at {@code pieces}, in order, plus the bias, plus
     * {@code addend} (ldc; float32 C only) where it is not the null pointer.
     */
    private void sumSplits(Family family, CUdeviceptr pieces, CUdeviceptr bias, CUdeviceptr addend, CUdeviceptr c, int m, int n, long ldc,
                           int splits) {
        long mn = (long) m * n;
        kernels.launch(family.splitSum(), (int) Math.min(ceil(mn, SUM_THREADS), 4096L * multiprocessors), 1, 1, SUM_THREADS, 1,
                pieces, bias, addend, c, m, n, ldc, splits);
    }

    /** float32 in IEEE arithmetic, one fused multiply-add per term: the products when TF32 is off (PyTorch's default), far slower than TF32. */
    void sgemmIeee(boolean transA, boolean transB, int m, int n, int k, int batch,
                   CUdeviceptr a, long lda, long strideA, CUdeviceptr b, long ldb, long strideB,
                   CUdeviceptr c, long ldc, long strideC) {
        kernels.launch("sgemm_tiled", ceil(n, D_TILE), ceil(m, D_TILE), Math.min(batch, MAX_GRID_Z), D_TILE, D_TILE,
                transA ? 1 : 0, transB ? 1 : 0, m, n, k, batch, a, lda, strideA, b, ldb, strideB, c, ldc, strideC);
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
