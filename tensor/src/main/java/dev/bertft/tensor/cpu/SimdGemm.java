package dev.bertft.tensor.cpu;

import java.util.concurrent.atomic.AtomicIntegerArray;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision matrix products with the Vector API, in the GotoBLAS/BLIS layout:
 *
 * <pre>
 * for jc in steps of NC over n:            B block  kc×nc, packed once, lives in L3
 *   for pc in steps of (at most) KC over k:
 *     pack B[pc:pc+kc, jc:jc+nc] into NR-wide panels   (p-major: panel[p*NR + j])
 *     for ic in steps of MC over m:         A block  mc×kc, lives in L2
 *       for jr in steps of NR:             one B panel kc×NR, reused by every A panel
 *         for ir in steps of MR:
 *           micro-kernel: C[MR×NR] += sum_p A(:,p) ⊗ B(p,:)  with MR·NR/L accumulators in registers
 *           (the first jr also packs A[ic+ir.., pc:pc+kc] into an MR-tall panel, p-major: panel[p*MR + i])
 * </pre>
 *
 * Packing applies the transpose flags and pads ragged edges with zeros, so the micro-kernel always
 * runs a full MR×NR tile; edge tiles go through a scratch tile and only their valid part is copied
 * into C. Every element of C is one fused multiply-add chain over p = 0..k-1 in order, started
 * from 0 (or from C when accumulating) and carried from one KC block to the next through C: the
 * order depends on k only, so results are the same for any thread count.
 *
 * <p>Only loaded when {@link dev.bertft.tensor.Simd#AVAILABLE}.
 */
final class SimdGemm {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Lanes per vector: 16 with AVX-512, 8 with AVX2. */
    private static final int L = S.length();
    /**
     * Micro-tile: MR rows of C by NR = 2 vectors of columns, 16 accumulator registers. Measured on
     * Zen 5 (one core, kc = 768): 6×2 vectors 198 GFLOP/s, 8×2 217, 4×3 218, 8×3 220, 6×4 219; 8×2
     * is as fast as the larger tiles and divides BERT's shapes (rows 128·b, columns 64·h).
     */
    static final int MR = 8;
    static final int NR = 2 * L;
    /**
     * Cache blocks, for Zen 5 (48 KB L1d, 1 MB L2 per core, 32 MB L3 shared). A deep KC means C is
     * read and written fewer times; with KC = 768 the kc×NR panel of B (96 KB) streams from L2
     * beside the MC×KC block of A (432 KB), and one core measured 193 GFLOP/s against 150 with
     * KC = 256 (where the B panel sits in L1 but C goes through three times as often). MC and NC
     * moved results by less than the noise; NC keeps a thread's packed B (4.5 MB) well inside L3.
     */
    static final int KC = 768;
    static final int MC = 144;
    static final int NC = 1536;
    /** Values of p packed per pass over a panel's columns; see {@link #packAcross}. */
    private static final int PACK_STEP = 64;

    /**
     * Problems below this many multiply-adds (about 20 µs on one core) run on the calling thread:
     * handing half of a smaller one to a worker costs about what it saves.
     */
    static final long PARALLEL_MIN_WORK = 1L << 22;
    /**
     * Blocks of B smaller than this many values are packed by each thread for its own rows: a
     * shared pack needs a second parallel loop per block, and the wait for it (some µs, more when
     * the cores are busy) is about what packing 32K values on one core takes. Set by that estimate:
     * at the weight gradients of 32 tokens (384×384×32 Xᵀ·dY, B 32×384) the two ways measured
     * within the noise of the loaded machine.
     */
    private static final long SHARED_PACK_MIN = 1L << 15;
    /**
     * Rows of C a thread must have for it to pack all of B itself rather than share the packing:
     * from there on packing B again costs less than sharing it (the second parallel loop, and
     * reading the other thread's half from its core's cache). Two threads, medians of 40–60 calls
     * alternated: 512×384×1536 X·Wᵀ ran 1.09× faster packing per thread, 1024×768×768 1.04×,
     * 4096×384×{384, 1152, 1536} dY·W 1.02–1.04×; the larger products (k·n up to 768·3072) the same.
     */
    private static final int OWN_PACK_MIN_ROWS = 256;

    private SimdGemm() {}

    /** Arguments as {@link Gemm#sgemmBatched}, already checked; batch, m, n ≥ 1. */
    static void sgemmBatched(Parallel pool, int batch, boolean transA, boolean transB, int m, int n, int k,
                             float[] a, int aOff, int lda, int aStride, float[] b, int bOff, int ldb, int bStride,
                             boolean accumulate, float[] c, int cOff, int ldc, int cStride) {
        long work = (long) m * n * k;
        if (batch >= pool.threads() && batch > 1) {
            // whole products per thread, packing buffers shared along a thread's run of products
            int grain = (int) Math.max(1, PARALLEL_MIN_WORK / Math.max(1, work));
            pool.forRange(batch, grain, (from, to) -> {
                Buffers buf = Buffers.forThread(m, n, k);
                for (int t = from; t < to; t++) {
                    product(transA, transB, m, n, k, a, aOff + t * aStride, lda, b, bOff + t * bStride, ldb,
                            accumulate, c, cOff + t * cStride, ldc, buf, null, null);
                }
            });
            return;
        }
        for (int t = 0; t < batch; t++) {
            parallelProduct(pool, transA, transB, m, n, k, a, aOff + t * aStride, lda, b, bOff + t * bStride, ldb,
                    accumulate, c, cOff + t * cStride, ldc, null, null);
        }
    }

    /**
     * One product as {@link Gemm#sgemmWithRowSums}, already checked; m, n ≥ 1. The sums are taken
     * where A is packed anyway, so op(A) is read from memory once for both.
     */
    static void sgemmWithRowSums(Parallel pool, boolean transA, boolean transB, int m, int n, int k,
                                 float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                 float[] c, int cOff, int ldc, double[] aRowSums) {
        parallelProduct(pool, transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, false, c, cOff, ldc,
                new RowSums(aRowSums, 0, m), null);
    }

    /**
     * One product as {@link Gemm#sgemm(Parallel, boolean, boolean, int, int, int, float[], int, int, float[], int, int,
     * float[], int, int, Epilogue)}, already checked; m, n ≥ 1. The epilogue goes over each block of C's rows as its
     * last block of k completes, while the block is still in cache.
     */
    static void sgemm(Parallel pool, boolean transA, boolean transB, int m, int n, int k,
                      float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                      float[] c, int cOff, int ldc, Epilogue epilogue) {
        parallelProduct(pool, transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, false, c, cOff, ldc, null, epilogue);
    }

    /**
     * One product split across threads. Splitting the rows of C leaves B whole, so each block of B
     * is packed once, by all threads together, into one buffer that every thread's band of MR-row
     * panels then reads; before this each band packed all of B itself, which for X·Wᵀ at 128 rows
     * cost as much as the arithmetic (small blocks of B, and products of many rows, still pack it per
     * thread, each taking chunks of rows as it frees up: see {@link #SHARED_PACK_MIN},
     * {@link #OWN_PACK_MIN_ROWS} and {@link #balancedRows}). When m has too few
     * panels to split evenly, the columns are split instead and each thread packs all of A (m·k,
     * small when m is) and its own columns of B. The columns are also split when C is no taller
     * than it is wide: see {@link #splitRows}. X·Wᵀ on few rows goes to {@link SimdGemmFewRows},
     * which does not pack W at all (nor A, so not when A's row sums are wanted). rowSums: null, or
     * where packing A adds up its rows; epilogue: null, or the step applied to C once the product
     * is complete.
     */
    private static void parallelProduct(Parallel pool, boolean transA, boolean transB, int m, int n, int k,
                                        float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                        boolean accumulate, float[] c, int cOff, int ldc, RowSums rowSums, Epilogue epilogue) {
        long work = (long) m * n * k;
        int threads = pool.threads();
        int mPanels = (m + MR - 1) / MR, nPanels = (n + NR - 1) / NR;
        if (rowSums == null && transB && m <= SimdGemmFewRows.MAX_ROWS && k >= m) {
            SimdGemmFewRows.product(pool, transA, m, n, k, a, aOff, lda, b, bOff, ldb, accumulate, c, cOff, ldc);
            if (epilogue != null) epilogue.apply(c, cOff, ldc, 0, m, 0, n);
        } else if (threads == 1 || work < PARALLEL_MIN_WORK || (mPanels < threads && nPanels < threads)) {
            product(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, accumulate, c, cOff, ldc, Buffers.forThread(m, n, k), rowSums,
                    epilogue);
        } else if (splitRows(threads, m, n)) {
            if (m < OWN_PACK_MIN_ROWS * threads && (long) Math.min(k, KC) * Math.min(n, NC) >= SHARED_PACK_MIN) {
                sharedBProduct(pool, transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, accumulate, c, cOff, ldc, rowSums, epilogue);
                return;
            }
            balancedRows(pool, transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, accumulate, c, cOff, ldc, rowSums, epilogue);
        } else {
            pool.forRange(nPanels, 1, (from, to) -> {
                int j0 = from * NR, j1 = Math.min(n, to * NR);
                int bShift = transB ? j0 * ldb : j0;
                product(transA, transB, m, j1 - j0, k, a, aOff, lda, b, bOff + bShift, ldb,
                        accumulate, c, cOff + j0, ldc, Buffers.forThread(m, j1 - j0, k),
                        // every band packs all of A, and sums its share of A's row panels, in proportion
                        rowSums == null ? null : rowSums.only(from * mPanels / nPanels * MR, to * mPanels / nPanels * MR),
                        epilogue == null ? null : epilogue.shifted(0, j0));
            });
        }
    }

    /**
     * Whether {@link #parallelProduct} splits the rows of C (sharing each packed block of B) rather
     * than its columns (each thread packing all of A, which {@link #kernelPackingA} does beside the
     * arithmetic). Sharing B costs two parallel loops a block of k, and each thread then reads the
     * half of the block the other packed from the other core's cache; for few rows a block that
     * is not repaid. Two threads, medians of 30–40 calls alternated with one thread: the weight
     * gradients 384×{384, 1536}×4096 (Xᵀ·dY) ran 1.12–1.15× faster split by columns, bert-base's
     * 1024×{2304, 3072}×768 X·Wᵀ 1.06–1.16×; 4096×{384, 768}×768 split by rows stayed 0–3 % faster.
     * A C taller than wide is split by rows however deep k is: medians of 25 calls, alternated
     * whole processes (session 14), the weight gradients 1536×384×4096 and 1152×384×4096 ran
     * 1.07–1.10× faster split by rows, 2304×768×4096 and 3072×768×4096 1.03–1.06×, and bert-base's
     * 4096×768×3072 dY·W 1.04–1.08×: split by columns, each thread packed all of the tall A, and
     * reused each packed panel for half as many panels of B.
     */
    private static boolean splitRows(int threads, int m, int n) {
        int mPanels = (m + MR - 1) / MR, nPanels = (n + NR - 1) / NR;
        if (nPanels >= threads * 4 && m <= n) return false;
        return mPanels >= threads * 4 || mPanels >= nPanels;
    }

    /**
     * The rows of C split across threads as they free up, each thread packing every block of B
     * for itself: per block, the threads take chunks of rows from a shared counter until none is
     * left. A fixed half each left one thread waiting for the other at the end of most products:
     * in a MiniLM 8 × 128 training step the caller waited 3–4 % of its time for the worker in these
     * products alone (a worker that woke late, or ran a few per cent slower). The chunks' bounds
     * depend only on m (a chunk's size only on where it starts); which thread takes which depends
     * on timing and does not matter: rows take the blocks of k in order, each one after the
     * previous block of k is done on every row, so each element of C is the same chain of
     * multiply-adds whichever thread runs its chunk. A thread that comes to a block whose chunks
     * are all taken does not pack it.
     */
    private static void balancedRows(Parallel pool, boolean transA, boolean transB, int m, int n, int k,
                                     float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                     boolean accumulate, float[] c, int cOff, int ldc, RowSums rowSums, Epilogue epilogue) {
        int kcStep = kcStep(k), kBlocks = (k + kcStep - 1) / kcStep, nBlocks = (n + NC - 1) / NC;
        int threads = pool.threads();
        AtomicIntegerArray taken = new AtomicIntegerArray(nBlocks * kBlocks), done = new AtomicIntegerArray(nBlocks * kBlocks);
        pool.forRange(threads, 1, (t0, t1) -> {
            Buffers buf = Buffers.forThread(MC, n, k);
            for (int jc = 0, block = 0; jc < n; jc += NC) {
                int nc = Math.min(NC, n - jc);
                for (int pc = 0; pc < k; pc += kcStep, block++) {
                    int kc = Math.min(kcStep, k - pc);
                    boolean first = pc == 0, last = pc + kc == k;
                    if (taken.get(block) >= m) continue; // every chunk taken: nothing to pack or wait for
                    packB(transB, b, bOff, ldb, pc, kc, jc, nc, buf.packedB, 0);
                    // every row's previous block of k, wherever it ran, before this one adds to it
                    while (!first && done.get(block - 1) < m) Thread.onSpinWait();
                    for (int i0; (i0 = takeRows(taken, block, m, threads)) < m; ) {
                        int i1 = chunkEnd(i0, m, threads);
                        rowBand(transA, i0, i1, a, aOff, lda, pc, kc, jc, nc, buf.packedB, 0,
                                accumulate || !first, c, cOff, ldc, buf, jc == 0 ? rowSums : null, last ? epilogue : null);
                        done.addAndGet(block, i1 - i0);
                    }
                }
            }
        });
    }

    /** Takes the next chunk of rows of a block ({@link #chunkEnd}); returns its first row, m when none is left. */
    private static int takeRows(AtomicIntegerArray taken, int block, int m, int threads) {
        while (true) {
            int i0 = taken.get(block);
            if (i0 >= m) return m;
            if (taken.compareAndSet(block, i0, chunkEnd(i0, m, threads))) return i0;
        }
    }

    /**
     * Where the chunk of rows that starts at i0 ends: a share of the rows left that shrinks as
     * the block runs out (whole blocks of {@link #MC} rows first, then smaller ones down to two
     * panels), so the threads finish close together without cutting the block of packed B into
     * many short passes over it.
     */
    private static int chunkEnd(int i0, int m, int threads) {
        return Math.min(m, i0 + Math.min(MC, Math.max(2 * MR, roundUp((m - i0) / (2 * threads), MR))));
    }

    /**
     * The blocked loop with the rows of C split across threads: per block of B, one parallel loop
     * packs its panels into the calling thread's buffer, and a second runs each thread's band of
     * rows against them (k ≥ 1 here: the caller only comes with work to split).
     */
    private static void sharedBProduct(Parallel pool, boolean transA, boolean transB, int m, int n, int k,
                                       float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                       boolean accumulate, float[] c, int cOff, int ldc, RowSums rowSums, Epilogue epilogue) {
        float[] pb = Buffers.forThread(0, n, k).packedB;
        int kcStep = kcStep(k), mPanels = (m + MR - 1) / MR;
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc), ncPanels = (nc + NR - 1) / NR;
            for (int pc = 0; pc < k; pc += kcStep) {
                int kc = Math.min(kcStep, k - pc), jcBlock = jc, pcBlock = pc;
                boolean addToC = accumulate || pc > 0;
                RowSums sumsHere = jc == 0 ? rowSums : null;
                Epilogue epilogueHere = pc + kc == k ? epilogue : null;
                pool.forRange(ncPanels, 1, (from, to) -> {
                    int jr = from * NR;
                    packB(transB, b, bOff, ldb, pcBlock, kc, jcBlock + jr, Math.min(nc, to * NR) - jr, pb, jr * kc);
                });
                pool.forRange(mPanels, 1, (from, to) -> {
                    int i0 = from * MR, i1 = Math.min(m, to * MR);
                    rowBand(transA, i0, i1, a, aOff, lda, pcBlock, kc, jcBlock, nc, pb, 0, addToC, c, cOff, ldc,
                            Buffers.forThread(i1 - i0, 0, k), sumsHere, epilogueHere);
                });
            }
        }
    }

    /**
     * Packing buffers and the scratch tile of one thread. They are kept per thread and grown on
     * demand: a fresh 5 MB of zeroed arrays per call would cost about 5% of a 4096×768×768 product.
     * Packing writes every element the kernel reads, so stale contents never matter.
     */
    static final class Buffers {
        private static final ThreadLocal<Buffers> PER_THREAD = ThreadLocal.withInitial(() -> new Buffers(0, 0));

        final float[] packedA, packedB;
        final float[] tile = new float[MR * NR];

        private Buffers(int aSize, int bSize) {
            packedA = new float[aSize];
            packedB = new float[bSize];
        }

        /** This thread's buffers, large enough for the blocks of m rows of A and n columns of B over k. */
        static Buffers forThread(int m, int n, int k) {
            int kc = kcStep(Math.max(1, k));
            int aSize = roundUp(Math.min(MC, m), MR) * kc, bSize = roundUp(Math.min(NC, n), NR) * kc;
            Buffers buf = PER_THREAD.get();
            if (buf.packedA.length < aSize || buf.packedB.length < bSize) {
                buf = new Buffers(Math.max(aSize, buf.packedA.length), Math.max(bSize, buf.packedB.length));
                PER_THREAD.set(buf);
            }
            return buf;
        }
    }

    /**
     * Where packing A adds up op(A)'s rows firstRow..endRow: the sum of row i goes into
     * sums[i], in double precision. Each row is added p = 0, 1, ..., k-1 in order (blocks of k
     * in order, one panel at a time), so the sums are those of a plain loop over p, whichever thread
     * packs which rows. Threads that each pack all of A share the sums out by row panel.
     */
    record RowSums(double[] sums, int firstRow, int endRow) {
        /** These sums for rows r0..r1 only (the band's others are some other thread's). */
        RowSums only(int r0, int r1) {
            return new RowSums(sums, Math.max(firstRow, r0), Math.min(endRow, r1));
        }

        /**
         * Adds the first mr rows of a packed panel (element (i,p) at pa[panel + p·MR + i]) to the
         * sums of rows row..row+mr. A full panel runs eight chains side by side, not one after another.
         */
        void addPanel(float[] pa, int panel, int kc, int mr, int row) {
            if (row < firstRow || row >= endRow) return;
            if (mr == MR) {
                double s0 = sums[row], s1 = sums[row + 1], s2 = sums[row + 2], s3 = sums[row + 3];
                double s4 = sums[row + 4], s5 = sums[row + 5], s6 = sums[row + 6], s7 = sums[row + 7];
                for (int p = 0; p < kc; p++) {
                    int q = panel + p * MR;
                    s0 += pa[q];
                    s1 += pa[q + 1];
                    s2 += pa[q + 2];
                    s3 += pa[q + 3];
                    s4 += pa[q + 4];
                    s5 += pa[q + 5];
                    s6 += pa[q + 6];
                    s7 += pa[q + 7];
                }
                sums[row] = s0;
                sums[row + 1] = s1;
                sums[row + 2] = s2;
                sums[row + 3] = s3;
                sums[row + 4] = s4;
                sums[row + 5] = s5;
                sums[row + 6] = s6;
                sums[row + 7] = s7;
                return;
            }
            for (int i = 0; i < mr; i++) {
                double s = sums[row + i];
                for (int p = 0; p < kc; p++) s += pa[panel + p * MR + i];
                sums[row + i] = s;
            }
        }
    }

    /** The blocked loop nest of the class comment, on the calling thread; rowSums may be null. */
    private static void product(boolean transA, boolean transB, int m, int n, int k,
                                float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                boolean accumulate, float[] c, int cOff, int ldc, Buffers buf, RowSums rowSums, Epilogue epilogue) {
        if (k == 0) {
            if (!accumulate) for (int i = 0; i < m; i++) java.util.Arrays.fill(c, cOff + i * ldc, cOff + i * ldc + n, 0f);
            if (epilogue != null) epilogue.apply(c, cOff, ldc, 0, m, 0, n);
            return;
        }
        float[] pb = buf.packedB;
        // k in equal blocks of at most KC, so k = KC + 1 does not leave a one-deep block
        int kcStep = kcStep(k);
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            for (int pc = 0; pc < k; pc += kcStep) {
                int kc = Math.min(kcStep, k - pc);
                packB(transB, b, bOff, ldb, pc, kc, jc, nc, pb, 0);
                rowBand(transA, 0, m, a, aOff, lda, pc, kc, jc, nc, pb, 0, accumulate || pc > 0, c, cOff, ldc, buf,
                        jc == 0 ? rowSums : null, pc + kc == k ? epilogue : null);
            }
        }
    }

    /**
     * Rows i0..i1 of C's block of columns jc..jc+nc, from op(A)'s columns pc..pc+kc and the packed
     * block of B whose panel for column jc starts at pb[pbOff]: A in MC-row blocks packed into buf,
     * then every MR×NR tile. Also the loop of {@link SimdPackedWeight}, whose B is packed once.
     * rowSums: null, or where to add up the rows of A as they are packed (callers pass it for one
     * block of columns only, so that each value is added once); epilogue: null, or the step to apply
     * to each block of rows once its tiles are done (callers pass it with the last block of k only).
     *
     * <p>When the block's panels are all full, A is not packed in a pass of its own: the tiles of
     * the first B panel read A where it lies and write the packed panels as they go
     * ({@link #kernelPackingA}). A comes from L3 or memory, and a packing loop waits on those loads
     * with nothing else to do (11–15 % of the products with n = 384, where a packed panel serves
     * only 12 tiles); beside the multiply-adds the loads are hidden. One thread, 4096×384×{384, 1536}
     * X·Wᵀ and 1536×384×4096 Xᵀ·dY ran 4–9 % faster, 4096×768×768 5 %.
     */
    static void rowBand(boolean transA, int i0, int i1, float[] a, int aOff, int lda, int pc, int kc,
                        int jc, int nc, float[] pb, int pbOff, boolean addToC, float[] c, int cOff, int ldc, Buffers buf,
                        RowSums rowSums, Epilogue epilogue) {
        float[] pa = buf.packedA;
        for (int ic = i0; ic < i1; ic += MC) {
            int mc = Math.min(MC, i1 - ic);
            boolean packWhileMultiplying = mc % MR == 0 && nc >= NR;
            if (!packWhileMultiplying) packA(transA, a, aOff, lda, ic, mc, pc, kc, pa, rowSums);
            for (int jr = 0; jr < nc; jr += NR) {
                int nr = Math.min(NR, nc - jr);
                for (int ir = 0; ir < mc; ir += MR) {
                    int mr = Math.min(MR, mc - ir);
                    int cTile = cOff + (ic + ir) * ldc + jc + jr;
                    if (packWhileMultiplying && jr == 0) {
                        int aIdx = transA ? aOff + pc * lda + ic + ir : aOff + (ic + ir) * lda + pc;
                        kernelPackingA(kc, a, aIdx, transA ? lda : 1, transA ? 1 : lda, pa, ir * kc, pb, pbOff,
                                addToC, c, cTile, ldc);
                        if (rowSums != null) rowSums.addPanel(pa, ir * kc, kc, MR, ic + ir);
                    } else if (mr == MR && nr == NR) {
                        kernel(kc, pa, ir * kc, pb, pbOff + jr * kc, addToC, c, cTile, ldc);
                    } else {
                        if (addToC) copyCorner(mr, nr, c, cTile, ldc, buf.tile, 0, NR);
                        kernel(kc, pa, ir * kc, pb, pbOff + jr * kc, addToC, buf.tile, 0, NR);
                        copyCorner(mr, nr, buf.tile, 0, NR, c, cTile, ldc);
                    }
                }
            }
            if (epilogue != null) epilogue.apply(c, cOff, ldc, ic, ic + mc, jc, jc + nc);
        }
    }

    /**
     * Packs rows ic..ic+mc, columns pc..pc+kc of op(A) into MR-row panels: panel r holds rows
     * ic+r*MR.., element (i,p) at r*MR*kc + p*MR + i; rows past mc are zero. With rowSums, each
     * panel's rows are then added up from the panel, while it is still in L1. Only for blocks with
     * a ragged panel or a narrow C; the others are packed by {@link #kernelPackingA}.
     */
    private static void packA(boolean transA, float[] a, int aOff, int lda, int ic, int mc, int pc, int kc, float[] pa,
                              RowSums rowSums) {
        for (int ir = 0; ir < mc; ir += MR) {
            int mr = Math.min(MR, mc - ir);
            if (transA) {
                packSameWay(a, aOff + pc * lda + ic + ir, lda, mr, kc, pa, ir * kc, MR);
            } else {
                packAcross(a, aOff + (ic + ir) * lda + pc, lda, mr, kc, pa, ir * kc, MR);
            }
            if (rowSums != null) rowSums.addPanel(pa, ir * kc, kc, mr, ic + ir);
        }
    }

    /**
     * Packs rows pc..pc+kc, columns jc..jc+nc of op(B) into NR-column panels: panel for columns
     * jc+jr.. at pbOff + jr*kc, element (p,j) at pbOff + jr*kc + p*NR + j; columns past nc are zero.
     */
    static void packB(boolean transB, float[] b, int bOff, int ldb, int pc, int kc, int jc, int nc, float[] pb, int pbOff) {
        for (int jr = 0; jr < nc; jr += NR) {
            int nr = Math.min(NR, nc - jr);
            if (transB) {
                // B stored n×k: column j of op(B) is a contiguous row of storage
                packAcross(b, bOff + (jc + jr) * ldb + pc, ldb, nr, kc, pb, pbOff + jr * kc, NR);
            } else if (nr == NR) {
                copyRows(b, bOff + pc * ldb + jc + jr, ldb, kc, pb, pbOff + jr * kc);
            } else {
                packSameWay(b, bOff + pc * ldb + jc + jr, ldb, nr, kc, pb, pbOff + jr * kc, NR);
            }
        }
    }

    /**
     * One panel from kc rows of storage that run along the panel's rows: storage row p (at src +
     * p·ld) gives the panel's row p, to[panel + p·width + 0..count), zero up to width.
     */
    private static void packSameWay(float[] from, int src, int ld, int count, int kc, float[] to, int panel, int width) {
        for (int p = 0; p < kc; p++) {
            int dst = panel + p * width;
            System.arraycopy(from, src + p * ld, to, dst, count);
            for (int i = count; i < width; i++) to[dst + i] = 0f;
        }
    }

    /**
     * A full panel from kc rows of storage that run along it: NR values of row p (at src + p·ld) to
     * to[panel + p·NR], two vector moves each instead of an arraycopy call per row of 32 values: the
     * weight gradients with 384 rows (dYᵀ·X over 4096 tokens), which spent 16–18 % of their time
     * packing X, ran 1.14–1.20 times as fast (one thread, one variant per JVM, four JVM pairs).
     */
    private static void copyRows(float[] from, int src, int ld, int kc, float[] to, int panel) {
        for (int p = 0; p < kc; p++) {
            int row = src + p * ld, dst = panel + p * NR;
            FloatVector.fromArray(S, from, row).intoArray(to, dst);
            FloatVector.fromArray(S, from, row + L).intoArray(to, dst + L);
        }
    }

    /**
     * One panel from count rows of storage that run across it: storage row i (at src + i·ld)
     * gives the panel's column i, to[panel + p·width + i] for p < kc; columns up to width are
     * zero. Each source row is read contiguously (one stream, which C2 unrolls), in steps of
     * {@link #PACK_STEP} values of p so that the part of the panel being written, PACK_STEP·width
     * floats, stays in L1. For B stored n×k this replaced reading the 32 rows side by side (for
     * each p, one value from each of 32 streams): the attention scores Q·Kᵀ (128×128×64 per head)
     * measured 1.04–1.2× faster, 4096×768×768 X·Wᵀ the same.
     */
    private static void packAcross(float[] from, int src, int ld, int count, int kc, float[] to, int panel, int width) {
        for (int p0 = 0; p0 < kc; p0 += PACK_STEP) {
            int p1 = Math.min(kc, p0 + PACK_STEP);
            for (int i = 0; i < count; i++) {
                int row = src + i * ld, dst = panel + i;
                for (int p = p0; p < p1; p++) to[dst + p * width] = from[row + p];
            }
            for (int i = count; i < width; i++) {
                for (int p = p0; p < p1; p++) to[panel + i + p * width] = 0f;
            }
        }
    }

    /**
     * out[MR×NR] (+)= sum over p < kc of A(:,p) ⊗ B(p,:), row r at outOff + r·ldo: straight into C,
     * or into the scratch tile for an edge. When adding, the accumulators start from out, so C is
     * read once a block and never goes through a scratch tile. A and B are
     * read from packed panels starting at aBase and bBase: sixteen accumulators, one broadcast of A
     * and two loads of B per p. With the indices affine in the counted loop variable, C2 drops the
     * bounds checks of the A loads from the loop; the two checks left on the B loads measured free
     * (the same speed with -Djdk.incubator.vector.VECTOR_ACCESS_OOB_CHECK=0).
     *
     * <p>C is added before the loop, not after it: with loads of C after the loop, C2 (17 and 25)
     * schedules them ahead of it, keeps sixteen more vectors live across it, and the kernel ran
     * about three times slower.
     */
    private static void kernel(int kc, float[] pa, int aBase, float[] pb, int bBase, boolean addToOut,
                               float[] out, int outOff, int ldo) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (addToOut) {
            c00 = FloatVector.fromArray(S, out, outOff);
            c01 = FloatVector.fromArray(S, out, outOff + L);
            c10 = FloatVector.fromArray(S, out, outOff + ldo);
            c11 = FloatVector.fromArray(S, out, outOff + ldo + L);
            c20 = FloatVector.fromArray(S, out, outOff + 2 * ldo);
            c21 = FloatVector.fromArray(S, out, outOff + 2 * ldo + L);
            c30 = FloatVector.fromArray(S, out, outOff + 3 * ldo);
            c31 = FloatVector.fromArray(S, out, outOff + 3 * ldo + L);
            c40 = FloatVector.fromArray(S, out, outOff + 4 * ldo);
            c41 = FloatVector.fromArray(S, out, outOff + 4 * ldo + L);
            c50 = FloatVector.fromArray(S, out, outOff + 5 * ldo);
            c51 = FloatVector.fromArray(S, out, outOff + 5 * ldo + L);
            c60 = FloatVector.fromArray(S, out, outOff + 6 * ldo);
            c61 = FloatVector.fromArray(S, out, outOff + 6 * ldo + L);
            c70 = FloatVector.fromArray(S, out, outOff + 7 * ldo);
            c71 = FloatVector.fromArray(S, out, outOff + 7 * ldo + L);
        } else {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = FloatVector.zero(S);
            c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = FloatVector.zero(S);
        }
        for (int p = 0; p < kc; p++) {
            int bi = bBase + p * NR, ai = aBase + p * MR;
            FloatVector b0 = FloatVector.fromArray(S, pb, bi);
            FloatVector b1 = FloatVector.fromArray(S, pb, bi + L);
            FloatVector a0 = FloatVector.broadcast(S, pa[ai]);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(S, pa[ai + 1]);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(S, pa[ai + 2]);
            c20 = a2.fma(b0, c20);
            c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(S, pa[ai + 3]);
            c30 = a3.fma(b0, c30);
            c31 = a3.fma(b1, c31);
            FloatVector a4 = FloatVector.broadcast(S, pa[ai + 4]);
            c40 = a4.fma(b0, c40);
            c41 = a4.fma(b1, c41);
            FloatVector a5 = FloatVector.broadcast(S, pa[ai + 5]);
            c50 = a5.fma(b0, c50);
            c51 = a5.fma(b1, c51);
            FloatVector a6 = FloatVector.broadcast(S, pa[ai + 6]);
            c60 = a6.fma(b0, c60);
            c61 = a6.fma(b1, c61);
            FloatVector a7 = FloatVector.broadcast(S, pa[ai + 7]);
            c70 = a7.fma(b0, c70);
            c71 = a7.fma(b1, c71);
        }
        c00.intoArray(out, outOff);
        c01.intoArray(out, outOff + L);
        c10.intoArray(out, outOff + ldo);
        c11.intoArray(out, outOff + ldo + L);
        c20.intoArray(out, outOff + 2 * ldo);
        c21.intoArray(out, outOff + 2 * ldo + L);
        c30.intoArray(out, outOff + 3 * ldo);
        c31.intoArray(out, outOff + 3 * ldo + L);
        c40.intoArray(out, outOff + 4 * ldo);
        c41.intoArray(out, outOff + 4 * ldo + L);
        c50.intoArray(out, outOff + 5 * ldo);
        c51.intoArray(out, outOff + 5 * ldo + L);
        c60.intoArray(out, outOff + 6 * ldo);
        c61.intoArray(out, outOff + 6 * ldo + L);
        c70.intoArray(out, outOff + 7 * ldo);
        c71.intoArray(out, outOff + 7 * ldo + L);
    }

    /**
     * {@link #kernel} on a full tile whose A is read in place, op(A)(i, p) at a[aIdx + p·stepP +
     * i·stepI], and written into its packed panel pa[aBase + p·MR + i] for the tiles that follow.
     * The same chains as {@link #kernel}, so the same bits. A kernel of its own: the eight stores
     * a step make it about a third slower than {@link #kernel}, which is why the other tiles read
     * the packed copy (one kernel for both, with the stores made optional, measured as slow).
     */
    private static void kernelPackingA(int kc, float[] a, int aIdx, int stepP, int stepI, float[] pa, int aBase,
                                       float[] pb, int bBase, boolean addToOut, float[] out, int outOff, int ldo) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (addToOut) {
            c00 = FloatVector.fromArray(S, out, outOff);
            c01 = FloatVector.fromArray(S, out, outOff + L);
            c10 = FloatVector.fromArray(S, out, outOff + ldo);
            c11 = FloatVector.fromArray(S, out, outOff + ldo + L);
            c20 = FloatVector.fromArray(S, out, outOff + 2 * ldo);
            c21 = FloatVector.fromArray(S, out, outOff + 2 * ldo + L);
            c30 = FloatVector.fromArray(S, out, outOff + 3 * ldo);
            c31 = FloatVector.fromArray(S, out, outOff + 3 * ldo + L);
            c40 = FloatVector.fromArray(S, out, outOff + 4 * ldo);
            c41 = FloatVector.fromArray(S, out, outOff + 4 * ldo + L);
            c50 = FloatVector.fromArray(S, out, outOff + 5 * ldo);
            c51 = FloatVector.fromArray(S, out, outOff + 5 * ldo + L);
            c60 = FloatVector.fromArray(S, out, outOff + 6 * ldo);
            c61 = FloatVector.fromArray(S, out, outOff + 6 * ldo + L);
            c70 = FloatVector.fromArray(S, out, outOff + 7 * ldo);
            c71 = FloatVector.fromArray(S, out, outOff + 7 * ldo + L);
        } else {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = FloatVector.zero(S);
            c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = FloatVector.zero(S);
        }
        for (int p = 0; p < kc; p++) {
            int bi = bBase + p * NR, ai = aBase + p * MR, q = aIdx + p * stepP;
            float x0 = a[q], x1 = a[q + stepI], x2 = a[q + 2 * stepI], x3 = a[q + 3 * stepI];
            float x4 = a[q + 4 * stepI], x5 = a[q + 5 * stepI], x6 = a[q + 6 * stepI], x7 = a[q + 7 * stepI];
            pa[ai] = x0;
            pa[ai + 1] = x1;
            pa[ai + 2] = x2;
            pa[ai + 3] = x3;
            pa[ai + 4] = x4;
            pa[ai + 5] = x5;
            pa[ai + 6] = x6;
            pa[ai + 7] = x7;
            FloatVector b0 = FloatVector.fromArray(S, pb, bi);
            FloatVector b1 = FloatVector.fromArray(S, pb, bi + L);
            FloatVector a0 = FloatVector.broadcast(S, x0);
            c00 = a0.fma(b0, c00);
            c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(S, x1);
            c10 = a1.fma(b0, c10);
            c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(S, x2);
            c20 = a2.fma(b0, c20);
            c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(S, x3);
            c30 = a3.fma(b0, c30);
            c31 = a3.fma(b1, c31);
            FloatVector a4 = FloatVector.broadcast(S, x4);
            c40 = a4.fma(b0, c40);
            c41 = a4.fma(b1, c41);
            FloatVector a5 = FloatVector.broadcast(S, x5);
            c50 = a5.fma(b0, c50);
            c51 = a5.fma(b1, c51);
            FloatVector a6 = FloatVector.broadcast(S, x6);
            c60 = a6.fma(b0, c60);
            c61 = a6.fma(b1, c61);
            FloatVector a7 = FloatVector.broadcast(S, x7);
            c70 = a7.fma(b0, c70);
            c71 = a7.fma(b1, c71);
        }
        c00.intoArray(out, outOff);
        c01.intoArray(out, outOff + L);
        c10.intoArray(out, outOff + ldo);
        c11.intoArray(out, outOff + ldo + L);
        c20.intoArray(out, outOff + 2 * ldo);
        c21.intoArray(out, outOff + 2 * ldo + L);
        c30.intoArray(out, outOff + 3 * ldo);
        c31.intoArray(out, outOff + 3 * ldo + L);
        c40.intoArray(out, outOff + 4 * ldo);
        c41.intoArray(out, outOff + 4 * ldo + L);
        c50.intoArray(out, outOff + 5 * ldo);
        c51.intoArray(out, outOff + 5 * ldo + L);
        c60.intoArray(out, outOff + 6 * ldo);
        c61.intoArray(out, outOff + 6 * ldo + L);
        c70.intoArray(out, outOff + 7 * ldo);
        c71.intoArray(out, outOff + 7 * ldo + L);
    }

    /** Copies the mr×nr corner of one matrix into another: C into an edge tile and back. */
    private static void copyCorner(int mr, int nr, float[] from, int fromOff, int ldFrom, float[] to, int toOff, int ldTo) {
        for (int i = 0; i < mr; i++) System.arraycopy(from, fromOff + i * ldFrom, to, toOff + i * ldTo, nr);
    }

    static int kcStep(int k) {
        int blocks = (k + KC - 1) / KC;
        return (k + blocks - 1) / blocks;
    }

    private static int roundUp(int x, int multiple) {
        return (x + multiple - 1) / multiple * multiple;
    }
}
