package dev.bertft.tensor.cpu;

import static dev.bertft.tensor.cpu.SimdGemm.MR;
import static dev.bertft.tensor.cpu.SimdGemm.NR;

/**
 * A Linear weight W [n, k] that no longer changes (a model loaded for prediction), kept packed as
 * {@link SimdGemm} packs op(B) = Wᵀ for X·Wᵀ: per block of k, NR-column panels, p-major. Each
 * product then packs only X. Per call, {@link SimdGemm} packs all of W (k·n values moved for m·k·n
 * multiply-adds: a quarter of the arithmetic's time at m = 128), and {@link SimdGemmFewRows} reads
 * W in place, eight rows at a stride of k; on bert-base's shapes at m = 128 (one thread, GFLOP per
 * CPU-second, load 11) this measured 149–168 against 93–164 in place and 95–117 packed per call.
 *
 * <p>One parallel loop per product. With few rows the threads split W's panels, each running every
 * block of k over its own columns and reading only its part of W; with many rows (a batch of
 * sequences) they split the rows instead, as {@link SimdGemm} does, so that each thread packs only
 * its own rows of X: split by columns, both threads packed all of X, which at 32 × 128 tokens and
 * n = 384 cost about a fifth of each one's time. Each element of C is the same
 * FMA chain over p in order, carried through C between the same blocks of k as in {@link SimdGemm},
 * so the bits are those of {@link Gemm#sgemm} for any thread count.
 */
final class SimdPackedWeight {
    /** Where W starts in its storage, and its shape. */
    final int wOff, n, k;
    /** Block b holds W's columns pc = b·kcStep.. as panels: column j of the block at j·kc, element p at j·kc + p·NR + (j mod NR). */
    private final float[][] blocks;

    private SimdPackedWeight(int wOff, int n, int k, float[][] blocks) {
        this.wOff = wOff;
        this.n = n;
        this.k = k;
        this.blocks = blocks;
    }

    /** Packs W stored n×k from w[wOff] with row stride k, the threads splitting its panels; n, k ≥ 1. */
    static SimdPackedWeight pack(Parallel pool, float[] w, int wOff, int n, int k) {
        int kcStep = SimdGemm.kcStep(k), width = (n + NR - 1) / NR * NR;
        float[][] blocks = new float[(k + kcStep - 1) / kcStep][];
        for (int b = 0; b < blocks.length; b++) {
            int pc = b * kcStep, kc = Math.min(kcStep, k - pc);
            float[] block = blocks[b] = new float[width * kc];
            pool.forRange(width / NR, 1, (from, to) -> {
                int j0 = from * NR;
                SimdGemm.packB(true, w, wOff, k, pc, kc, j0, Math.min(n, to * NR) - j0, block, j0 * kc);
            });
        }
        return new SimdPackedWeight(wOff, n, k, blocks);
    }

    /**
     * C = X·Wᵀ, then the epilogue when not null: X m×k at x[xOff] with row stride ldx, C m×n at
     * c[cOff] with row stride ldc, overwritten.
     */
    void product(Parallel pool, int m, float[] x, int xOff, int ldx, float[] c, int cOff, int ldc, Epilogue epilogue) {
        int panels = (n + NR - 1) / NR, rowPanels = (m + MR - 1) / MR;
        if ((long) m * n * k < SimdGemm.PARALLEL_MIN_WORK || pool.threads() == 1) {
            tiles(0, m, 0, n, x, xOff, ldx, c, cOff, ldc, epilogue);
        } else if (rowPanels >= pool.threads() * 4) {
            pool.forRange(rowPanels, 1, (from, to) -> tiles(from * MR, Math.min(m, to * MR), 0, n, x, xOff, ldx, c, cOff, ldc, epilogue));
        } else {
            pool.forRange(panels, 1, (from, to) -> tiles(0, m, from * NR, Math.min(n, to * NR), x, xOff, ldx, c, cOff, ldc, epilogue));
        }
    }

    /** Rows i0..i1, columns j0..j1 of C: per block of k, SimdGemm's loop over this thread's rows of X and W's panels. */
    private void tiles(int i0, int i1, int j0, int j1, float[] x, int xOff, int ldx, float[] c, int cOff, int ldc,
                       Epilogue epilogue) {
        SimdGemm.Buffers buf = SimdGemm.Buffers.forThread(i1 - i0, 0, k);
        int kcStep = SimdGemm.kcStep(k);
        for (int b = 0; b < blocks.length; b++) {
            int pc = b * kcStep, kc = Math.min(kcStep, k - pc);
            SimdGemm.rowBand(false, i0, i1, x, xOff, ldx, pc, kc, j0, j1 - j0, blocks[b], j0 * kc, b > 0, c, cOff, ldc, buf, null,
                    b == blocks.length - 1 ? epilogue : null);
        }
    }
}
