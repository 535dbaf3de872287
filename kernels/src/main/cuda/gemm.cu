// Batched GEMM  C[b] = A[b] · B[b] (+ bias[n] when bias is not null: a Linear layer's bias added
// on the way out instead of in a pass of its own; no accumulation into C), for the transpose
// variants a strided view gives without copying. The epilogue can instead apply a GELU around
// the product (EPI_GELU, EPI_GELU_GRAD below) as it writes C out.
//   A(m, k) = TA ? A[k·lda + m] : A[m·lda + k]
//   B(k, n) = TB ? B[n·ldb + k] : B[k·ldb + n]
//   C(m, n) = C[m·ldc + n]
// Grid z enumerates batch entries × K splits (z = batch·splits + split; the host launches again
// past the grid's 65535 limit). Batch entry b starts at b·stride_a, b·stride_b (0 when B is
// shared); split s covers k in [s·k_chunk, (s+1)·k_chunk) and writes its partial product to
// C + z·stride_c, which the host then sums in a fixed order (splitk_sum), so a split product is
// as deterministic as a whole one.
//
// float32: tensor cores in TF32 (10-bit mantissa inputs, float32 accumulation), the
// mma.sync.m16n8k8 instruction of sm_80 and later, fed the operands' float32 bits as they are:
// the tensor cores truncate them to TF32 themselves (tf32_bits in common.cuh), with no cvt.rna
// per element. PyTorch's numerical-accuracy notes describe its allow_tf32 (cuBLAS) products the
// same way: only the first 10 bits of each input mantissa are read. A block of 4 warps (2×2) computes a 128×128
// tile of C, each warp 64×64 = 4×8 instructions of 16×8: per step of 8 along K a warp reads 32
// fragment words from shared memory per lane for 32 tensor-core instructions (a 64×32 warp tile
// would read 24 for 16), which keeps shared memory and the issue slots off the critical path.
// K advances 32 at a time (one barrier per 32 k) through a ring of 3 shared-memory stages filled
// by cp.async: while the tensor cores work on stage s, the copies for the next two (64 k) are in
// flight, which hides global memory's latency without spending registers on it. A stage is the A
// and the B tile of 128 × 32 floats, 32 KiB: 96 KiB of shared memory per block, so two blocks fit
// on an SM of sm_90 (228 KiB, 1 KiB of it reserved per block) and one on sm_80 (164 KiB) and on
// sm_86/sm_89 (100 KiB). Fragments are read 16 k at a time, so registers stay as at a K step of 16.
//
// Each tile sits in shared memory in the order it has in global memory (rows along whichever
// axis is contiguous), unpadded, so every transpose variant loads coalesced 16-byte chunks; the
// chunks of a row are swizzled (gemm_pipeline.cuh) so that fragment reads hit 32 distinct banks.
// With g = lane/4 < 8 and t = lane%4 < 4, and 16-byte reads served a phase of 8 lanes
// (g = 2p, 2p+1) at a time:
//   nt (x·Wᵀ, every Linear forward): A [m][32], B [n][32]. The tensor cores add over k in
//      whatever order A and B agree on, so lane t takes k = 4t..4t+3 of a row in one read: 4t
//      and 4t+1 as its k = t and t+4 in the first step of 8, 4t+2 and 4t+3 in the second; the
//      second 16 k the same from k = 16 + 4t.
//   nn (dY·W, a Linear's input gradient): A as nt; B [32][n], of which lane g reads columns
//      8g..8g+7 of its warp's 64 in two reads per k row: tile j of 8 columns takes column 8g + j
//      as the lane's g, so column c of tile j's result is column 8c + j of C.
//   tn (dYᵀ·X, a weight gradient): A [32][m], lane g reading rows 8g..8g+7 of its warp's 64:
//      tile i of 16 rows takes row 8g + 2i as the lane's g and 8g + 2i + 1 as its g + 8. B as nn;
//      k in the mma's own order.
//   tt (no BERT product): A [32][m], B [n][32], read 4 bytes at a time in the mma's order.
// The banks, 32 of 4 bytes, a 16-byte chunk covering 4:
//   [128][32] tiles (SWIZZLE_ROWS): a row is 128 bytes, so rows r and r + 1 start on the same bank.
//      Chunk q of row r sits at q ^ (4·r0 + (r >> 1) mod 4). nt and nn read chunk t (then 4 + t)
//      of a row ≡ g mod 8: a phase's row 2p lands in chunks t ^ p (0-3), row 2p + 1 in
//      t ^ (4 + p) (4-7), 8 distinct chunks. tt's B reads word t of chunk c (c + 1) of rows
//      n ≡ g mod 8: chunks c ^ mask(g), mask a bijection of 0..7, so 32 distinct words.
//   [32][128] tiles: rows of 512 bytes, each starting at bank 0. A phase's 8 lanes read chunk 2g
//      or 2g + 1 in four different rows, 16h + 4t + c in nn, 8s + t (+4) in tn: chunk q of row k
//      at q ^ S(x), S(x) in {0, 1, 4, 5} for x = k mod 4 (tn, SWIZZLE_K) or (k >> 2) mod 4 (nn's
//      B, SWIZZLE_K4), x = t either way, hits 8 distinct groups of 4 banks. tt's A reads word
//      m mod 4 of chunk m >> 2 (two chunks c, c + 1 per 8 rows m, c even) in rows k ≡ t mod 4:
//      at chunk ^ 2t (SWIZZLE_K_WORD), 8 distinct chunks.
// The epilogue (store_tile) puts each result where those orders say, 16 bytes a store.
// Where a row start or a leading dimension is not a multiple of 16 bytes, the same kernel
// copies 4 bytes at a time instead, into the same layout.
//
// The tn variant, a weight gradient dYᵀ·X, also adds up A's rows (dY's columns, the bias
// gradient) where the host asks: Σ_k A(m, k) per K split into row_sums.
//
// float64 (gradient checks only): a plain 16×16 shared-memory tiled kernel.
#include "gelu.cuh"
#include "gemm_pipeline.cuh"

#define BM 128
#define BN 128
#define BK 32
#define STAGES 3
#define THREADS 128
#define TILE_FLOATS (BM * BK)                   // [128][32] or [32][128]
#define STAGE_FLOATS (2 * TILE_FLOATS)          // the A tile, then the B tile

// Eight elements from column col (a multiple of 8) of row k of a swizzled [32][128] tile: two 16-byte reads.
template <int SWIZZLE>
__device__ inline void eight(float (&out)[8], const float *tile, int k, int col) {
    float4 lo = shared_float4(tile + k * BM + swizzled<SWIZZLE>(k, col));
    float4 hi = shared_float4(tile + k * BM + swizzled<SWIZZLE>(k, col + 4));
    out[0] = lo.x, out[1] = lo.y, out[2] = lo.z, out[3] = lo.w;
    out[4] = hi.x, out[5] = hi.y, out[6] = hi.z, out[7] = hi.w;
}

// Four elements k .. k+3 (k a multiple of 4) of row r of a [128][32] tile: one 16-byte read.
__device__ inline float4 four(const float *tile, int r, int k) { return shared_float4(tile + r * BK + swizzled<SWIZZLE_ROWS>(r, k)); }

// What the epilogue does with the product P of a single product (batch 1, no K split), aux being
// an M × N matrix with C's ldc (gemm_pipeline.cuh numbers them):
//   EPI_PLAIN      C = P (+ bias)
//   EPI_GELU       C = P, aux = GELU(P + bias): a Linear layer and its GELU, the product kept for
//                  the backward (aux may be C: GELU(P + bias) alone, for prediction)
//   EPI_GELU_GRAD  C = P · GELU'(aux + bias): the gradient at GELU's input, P the gradient at its
//                  output (dY·W of the next Linear) and aux the forward's product
//   EPI_ADD        C = P (+ bias) + aux: a Linear's input gradient added to the one a residual
//                  collected (splitk_sum adds aux after the pieces where K is split)
// The same float operations as the bias_gelu kernels of elementwise.cu and binary_f32's add, so
// the same bits as the separate kernels.

// Four values to row[n ..] (n a multiple of 4, within N): one 16-byte store where all four are
// inside and the row allows it, else one at a time.
__device__ __forceinline__ void store4(float *row, int n, int N, const float (&v)[4]) {
    if (n + 3 < N && ((uintptr_t) (row + n) & 15) == 0) {
        global_float4(row + n, v[0], v[1], v[2], v[3]);
    } else {
        #pragma unroll
        for (int e = 0; e < 4; e++)
            if (n + e < N) row[n + e] = v[e];
    }
}

// Columns n .. n+3 of a row of C through an epilogue other than EPI_PLAIN; aux_row is that row of
// aux. Out of line: erff and expf inlined at each of store_tile's 32 call sites made the module five
// times the size and its build five times as long, for kernels that mostly run EPI_PLAIN.
__device__ __noinline__ void put4_epilogue(float *row, float *aux_row, int n, int N, const float *bias, int epi, float v0, float v1,
                                           float v2, float v3) {
    float v[4] = {v0, v1, v2, v3};
    if (epi == EPI_GELU_GRAD) {
        #pragma unroll
        for (int e = 0; e < 4; e++)
            if (n + e < N) v[e] *= gelu_grad(aux_row[n + e] + bias[n + e]);
    }
    if (epi == EPI_ADD) {
        #pragma unroll
        for (int e = 0; e < 4; e++)
            if (n + e < N) v[e] = (bias != nullptr ? v[e] + bias[n + e] : v[e]) + aux_row[n + e];
    }
    store4(row, n, N, v);
    if (epi == EPI_GELU) {  // after C: where aux is C, GELU is what stays
        float y[4];
        #pragma unroll
        for (int e = 0; e < 4; e++) y[e] = n + e < N ? gelu(v[e] + bias[n + e]) : 0.0f;
        store4(aux_row, n, N, y);
    }
}

// Columns n .. n+3 of a row of C through the epilogue.
__device__ __forceinline__ void put4(float *row, float *aux_row, int n, int N, const float *bias, int epi, float v0, float v1, float v2,
                                     float v3) {
    if (epi != EPI_PLAIN) {
        put4_epilogue(row, aux_row, n, N, bias, epi, v0, v1, v2, v3);
        return;
    }
    float v[4] = {v0, v1, v2, v3};
    if (bias != nullptr) {
        #pragma unroll
        for (int e = 0; e < 4; e++)
            if (n + e < N) v[e] += bias[n + e];
    }
    store4(row, n, N, v);
}

// The epilogue: a warp's acc[i][j][r], row g (+8 for r ≥ 2) of mma tile i and column 2t (+1 for
// odd r) of mma tile j, to the rows and columns of C the read orders above give them, 4 columns
// a store. Where columns run by lane (nn, tn) lane t's 16 columns are its own; in nt and tt a
// lane holds 2 columns of each 8, so pairs of lanes swap halves of two tiles first: the even lane
// ends with columns 2t..2t+3 of tile 2p, the odd one 2t-2..2t+1 of tile 2p+1. (Selects, not an
// index by lane: a run-time index would put acc in local memory.) Every lane shuffles; only
// rows inside C store.
template <bool TA, bool TB>
__device__ __forceinline__ void store_tile(const float (&acc)[4][8][4], float *c, long long ldc, const float *bias, int epi, float *aux,
                                           int M, int N, int m_warp, int n_warp, int g, int t) {
    constexpr bool rows_by_lane = TA && !TB, cols_by_lane = !TB;
    const bool odd = t & 1;
    #pragma unroll
    for (int i = 0; i < 4; i++) {
        #pragma unroll
        for (int h = 0; h < 2; h++) {  // registers 2h and 2h + 1: one row
            int m = m_warp + (rows_by_lane ? 8 * g + 2 * i + h : 16 * i + g + 8 * h);
            float *out = c + (long long) m * ldc, *aux_out = aux != nullptr ? aux + (long long) m * ldc : nullptr;
            #pragma unroll
            for (int q = 0; q < 4; q++) {
                if (cols_by_lane) {  // columns 16t + 4q ..: tile 4(q & 1) .., register 2h + (q >> 1)
                    const int j = 4 * (q & 1), r = 2 * h + (q >> 1);
                    if (m < M)
                        put4(out, aux_out, n_warp + 16 * t + 4 * q, N, bias, epi, acc[i][j][r], acc[i][j + 1][r], acc[i][j + 2][r],
                             acc[i][j + 3][r]);
                } else {  // q = p: tiles 2p and 2p + 1
                    const int j = 2 * q, r = 2 * h;
                    float keep0 = odd ? acc[i][j + 1][r] : acc[i][j][r], keep1 = odd ? acc[i][j + 1][r + 1] : acc[i][j][r + 1];
                    float send0 = odd ? acc[i][j][r] : acc[i][j + 1][r], send1 = odd ? acc[i][j][r + 1] : acc[i][j + 1][r + 1];
                    float got0 = __shfl_xor_sync(0xffffffffu, send0, 1), got1 = __shfl_xor_sync(0xffffffffu, send1, 1);
                    int n = n_warp + 8 * (j + odd) + 2 * (t & ~1);
                    if (m < M) {
                        if (odd) put4(out, aux_out, n, N, bias, epi, got0, got1, keep0, keep1);
                        else put4(out, aux_out, n, N, bias, epi, keep0, keep1, got0, got1);
                    }
                }
            }
        }
    }
}

template <bool TA, bool TB, int VEC>
__device__ void sgemm_tf32_body(int M, int N, int K, int splits, int k_chunk,
                                const float *A, long long lda, long long stride_a,
                                const float *B, long long ldb, long long stride_b, const float *bias,
                                float *C, long long ldc, long long stride_c, float *row_sums, int epi, float *aux, float *smem) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int warp_m = (warp >> 1) * 64, warp_n = (warp & 1) * 64;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;

    const GemmSlice slice = gemm_slice(K, splits, k_chunk);
    const int k_end = slice.k_end;
    const float *a = A + slice.batch * stride_a, *b = B + slice.batch * stride_b;
    float *c = C + slice.z * stride_c;
    // The swizzles of the top: [32][128] tiles by k (tn), by k/4 (nn's B) or for 4-byte reads (tt's A).
    constexpr int k_rows = TA && TB ? SWIZZLE_K_WORD : TA ? SWIZZLE_K : SWIZZLE_K4;
    // Queues stage `stage` with the K slice starting at k0.
    auto load = [&](int stage, int k0) {
        float *as = smem + stage * STAGE_FLOATS, *bs = as + TILE_FLOATS;
        if (TA) copy_tile<float, THREADS, BK, BM, BM, VEC, k_rows>(as, a, lda, k0, k_end, m0, M);
        else copy_tile<float, THREADS, BM, BK, BK, VEC, SWIZZLE_ROWS>(as, a, lda, m0, M, k0, k_end);
        if (TB) copy_tile<float, THREADS, BN, BK, BK, VEC, SWIZZLE_ROWS>(bs, b, ldb, n0, N, k0, k_end);
        else copy_tile<float, THREADS, BK, BN, BN, VEC, k_rows>(bs, b, ldb, k0, k_end, n0, N);
    };

    // tn only: the first column of blocks' left warps also add up the A elements they read (rows
    // 8g..8g+7 of the warp's 64, k ≡ t mod 4), unrounded: Σ_k A(m, k), a Linear's bias gradient
    // when A is dY, out of the tile the weight gradient reads anyway.
    const bool summing = TA && !TB && row_sums != nullptr && blockIdx.x == 0 && warp_n == 0;
    float sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    float acc[4][8][4];
    zero(acc);
    cp_async_ring<STAGES, BK>(slice.k_begin, slice.k_end, load, [&](int stage, int) {
        const float *as = smem + stage * STAGE_FLOATS, *bs = as + TILE_FLOATS;
        if constexpr (!TA) {
            // nt and nn, 16 k at a time: k in the order k16 + 4t.. of both operands. bf[s][j]:
            // tile j's B fragment in step s.
            #pragma unroll
            for (int k16 = 0; k16 < BK; k16 += 16) {
                uint32_t bf[2][8][2];
                if constexpr (TB) {
                    #pragma unroll
                    for (int j = 0; j < 8; j++) {
                        float4 v = four(bs, warp_n + j * 8 + g, k16 + 4 * t);
                        bf[0][j][0] = tf32_bits(v.x);
                        bf[0][j][1] = tf32_bits(v.y);
                        bf[1][j][0] = tf32_bits(v.z);
                        bf[1][j][1] = tf32_bits(v.w);
                    }
                } else {
                    #pragma unroll
                    for (int q = 0; q < 4; q++) {  // k row k16 + 4t + q: step q / 2, register q % 2
                        float b8[8];
                        eight<k_rows>(b8, bs, k16 + 4 * t + q, warp_n + 8 * g);
                        #pragma unroll
                        for (int j = 0; j < 8; j++) bf[q >> 1][j][q & 1] = tf32_bits(b8[j]);
                    }
                }
                #pragma unroll
                for (int i = 0; i < 4; i++) {
                    const int row = warp_m + i * 16 + g;
                    float4 lo = four(as, row, k16 + 4 * t), hi = four(as, row + 8, k16 + 4 * t);
                    uint32_t first[4] = {tf32_bits(lo.x), tf32_bits(hi.x), tf32_bits(lo.y), tf32_bits(hi.y)};
                    uint32_t second[4] = {tf32_bits(lo.z), tf32_bits(hi.z), tf32_bits(lo.w), tf32_bits(hi.w)};
                    #pragma unroll
                    for (int j = 0; j < 8; j++) mma_tf32(acc[i][j], first, bf[0][j]);
                    #pragma unroll
                    for (int j = 0; j < 8; j++) mma_tf32(acc[i][j], second, bf[1][j]);
                }
            }
        } else if constexpr (!TB) {
            // tn: lane g's rows 8g..8g+7 of A and columns 8g..8g+7 of B, k = 8s + t and 8s + t + 4.
            #pragma unroll
            for (int s = 0; s < BK / 8; s++) {
                uint32_t af[4][4], bf[8][2];
                #pragma unroll
                for (int h = 0; h < 2; h++) {
                    int k = 8 * s + t + 4 * h;
                    float a8[8], b8[8];
                    eight<k_rows>(a8, as, k, warp_m + 8 * g);
                    eight<k_rows>(b8, bs, k, warp_n + 8 * g);
                    if (summing) {
                        #pragma unroll
                        for (int e = 0; e < 8; e++) sums[e] += a8[e];
                    }
                    #pragma unroll
                    for (int i = 0; i < 4; i++) {  // rows 8g + 2i, 8g + 2i + 1 as the fragment's g and g + 8
                        af[i][2 * h] = tf32_bits(a8[2 * i]);
                        af[i][2 * h + 1] = tf32_bits(a8[2 * i + 1]);
                    }
                    #pragma unroll
                    for (int j = 0; j < 8; j++) bf[j][h] = tf32_bits(b8[j]);
                }
                #pragma unroll
                for (int i = 0; i < 4; i++)
                    #pragma unroll
                    for (int j = 0; j < 8; j++) mma_tf32(acc[i][j], af[i], bf[j]);
            }
        } else {
            // tt: A(m, k) at [k][m], B(k, n) at [n][k], one element a read.
            auto a_at = [&](int m, int k) { return as[k * BM + swizzled<k_rows>(k, m)]; };
            auto b_at = [&](int k, int n) { return bs[n * BK + swizzled<SWIZZLE_ROWS>(n, k)]; };
            #pragma unroll
            for (int kk = 0; kk < BK; kk += 8) {
                uint32_t af[4][4], bf[8][2];
                #pragma unroll
                for (int i = 0; i < 4; i++) {
                    int row = warp_m + i * 16 + g;
                    af[i][0] = tf32_bits(a_at(row, kk + t));
                    af[i][1] = tf32_bits(a_at(row + 8, kk + t));
                    af[i][2] = tf32_bits(a_at(row, kk + t + 4));
                    af[i][3] = tf32_bits(a_at(row + 8, kk + t + 4));
                }
                #pragma unroll
                for (int j = 0; j < 8; j++) {
                    int col = warp_n + j * 8 + g;
                    bf[j][0] = tf32_bits(b_at(kk + t, col));
                    bf[j][1] = tf32_bits(b_at(kk + t + 4, col));
                }
                #pragma unroll
                for (int i = 0; i < 4; i++)
                    #pragma unroll
                    for (int j = 0; j < 8; j++) mma_tf32(acc[i][j], af[i], bf[j]);
            }
        }
    });

    if (summing) {
        #pragma unroll
        for (int e = 0; e < 8; e++) sums[e] = quad_sum(sums[e]);  // the four lanes t of a row group, in a fixed order
        #pragma unroll
        for (int e = 0; e < 8; e++) {  // lane t writes rows e ≡ t mod 4
            int m = m0 + warp_m + 8 * g + e;
            if ((e & 3) == t && m < M) row_sums[(long long) slice.z * M + m] = sums[e];
        }
    }
    store_tile<TA, TB>(acc, c, ldc, bias, epi, aux, M, N, m0 + warp_m, n0 + warp_n, g, t);
}

// One entry point per transpose variant; the copy width is chosen inside, uniformly per launch.
// row_sums: null, or (tn only) where grid z's Σ_k A(m, k) goes, M floats per z. epi, aux: the
// epilogue (EPI_PLAIN for batches and K-split pieces) and its matrix, or null.
#define SGEMM_TF32(name, TA, TB)                                                                                              \
    extern "C" __global__ void __launch_bounds__(THREADS, 2)                                                                  \
    name(int M, int N, int K, int splits, int k_chunk, const float *A, long long lda, long long stride_a,                   \
         const float *B, long long ldb, long long stride_b, const float *bias, float *C, long long ldc, long long stride_c,   \
         float *row_sums, int epi, float *aux) {                                                                              \
        DYNAMIC_SHARED(float, smem);                                                                                          \
        if (rows_of_16_bytes(TA, TB, M, N, K, A, lda, stride_a, B, ldb, stride_b))                                            \
            sgemm_tf32_body<TA, TB, 4>(M, N, K, splits, k_chunk, A, lda, stride_a, B, ldb, stride_b, bias, C, ldc, stride_c, \
                                       row_sums, epi, aux, smem);                                                             \
        else                                                                                                                  \
            sgemm_tf32_body<TA, TB, 1>(M, N, K, splits, k_chunk, A, lda, stride_a, B, ldb, stride_b, bias, C, ldc, stride_c, \
                                       row_sums, epi, aux, smem);                                                             \
    }

SGEMM_TF32(sgemm_tf32_nn, false, false)
SGEMM_TF32(sgemm_tf32_nt, false, true)
SGEMM_TF32(sgemm_tf32_tn, true, false)
SGEMM_TF32(sgemm_tf32_tt, true, true)

// C = Σ_s partial[s] (+ bias) (+ addend), the K splits added in split order: partial is
// [splits][M][N], C and addend (EPI_ADD's aux, or null) have ldc.
extern "C" __global__ void splitk_sum(const float *partial, const float *bias, const float *addend, float *C, int M, int N, long long ldc,
                                      int splits) {
    long long mn = (long long) M * N;
    FOR_EACH(i, mn) {
        float sum = partial[i];
        for (int s = 1; s < splits; s++) sum += partial[s * mn + i];
        if (bias != nullptr) sum += bias[i % N];
        long long at = (i / N) * ldc + i % N;
        C[at] = addend != nullptr ? sum + addend[at] : sum;
    }
}

// float64, and IEEE float32 when TF32 is off: each 16×16 thread block owns a 16×16 tile of C and
// walks K in steps of 16, one fused multiply-add per element per step (no operand rounding).
#define DT 16

template <typename T>
__device__ void gemm_tiled_body(int trans_a, int trans_b, int M, int N, int K, int batches,
                                const T *A, long long lda, long long stride_a,
                                const T *B, long long ldb, long long stride_b,
                                T *C, long long ldc, long long stride_c) {
    __shared__ T As[DT][DT + 1], Bs[DT][DT + 1];
    int tx = threadIdx.x, ty = threadIdx.y;
    int m = blockIdx.y * DT + ty, n = blockIdx.x * DT + tx;
    for (int batch = blockIdx.z; batch < batches; batch += gridDim.z) {
        const T *a = A + batch * stride_a, *b = B + batch * stride_b;
        T acc = 0;
        for (int k0 = 0; k0 < K; k0 += DT) {
            int ka = k0 + tx, kb = k0 + ty;
            As[ty][tx] = (m < M && ka < K) ? a[trans_a ? (long long) ka * lda + m : (long long) m * lda + ka] : (T) 0;
            Bs[ty][tx] = (kb < K && n < N) ? b[trans_b ? (long long) n * ldb + kb : (long long) kb * ldb + n] : (T) 0;
            __syncthreads();
            for (int k = 0; k < DT; k++) acc += As[ty][k] * Bs[k][tx];
            __syncthreads();
        }
        if (m < M && n < N) C[batch * stride_c + (long long) m * ldc + n] = acc;
    }
}

#define GEMM_TILED(name, T)                                                                                        \
    extern "C" __global__ void name(int trans_a, int trans_b, int M, int N, int K, int batches,                    \
                                    const T *A, long long lda, long long stride_a,                                 \
                                    const T *B, long long ldb, long long stride_b,                                 \
                                    T *C, long long ldc, long long stride_c) {                                     \
        gemm_tiled_body<T>(trans_a, trans_b, M, N, K, batches, A, lda, stride_a, B, ldb, stride_b, C, ldc, stride_c); \
    }

GEMM_TILED(dgemm_tiled, double)
GEMM_TILED(sgemm_tiled, float)
