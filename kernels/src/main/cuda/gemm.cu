// Batched GEMM  C[b] = A[b] · B[b]  (no accumulation into C), for the transpose variants a
// strided view gives without copying:
//   A(m, k) = transA ? A[k·lda + m] : A[m·lda + k]
//   B(k, n) = transB ? B[n·ldb + k] : B[k·ldb + n]
//   C(m, n) = C[m·ldc + n]
// Batch entry b starts at b·strideA, b·strideB (0 when B is shared), b·strideC.
//
// float32: tensor cores in TF32 (10-bit mantissa inputs, float32 accumulation), the
// mma.sync.m16n8k8 instruction of sm_80 and later. A block computes a 128×128 tile of C with
// 8 warps in a 2×4 grid, each warp 64×32 = 4×4 instructions of 16×8. K advances 32 at a time:
// the next A and B tiles are fetched into registers while the current ones, in shared memory,
// feed the tensor cores. Loads follow whichever axis is contiguous in memory, so both
// transposes read coalesced rows.
//
// float64 (gradient checks only): a plain 16×16 shared-memory tiled kernel.
#include "common.cuh"

#define BM 128
#define BN 128
#define BK 32
#define THREADS 256
// Row paddings chosen so the fragment reads below hit 32 distinct banks:
// A: (g·(BK+4) + t) mod 32 = 4g + t;  B: (t·(BN+8) + g) mod 32 = 8t + g  (g < 8, t < 4).
#define A_PAD 4
#define B_PAD 8

#ifdef __CUDACC__  // elsewhere (the tests' CPU emulator) these two come from cuda_emulation.h
__device__ inline uint32_t to_tf32(float x) {
    uint32_t r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return r;
}

// D = A·B + D for one 16×8×8 step. Fragment ownership, with g = lane/4 and t = lane%4:
//   a0 (g, t)  a1 (g+8, t)  a2 (g, t+4)  a3 (g+8, t+4)     rows m, cols k of the 16×8 A tile
//   b0 (t, g)  b1 (t+4, g)                                 rows k, cols n of the 8×8 B tile
//   d0 (g, 2t) d1 (g, 2t+1) d2 (g+8, 2t) d3 (g+8, 2t+1)    rows m, cols n of the 16×8 C tile
__device__ inline void mma_tf32(float d[4], const uint32_t a[4], const uint32_t b[2]) {
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
#endif

// Element e (0..BM·BK) of the A tile as (row m, col k): along k when k is contiguous, else along m.
__device__ inline void a_tile_coord(int e, int trans_a, int &r, int &c) {
    if (trans_a) {
        c = e / BM;
        r = e % BM;
    } else {
        r = e / BK;
        c = e % BK;
    }
}

// Element e (0..BK·BN) of the B tile as (row k, col n).
__device__ inline void b_tile_coord(int e, int trans_b, int &r, int &c) {
    if (trans_b) {
        c = e / BK;
        r = e % BK;
    } else {
        r = e / BN;
        c = e % BN;
    }
}

extern "C" __global__ void __launch_bounds__(THREADS)
sgemm_tf32(int trans_a, int trans_b, int M, int N, int K, int batches,
           const float *A, long long lda, long long stride_a,
           const float *B, long long ldb, long long stride_b,
           float *C, long long ldc, long long stride_c) {
    __shared__ uint32_t As[BM][BK + A_PAD];
    __shared__ uint32_t Bs[BK][BN + B_PAD];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int warp_m = (warp >> 2) * 64, warp_n = (warp & 3) * 32;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int per_thread = BM * BK / THREADS; // 16, and the same for B

    for (int batch = blockIdx.z; batch < batches; batch += gridDim.z) {
        const float *a = A + batch * stride_a;
        const float *b = B + batch * stride_b;
        float *c = C + batch * stride_c;
        float acc[4][4][4];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                for (int r = 0; r < 4; r++) acc[i][j][r] = 0.0f;

        float ra[per_thread], rb[per_thread];
        // Global → registers for the K tile starting at k0, zero outside the matrices.
        auto fetch = [&](int k0) {
            for (int i = 0; i < per_thread; i++) {
                int r, cc;
                a_tile_coord(tid + i * THREADS, trans_a, r, cc);
                int m = m0 + r, k = k0 + cc;
                ra[i] = (m < M && k < K) ? a[trans_a ? (long long) k * lda + m : (long long) m * lda + k] : 0.0f;
                b_tile_coord(tid + i * THREADS, trans_b, r, cc);
                int kb = k0 + r, n = n0 + cc;
                rb[i] = (kb < K && n < N) ? b[trans_b ? (long long) n * ldb + kb : (long long) kb * ldb + n] : 0.0f;
            }
        };
        // Registers → shared memory, rounded to TF32 once here rather than per fragment read.
        auto stash = [&]() {
            for (int i = 0; i < per_thread; i++) {
                int r, cc;
                a_tile_coord(tid + i * THREADS, trans_a, r, cc);
                As[r][cc] = to_tf32(ra[i]);
                b_tile_coord(tid + i * THREADS, trans_b, r, cc);
                Bs[r][cc] = to_tf32(rb[i]);
            }
        };

        const int tiles = (K + BK - 1) / BK;
        fetch(0);
        __syncthreads(); // the previous batch entry may still be reading shared memory
        stash();
        __syncthreads();
        for (int kt = 0; kt < tiles; kt++) {
            if (kt + 1 < tiles) fetch((kt + 1) * BK);
            for (int kk = 0; kk < BK; kk += 8) {
                uint32_t af[4][4], bf[4][2];
                for (int i = 0; i < 4; i++) {
                    int row = warp_m + i * 16 + g;
                    af[i][0] = As[row][kk + t];
                    af[i][1] = As[row + 8][kk + t];
                    af[i][2] = As[row][kk + t + 4];
                    af[i][3] = As[row + 8][kk + t + 4];
                }
                for (int j = 0; j < 4; j++) {
                    int col = warp_n + j * 8 + g;
                    bf[j][0] = Bs[kk + t][col];
                    bf[j][1] = Bs[kk + t + 4][col];
                }
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) mma_tf32(acc[i][j], af[i], bf[j]);
            }
            __syncthreads();
            if (kt + 1 < tiles) {
                stash();
                __syncthreads();
            }
        }

        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 4; j++) {
                int row = m0 + warp_m + i * 16 + g, col = n0 + warp_n + j * 8 + 2 * t;
                for (int r = 0; r < 4; r++) {
                    int m = row + (r >> 1) * 8, n = col + (r & 1);
                    if (m < M && n < N) c[(long long) m * ldc + n] = acc[i][j][r];
                }
            }
        }
    }
}

// float64: each 16×16 thread block owns a 16×16 tile of C and walks K in steps of 16.
#define DT 16

extern "C" __global__ void dgemm_tiled(int trans_a, int trans_b, int M, int N, int K, int batches,
                                       const double *A, long long lda, long long stride_a,
                                       const double *B, long long ldb, long long stride_b,
                                       double *C, long long ldc, long long stride_c) {
    __shared__ double As[DT][DT + 1], Bs[DT][DT + 1];
    int tx = threadIdx.x, ty = threadIdx.y;
    int m = blockIdx.y * DT + ty, n = blockIdx.x * DT + tx;
    for (int batch = blockIdx.z; batch < batches; batch += gridDim.z) {
        const double *a = A + batch * stride_a, *b = B + batch * stride_b;
        double acc = 0;
        for (int k0 = 0; k0 < K; k0 += DT) {
            int ka = k0 + tx, kb = k0 + ty;
            As[ty][tx] = (m < M && ka < K) ? a[trans_a ? (long long) ka * lda + m : (long long) m * lda + ka] : 0.0;
            Bs[ty][tx] = (kb < K && n < N) ? b[trans_b ? (long long) n * ldb + kb : (long long) kb * ldb + n] : 0.0;
            __syncthreads();
            for (int k = 0; k < DT; k++) acc += As[ty][k] * Bs[k][tx];
            __syncthreads();
        }
        if (m < M && n < N) C[batch * stride_c + (long long) m * ldc + n] = acc;
    }
}
