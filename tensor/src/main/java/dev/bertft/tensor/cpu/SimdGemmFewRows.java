package dev.bertft.tensor.cpu;

import static dev.bertft.tensor.cpu.SimdGemm.MR;
import static dev.bertft.tensor.cpu.SimdGemm.NR;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * C = op(A)·Bᵀ for a few rows of op(A), B stored n×k: a Linear layer's X·Wᵀ on a short batch.
 * {@link SimdGemm} packs all of W into column panels on every call, k·n values moved for m·k·n
 * multiply-adds, which at m = 32 takes as long as the arithmetic. Here the roles swap, Cᵀ = W·op(A)ᵀ:
 * the eight rows of W a micro-tile needs are read where they lie (eight contiguous streams, one
 * value broadcast at a time) and only op(A), m·k values, is packed, once per block of k into one
 * buffer all threads read. The threads split W's rows. Tiles of Cᵀ go through a scratch tile and
 * are written into C transposed.
 *
 * <p>Each element of C is the same FMA chain over p in order as in {@link SimdGemm}, with the same
 * blocks of k carried through C (fma(w, x, s) = fma(x, w, s): one rounding of the exact value), so
 * the results are bit for bit those of the packed path, for any thread count.
 */
final class SimdGemmFewRows {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /**
     * Rows of op(A) up to which this path runs: op(A)'s packed block, MAX_ROWS·KC floats (384 KB),
     * then stays in L2 beside the rows of W being read. Callers also need k ≥ m: writing a tile
     * transposed costs about one scalar copy per element of C a block, against kc multiply-adds.
     * At the attention scores' 128×128×64 and ×32 this path measured 0.66 and 0.46 of the packed
     * path's speed; at MiniLM's k = 384 it measured 1.10 times it at m = 128 and 1.87 at m = 32,
     * and 0.87 at m = 256 (one thread, GFLOP per CPU-second, one JVM).
     */
    static final int MAX_ROWS = 128;

    private SimdGemmFewRows() {}

    /** Arguments as SimdGemm's single product with transB; 1 ≤ m ≤ MAX_ROWS, m ≤ k. */
    static void product(Parallel pool, boolean transA, int m, int n, int k, float[] a, int aOff, int lda,
                        float[] b, int bOff, int ldb, boolean accumulate, float[] c, int cOff, int ldc) {
        float[] px = SimdGemm.Buffers.forThread(0, m, k).packedB;
        int kcStep = SimdGemm.kcStep(k), xPanels = (m + NR - 1) / NR, wPanels = (n + MR - 1) / MR;
        // below the parallel threshold one chunk, on the calling thread
        int grain = (long) m * n * k < SimdGemm.PARALLEL_MIN_WORK ? Integer.MAX_VALUE : 1;
        for (int pc = 0; pc < k; pc += kcStep) {
            int kc = Math.min(kcStep, k - pc), pcBlock = pc;
            boolean addToC = accumulate || pc > 0;
            // op(A)ᵀ is k×m: stored m×k (not transposed) its columns are rows of storage, as for a transposed B
            pool.forRange(xPanels, grain, (from, to) -> {
                int i0 = from * NR;
                SimdGemm.packB(!transA, a, aOff, lda, pcBlock, kc, i0, Math.min(m, to * NR) - i0, px, i0 * kc);
            });
            pool.forRange(wPanels, grain, (from, to) -> wRows(from * MR, Math.min(n, to * MR), m, kc, pcBlock, px,
                    b, bOff, ldb, addToC, c, cOff, ldc, SimdGemm.Buffers.forThread(MR, 0, k)));
        }
    }

    /** Columns j0..j1 of C (rows of W) over the packed block of op(A)ᵀ. */
    private static void wRows(int j0, int j1, int m, int kc, int pc, float[] px, float[] b, int bOff, int ldb,
                              boolean addToC, float[] c, int cOff, int ldc, SimdGemm.Buffers buf) {
        float[] tile = buf.tile;
        for (int j = j0; j < j1; j += MR) {
            int rows = Math.min(MR, j1 - j);
            float[] w = b;
            int wBase = bOff + j * ldb + pc, ldw = ldb;
            if (rows < MR) {
                // the last rows of W, padded with zero rows so the kernel reads MR of them
                w = buf.packedA;
                wBase = 0;
                ldw = kc;
                for (int r = 0; r < MR; r++) {
                    if (r < rows) System.arraycopy(b, bOff + (j + r) * ldb + pc, w, r * kc, kc);
                    else java.util.Arrays.fill(w, r * kc, (r + 1) * kc, 0f);
                }
            }
            for (int i0 = 0; i0 < m; i0 += NR) {
                int cols = Math.min(NR, m - i0);
                int cTile = cOff + i0 * ldc + j;
                if (addToC) {
                    for (int i = 0; i < cols; i++) {
                        for (int r = 0; r < rows; r++) tile[r * NR + i] = c[cTile + i * ldc + r];
                    }
                }
                kernel(kc, w, wBase, ldw, px, i0 * kc, addToC, tile);
                for (int i = 0; i < cols; i++) {
                    for (int r = 0; r < rows; r++) c[cTile + i * ldc + r] = tile[r * NR + i];
                }
            }
        }
    }

    /**
     * tile[MR×NR] (+)= sum over p < kc of W(r, p) ⊗ X(p, ·): row r of W at w[wBase + r·ldw + p],
     * the packed panel of op(A)ᵀ at px[xBase + p·NR + i]. SimdGemm's micro-kernel with A read from
     * eight row starts instead of one packed panel: with each index a loop-invariant start plus p,
     * C2 drops the bounds checks of the broadcasts, which a stride other than a constant prevents
     * (the packed kernel with a variable stride measured 0.73 of its speed).
     */
    private static void kernel(int kc, float[] w, int wBase, int ldw, float[] px, int xBase, boolean addToTile, float[] tile) {
        int w0 = wBase, w1 = w0 + ldw, w2 = w1 + ldw, w3 = w2 + ldw, w4 = w3 + ldw, w5 = w4 + ldw, w6 = w5 + ldw, w7 = w6 + ldw;
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (addToTile) {
            c00 = FloatVector.fromArray(S, tile, 0);
            c01 = FloatVector.fromArray(S, tile, L);
            c10 = FloatVector.fromArray(S, tile, NR);
            c11 = FloatVector.fromArray(S, tile, NR + L);
            c20 = FloatVector.fromArray(S, tile, 2 * NR);
            c21 = FloatVector.fromArray(S, tile, 2 * NR + L);
            c30 = FloatVector.fromArray(S, tile, 3 * NR);
            c31 = FloatVector.fromArray(S, tile, 3 * NR + L);
            c40 = FloatVector.fromArray(S, tile, 4 * NR);
            c41 = FloatVector.fromArray(S, tile, 4 * NR + L);
            c50 = FloatVector.fromArray(S, tile, 5 * NR);
            c51 = FloatVector.fromArray(S, tile, 5 * NR + L);
            c60 = FloatVector.fromArray(S, tile, 6 * NR);
            c61 = FloatVector.fromArray(S, tile, 6 * NR + L);
            c70 = FloatVector.fromArray(S, tile, 7 * NR);
            c71 = FloatVector.fromArray(S, tile, 7 * NR + L);
        } else {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = FloatVector.zero(S);
            c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = FloatVector.zero(S);
        }
        for (int p = 0; p < kc; p++) {
            int xi = xBase + p * NR;
            FloatVector x0 = FloatVector.fromArray(S, px, xi);
            FloatVector x1 = FloatVector.fromArray(S, px, xi + L);
            FloatVector a0 = FloatVector.broadcast(S, w[w0 + p]);
            c00 = a0.fma(x0, c00);
            c01 = a0.fma(x1, c01);
            FloatVector a1 = FloatVector.broadcast(S, w[w1 + p]);
            c10 = a1.fma(x0, c10);
            c11 = a1.fma(x1, c11);
            FloatVector a2 = FloatVector.broadcast(S, w[w2 + p]);
            c20 = a2.fma(x0, c20);
            c21 = a2.fma(x1, c21);
            FloatVector a3 = FloatVector.broadcast(S, w[w3 + p]);
            c30 = a3.fma(x0, c30);
            c31 = a3.fma(x1, c31);
            FloatVector a4 = FloatVector.broadcast(S, w[w4 + p]);
            c40 = a4.fma(x0, c40);
            c41 = a4.fma(x1, c41);
            FloatVector a5 = FloatVector.broadcast(S, w[w5 + p]);
            c50 = a5.fma(x0, c50);
            c51 = a5.fma(x1, c51);
            FloatVector a6 = FloatVector.broadcast(S, w[w6 + p]);
            c60 = a6.fma(x0, c60);
            c61 = a6.fma(x1, c61);
            FloatVector a7 = FloatVector.broadcast(S, w[w7 + p]);
            c70 = a7.fma(x0, c70);
            c71 = a7.fma(x1, c71);
        }
        c00.intoArray(tile, 0);
        c01.intoArray(tile, L);
        c10.intoArray(tile, NR);
        c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR);
        c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);
        c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR);
        c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR);
        c51.intoArray(tile, 5 * NR + L);
        c60.intoArray(tile, 6 * NR);
        c61.intoArray(tile, 6 * NR + L);
        c70.intoArray(tile, 7 * NR);
        c71.intoArray(tile, 7 * NR + L);
    }
}
