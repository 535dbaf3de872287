package dev.bertft.cuda;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The index math of sgemm_tf32 (gemm.cu), run in Java phase by phase (each phase between two
 * __syncthreads is every thread in turn), with mma.sync.m16n8k8 emulated from the fragment
 * tables of the PTX ISA — not from our kernel — so a register put in the wrong place shows up
 * as a wrong product. Inputs are small integers, so every sum is exact and the comparison with
 * a plain triple loop is exact. Covers the four transpose combinations, edge tiles and batches.
 */
class TensorCoreGemmLayoutTest {
    static final int BM = 128, BN = 128, BK = 32, THREADS = 256, PER_THREAD = BM * BK / THREADS;

    /**
     * D += A·B for one warp, fragments as the PTX ISA lays them out for .tf32 m16n8k8
     * (groupID = lane >> 2, threadID_in_group = lane % 4):
     * A: row groupID (a0, a2) / groupID+8 (a1, a3), col tig (a0, a1) / tig+4 (a2, a3);
     * B: row tig (b0) / tig+4 (b1), col groupID; C/D: row groupID (c0, c1) / groupID+8 (c2, c3),
     * col 2·tig + (i & 1).
     */
    static void mma(float[][] d, float[][] a, float[][] b) {
        float[][] am = new float[16][8], bm = new float[8][8], cm = new float[16][8];
        for (int lane = 0; lane < 32; lane++) {
            int g = lane >> 2, t = lane & 3;
            for (int i = 0; i < 4; i++) am[g + ((i & 1) == 1 ? 8 : 0)][t + (i >= 2 ? 4 : 0)] = a[lane][i];
            for (int i = 0; i < 2; i++) bm[t + 4 * i][g] = b[lane][i];
            for (int i = 0; i < 4; i++) cm[g + (i >= 2 ? 8 : 0)][2 * t + (i & 1)] = d[lane][i];
        }
        for (int r = 0; r < 16; r++) for (int c = 0; c < 8; c++) for (int k = 0; k < 8; k++) cm[r][c] += am[r][k] * bm[k][c];
        for (int lane = 0; lane < 32; lane++) {
            int g = lane >> 2, t = lane & 3;
            for (int i = 0; i < 4; i++) d[lane][i] = cm[g + (i >= 2 ? 8 : 0)][2 * t + (i & 1)];
        }
    }

    // a_tile_coord / b_tile_coord of gemm.cu: {row, col}
    static int[] aCoord(int e, boolean transA) {
        return transA ? new int[] {e % BM, e / BM} : new int[] {e / BK, e % BK};
    }

    static int[] bCoord(int e, boolean transB) {
        return transB ? new int[] {e % BK, e / BK} : new int[] {e / BN, e % BN};
    }

    /** sgemm_tf32 over the whole grid. */
    static void sgemm(boolean ta, boolean tb, int M, int N, int K, int batches, float[] A, int lda, int sa, float[] B, int ldb, int sb,
                      float[] C, int ldc, int sc) {
        for (int batch = 0; batch < batches; batch++) {
            for (int by = 0; by * BM < M; by++) {
                for (int bx = 0; bx * BN < N; bx++) {
                    int m0 = by * BM, n0 = bx * BN;
                    float[][] As = new float[BM][BK + 4], Bs = new float[BK][BN + 8];
                    float[][] ra = new float[THREADS][PER_THREAD], rb = new float[THREADS][PER_THREAD];
                    float[][][][] acc = new float[8][4][4][32 * 4]; // [warp][i][j][lane*4 + r]
                    int tiles = (K + BK - 1) / BK;
                    final int ab = batch * sa, bb = batch * sb;
                    java.util.function.IntConsumer fetch = k0 -> {
                        for (int tid = 0; tid < THREADS; tid++) {
                            for (int i = 0; i < PER_THREAD; i++) {
                                int[] rc = aCoord(tid + i * THREADS, ta);
                                int m = m0 + rc[0], k = k0 + rc[1];
                                ra[tid][i] = m < M && k < K ? A[ab + (ta ? k * lda + m : m * lda + k)] : 0f;
                                rc = bCoord(tid + i * THREADS, tb);
                                int kb = k0 + rc[0], n = n0 + rc[1];
                                rb[tid][i] = kb < K && n < N ? B[bb + (tb ? n * ldb + kb : kb * ldb + n)] : 0f;
                            }
                        }
                    };
                    Runnable stash = () -> {
                        for (int tid = 0; tid < THREADS; tid++) {
                            for (int i = 0; i < PER_THREAD; i++) {
                                int[] rc = aCoord(tid + i * THREADS, ta);
                                As[rc[0]][rc[1]] = ra[tid][i];
                                rc = bCoord(tid + i * THREADS, tb);
                                Bs[rc[0]][rc[1]] = rb[tid][i];
                            }
                        }
                    };
                    fetch.accept(0);
                    stash.run();
                    for (int kt = 0; kt < tiles; kt++) {
                        if (kt + 1 < tiles) fetch.accept((kt + 1) * BK);
                        for (int warp = 0; warp < 8; warp++) {
                            int warpM = (warp >> 2) * 64, warpN = (warp & 3) * 32;
                            for (int kk = 0; kk < BK; kk += 8) {
                                float[][][] af = new float[4][32][4], bf = new float[4][32][2];
                                for (int lane = 0; lane < 32; lane++) {
                                    int g = lane >> 2, t = lane & 3;
                                    for (int i = 0; i < 4; i++) {
                                        int row = warpM + i * 16 + g;
                                        af[i][lane][0] = As[row][kk + t];
                                        af[i][lane][1] = As[row + 8][kk + t];
                                        af[i][lane][2] = As[row][kk + t + 4];
                                        af[i][lane][3] = As[row + 8][kk + t + 4];
                                    }
                                    for (int j = 0; j < 4; j++) {
                                        int col = warpN + j * 8 + g;
                                        bf[j][lane][0] = Bs[kk + t][col];
                                        bf[j][lane][1] = Bs[kk + t + 4][col];
                                    }
                                }
                                for (int i = 0; i < 4; i++) {
                                    for (int j = 0; j < 4; j++) {
                                        float[][] d = new float[32][4];
                                        for (int lane = 0; lane < 32; lane++) System.arraycopy(acc[warp][i][j], lane * 4, d[lane], 0, 4);
                                        mma(d, af[i], bf[j]);
                                        for (int lane = 0; lane < 32; lane++) System.arraycopy(d[lane], 0, acc[warp][i][j], lane * 4, 4);
                                    }
                                }
                            }
                        }
                        if (kt + 1 < tiles) stash.run();
                    }
                    for (int warp = 0; warp < 8; warp++) {
                        int warpM = (warp >> 2) * 64, warpN = (warp & 3) * 32;
                        for (int lane = 0; lane < 32; lane++) {
                            int g = lane >> 2, t = lane & 3;
                            for (int i = 0; i < 4; i++) {
                                for (int j = 0; j < 4; j++) {
                                    int row = m0 + warpM + i * 16 + g, col = n0 + warpN + j * 8 + 2 * t;
                                    for (int r = 0; r < 4; r++) {
                                        int m = row + (r >> 1) * 8, n = col + (r & 1);
                                        if (m < M && n < N) C[batch * sc + m * ldc + n] = acc[warp][i][j][lane * 4 + r];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void everyLayoutAndEdgeTileGivesTheExactProduct() {
        Random r = new Random(1);
        int[][] shapes = {{1, 1, 1}, {130, 9, 33}, {17, 140, 70}, {128, 128, 32}};
        for (int[] s : shapes) {
            int M = s[0], N = s[1], K = s[2], batches = 2;
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1; // padded leading dims, as views give
                    int sa = lda * (ta ? K : M), sb = ldb * (tb ? N : K), sc = M * N;
                    float[] A = new float[sa * batches], B = new float[sb * batches], C = new float[sc * batches];
                    for (int i = 0; i < A.length; i++) A[i] = r.nextInt(7) - 3;
                    for (int i = 0; i < B.length; i++) B[i] = r.nextInt(7) - 3;
                    sgemm(ta, tb, M, N, K, batches, A, lda, sa, B, ldb, sb, C, N, sc);
                    for (int bt = 0; bt < batches; bt++) {
                        for (int m = 0; m < M; m++) {
                            for (int n = 0; n < N; n++) {
                                float want = 0;
                                for (int k = 0; k < K; k++) {
                                    float a = A[bt * sa + (ta ? k * lda + m : m * lda + k)], b = B[bt * sb + (tb ? n * ldb + k : k * ldb + n)];
                                    want += a * b;
                                }
                                assertEquals(want, C[bt * sc + m * N + n], 0f, "C[" + bt + "," + m + "," + n + "] of " + M + "x" + N + "x" + K
                                        + " transA=" + ta + " transB=" + tb);
                            }
                        }
                    }
                }
            }
        }
    }
}
