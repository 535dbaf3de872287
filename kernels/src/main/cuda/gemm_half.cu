// Batched GEMM on BF16 or F16 operands with float32 accumulation: the contract of gemm.cu's
// float32 kernels (C[b] = A[b]·B[b] (+ bias[n]), the same four transpose variants, leading
// dimensions, batch strides and K splits in grid z, written once, no accumulation into C), with C
// written as float32 or rounded once to the operands' format (…_f32 and …_bf16 / …_f16 kernels).
// The bias has C's type and is added in float32 before that rounding.
//
// The tn variant, a weight gradient dYᵀ·X, also adds up A's rows (dY's columns, the bias gradient)
// where the host asks, as gemm.cu's does: Σ_k A(m, k) in float32 per K split into row_sums, from
// the A fragments the mma reads anyway. Two of gemm.cu's epilogues (epi, aux): the feed-forward
// Linear under autocast writes its GELU from the epilogue (EPI_GELU, x·Wᵀ with C in the format;
// store_gelu) instead of a pass of gelu_bf16 over the product; the input gradient of the Linear
// after it takes GELU's derivative there (EPI_GELU_GRAD, dY·W with C in the format), instead of
// a pass of gelu_backward_bf16; and a Linear's float32 input gradient is added to the one a
// residual collected (EPI_ADD) instead of by binary_f32.
//
// Tensor cores: mma.sync.m16n8k16 (sm_80 and later). A block of 8 warps (2×4) computes a 128×256
// tile of C, each warp 64×64 = 4×8 instructions per step of 16 along K, as in gemm.cu. K advances
// 32 at a time through a ring of 3 shared-memory stages filled by cp.async with 16-byte copies
// (8 elements) where every row allows, element copies through registers otherwise: 90 KiB of
// shared memory (under the 99 KiB a block may have on sm_86/sm_89), one block per SM (its
// registers). The H200's counters put the 128×128 tiles of 4 warps this replaced at the L2's
// limit (74 % busy, the tensor pipe at 28 %): a 128×256 tile reads 85 flops' worth of operands
// per byte instead of 64, with the same 8 warps an SM.
//
// Tiles keep their global order in shared memory, and ldmatrix makes fragments of either order:
// it reads 8×8 matrices whose rows (16 bytes) a lane each addresses, and its .trans form delivers
// them transposed. The mma wants k pairs side by side in both operands, so:
//   A as [m][k] (A(m, k) = A[m·lda + k]): ldmatrix;   A as [k][m] (transposed): ldmatrix.trans
//   B as [n][k] (transposed):             ldmatrix;   B as [k][n]:             ldmatrix.trans
// One .x4 gives a 16×16 A fragment (matrices: rows 0-7 / 8-15 × k 0-7 / 8-15) or the B fragments
// of two 8-column tiles. Tile rows are padded by 16 bytes: [rows][32+8] rows lie 80 bytes apart,
// [32][128+8] rows 272 and [32][256+8] rows 528, so the 8 rows of one matrix fall in 8 different
// 16-byte bank groups.
#include "gelu.cuh"
#include "gemm_pipeline.cuh"
#include "half.cuh"

#define BM 128
#define BN 256
#define BK 32
#define STAGES 3
#define THREADS 256
#define K_PITCH (BK + 8)                 // [rows][BK] tiles, k contiguous
#define A_PITCH (BM + 8)                 // [BK][BM] tiles, m contiguous
#define B_PITCH (BN + 8)                 // [BK][BN] tiles, n contiguous
#define A_ELEMS (BM * K_PITCH)           // ≥ BK · A_PITCH, so either order fits
#define B_ELEMS (BN * K_PITCH)           // ≥ BK · B_PITCH
#define STAGE_ELEMS (A_ELEMS + B_ELEMS)  // the A tile, then the B tile

// The two formats: widening and rounding of their bit patterns, and their mma.
struct Bf16 {
    __device__ static float widen(uint16_t h) { return __bfloat162float(__ushort_as_bfloat16(h)); }
    __device__ static uint16_t round(float x) { return __bfloat16_as_ushort(__float2bfloat16_rn(x)); }
    __device__ static uint32_t round_pair(float lo, float hi) { return pack_bf16x2(lo, hi); }
    __device__ static void mma(float d[4], const uint32_t a[4], const uint32_t b[2]) { mma_bf16(d, a, b); }
};

struct F16 {
    __device__ static float widen(uint16_t h) { return __half2float(__ushort_as_half(h)); }
    __device__ static uint16_t round(float x) { return __half_as_ushort(__float2half_rn(x)); }
    __device__ static uint32_t round_pair(float lo, float hi) { return pack_f16x2(lo, hi); }
    __device__ static void mma(float d[4], const uint32_t a[4], const uint32_t b[2]) { mma_f16(d, a, b); }
};

// C's element type: float32 as is, or the format's 16 bits.
template <class F>
__device__ inline float load_out(const float *p) { return *p; }
template <class F>
__device__ inline float load_out(const uint16_t *p) { return F::widen(*p); }
template <class F>
__device__ inline void store_out(float *p, float v) { *p = v; }
template <class F>
__device__ inline void store_out(uint16_t *p, float v) { *p = F::round(v); }
// The feed-forward Linear and its GELU as torch.autocast computes them (C in the format): the
// product + bias rounded to the format is the pre-activation (into pre, unless pre is act), and act
// gets GELU of it in float32, rounded once: gelu_bf16's bits (gelu.cuh). Elements n (lo) and, where
// `both`, n+1 (hi); `pair`: one store for both. Not inlined: erff's code once, not 64 times.
template <class F>
__device__ __noinline__ void store_gelu(uint16_t *pre, uint16_t *act, float lo, float hi, bool both, bool pair) {
    uint16_t p0 = F::round(lo), p1 = F::round(hi);
    float g0 = gelu(F::widen(p0)), g1 = gelu(F::widen(p1));
    if (pair && both) {
        if (pre != act) *(uint32_t *) pre = p0 | (uint32_t) p1 << 16;
        *(uint32_t *) act = F::round_pair(g0, g1);
        return;
    }
    if (pre != act) pre[0] = p0;
    act[0] = F::round(g0);
    if (both) {
        if (pre != act) pre[1] = p1;
        act[1] = F::round(g1);
    }
}

// EPI_GELU_GRAD's store of a lane's two columns of C in the format: the gradient at GELU's input
// under autocast, P · GELU'(pre) with pre the half pre-activation (its bias in it), rounded once:
// gelu_backward_bf16's bits of P written out in float32. Elements n (lo) and, where `both`, n+1
// (hi). Not inlined, as store_gelu.
template <class F>
__device__ __noinline__ void store_gelu_grad(uint16_t *out, const uint16_t *pre, float lo, float hi, bool both) {
    out[0] = F::round(lo * gelu_grad(F::widen(pre[0])));
    if (both) out[1] = F::round(hi * gelu_grad(F::widen(pre[1])));
}

// EPI_ADD's store of a lane's two columns of float32 C: out = v + add, elements n (lo) and, where
// `both`, n+1 (hi). Not inlined, as store_gelu: one copy, not 64 (the module's build time).
__device__ __noinline__ void store_add(float *out, const float *add, float lo, float hi, bool both) {
    out[0] = lo + add[0];
    if (both) out[1] = hi + add[1];
}

template <class F, bool TA, bool TB, int VEC, class OUT>
__device__ void hgemm_body(int M, int N, int K, int splits, int k_chunk, const uint16_t *A, long long lda, long long stride_a,
                           const uint16_t *B, long long ldb, long long stride_b, const OUT *bias, OUT *C, long long ldc,
                           long long stride_c, float *row_sums, int epi, OUT *aux, uint16_t *smem) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int q = lane >> 3, row8 = lane & 7;  // the matrix of an .x4 load this lane addresses, and its row there
    const int warp_m = (warp >> 2) * 64, warp_n = (warp & 3) * 64;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;

    const GemmSlice slice = gemm_slice(K, splits, k_chunk);
    const int k_end = slice.k_end;
    const uint16_t *a = A + slice.batch * stride_a, *b = B + slice.batch * stride_b;
    OUT *c = C + slice.z * stride_c;
    // Queues stage `stage` with the K slice starting at k0.
    auto load = [&](int stage, int k0) {
        uint16_t *as = smem + stage * STAGE_ELEMS, *bs = as + A_ELEMS;
        if (TA) copy_tile<uint16_t, THREADS, BK, BM, A_PITCH, VEC, SWIZZLE_NONE>(as, a, lda, k0, k_end, m0, M);
        else copy_tile<uint16_t, THREADS, BM, BK, K_PITCH, VEC, SWIZZLE_NONE>(as, a, lda, m0, M, k0, k_end);
        if (TB) copy_tile<uint16_t, THREADS, BN, BK, K_PITCH, VEC, SWIZZLE_NONE>(bs, b, ldb, n0, N, k0, k_end);
        else copy_tile<uint16_t, THREADS, BK, BN, B_PITCH, VEC, SWIZZLE_NONE>(bs, b, ldb, k0, k_end, n0, N);
    };

    // tn only: the first column of blocks' left warps also add up the A elements of their
    // fragments, unrounded: sums[i][h] is row 16i + g + 8h of the warp's 64, over k ≡ 2t, 2t + 1 mod 8.
    const bool summing = TA && !TB && row_sums != nullptr && blockIdx.x == 0 && warp_n == 0;
    float sums[4][2] = {{0, 0}, {0, 0}, {0, 0}, {0, 0}};
    float acc[4][8][4];
    zero(acc);
    cp_async_ring<STAGES, BK>(slice.k_begin, slice.k_end, load, [&](int stage, int) {
        const uint16_t *as = smem + stage * STAGE_ELEMS, *bs = as + A_ELEMS;
        #pragma unroll
        for (int ks = 0; ks < BK; ks += 16) {
            uint32_t af[4][4], bf[8][2];
            #pragma unroll
            for (int i = 0; i < 4; i++) {  // matrix q: rows 8·(q & 1), k 8·(q >> 1) of the 16×16 fragment
                int m = warp_m + 16 * i + 8 * (q & 1), k = ks + 8 * (q >> 1);
                if (TA) ldmatrix_x4_trans(af[i], as + (k + row8) * A_PITCH + m);
                else ldmatrix_x4(af[i], as + (m + row8) * K_PITCH + k);
            }
            #pragma unroll
            for (int jj = 0; jj < 4; jj++) {  // matrix q: columns 8·(q >> 1) (tile 2jj or 2jj+1), k 8·(q & 1)
                int n = warp_n + 16 * jj + 8 * (q >> 1), k = ks + 8 * (q & 1);
                uint32_t r[4];
                if (TB) ldmatrix_x4(r, bs + (n + row8) * K_PITCH + k);
                else ldmatrix_x4_trans(r, bs + (k + row8) * B_PITCH + n);
                bf[2 * jj][0] = r[0];
                bf[2 * jj][1] = r[1];
                bf[2 * jj + 1][0] = r[2];
                bf[2 * jj + 1][1] = r[3];
            }
            if (summing) {
                #pragma unroll
                for (int i = 0; i < 4; i++)  // registers 0, 2: row g (k 2t, 2t+1, then +8); 1, 3: row g + 8
                    #pragma unroll
                    for (int r = 0; r < 4; r++)
                        sums[i][r & 1] += F::widen(af[i][r] & 0xffff) + F::widen(af[i][r] >> 16);
            }
            #pragma unroll
            for (int i = 0; i < 4; i++)
                #pragma unroll
                for (int j = 0; j < 8; j++) F::mma(acc[i][j], af[i], bf[j]);
        }
    });

    if (summing) {
        #pragma unroll
        for (int i = 0; i < 4; i++) {
            #pragma unroll
            for (int h = 0; h < 2; h++) {  // the four lanes t of a row, in a fixed order; lane t writes rows 2i + h ≡ t mod 4
                float sum = quad_sum(sums[i][h]);
                int m = m0 + warp_m + 16 * i + g + 8 * h;
                if (((2 * i + h) & 3) == t && m < M) row_sums[(long long) slice.z * M + m] = sum;
            }
        }
    }

    // acc[i][j][r]: row 16i + g (+8 for r ≥ 2), column 8j + 2t (+1 for odd r) of the warp's tile.
    #pragma unroll
    for (int i = 0; i < 4; i++) {
        #pragma unroll
        for (int h = 0; h < 2; h++) {
            int m = m0 + warp_m + 16 * i + g + 8 * h;
            if (m >= M) continue;
            OUT *out = c + (long long) m * ldc;
            #pragma unroll
            for (int j = 0; j < 8; j++) {
                int n = n0 + warp_n + 8 * j + 2 * t;
                float lo = acc[i][j][2 * h], hi = acc[i][j][2 * h + 1];
                // The GELU epilogues in the 16-byte-copy kernels only (the host launches them where every
                // row allows those copies): each costs build time, as the call keeps the accumulators live
                if constexpr (!TA && TB && sizeof(OUT) == 2 && VEC == 8) {  // x·Wᵀ, the Linear's layout
                    if (epi == EPI_GELU) {  // one product, C in the format
                        if (n >= N) continue;
                        if (bias != nullptr) lo += load_out<F>(bias + n), hi += n + 1 < N ? load_out<F>(bias + n + 1) : 0.0f;
                        // a lane's two columns in one store where every row of C and of aux starts on 4 bytes
                        bool pair = (((uintptr_t) C | (uintptr_t) aux) & 3) == 0 && ldc % 2 == 0;
                        store_gelu<F>(out + n, aux + (long long) m * ldc + n, lo, hi, n + 1 < N, pair);
                        continue;
                    }
                }
                if constexpr (!TA && !TB && sizeof(OUT) == 2 && VEC == 8) {  // dY·W, the input gradient's layout
                    if (epi == EPI_GELU_GRAD) {  // one product, C in the format, no bias
                        if (n < N) store_gelu_grad<F>(out + n, aux + (long long) m * ldc + n, lo, hi, n + 1 < N);
                        continue;
                    }
                }
                if constexpr (sizeof(OUT) == 4) {  // one product, float32 C: the bias, then aux's element
                    if (epi == EPI_ADD) {
                        if (n >= N) continue;
                        bool both = n + 1 < N;
                        if (bias != nullptr) lo += bias[n], hi += both ? bias[n + 1] : 0.0f;
                        store_add(out + n, aux + (long long) m * ldc + n, lo, hi, both);
                        continue;
                    }
                }
                if (n < N) store_out<F>(out + n, bias != nullptr ? lo + load_out<F>(bias + n) : lo);
                if (n + 1 < N) store_out<F>(out + n + 1, bias != nullptr ? hi + load_out<F>(bias + n + 1) : hi);
            }
        }
    }
}

// One entry point per format, transpose variant and output type; the copy width is chosen inside.
// row_sums: null, or (tn only) where grid z's Σ_k A(m, k) goes, M floats per z. epi, aux: EPI_PLAIN;
// EPI_GELU (nt with C in the format, one product), aux where GELU of C goes, with C's leading
// dimension (store_gelu); EPI_GELU_GRAD (nn with C in the format, one product, no bias), aux the
// half pre-activation, with C's; EPI_ADD (float32 C, one product), aux the matrix added, with C's.
// The two GELU epilogues only where every row of A and B is on 16 bytes (rows_of_16_bytes).
#define HGEMM(name, F, TA, TB, OUT)                                                                                           \
    extern "C" __global__ void __launch_bounds__(THREADS, 1)                                                                  \
    name(int M, int N, int K, int splits, int k_chunk, const uint16_t *A, long long lda, long long stride_a,                \
         const uint16_t *B, long long ldb, long long stride_b, const OUT *bias, OUT *C, long long ldc, long long stride_c,    \
         float *row_sums, int epi, OUT *aux) {                                                                                \
        DYNAMIC_SHARED(uint16_t, smem);                                                                                       \
        if (rows_of_16_bytes(TA, TB, M, N, K, A, lda, stride_a, B, ldb, stride_b))                                            \
            hgemm_body<F, TA, TB, 8>(M, N, K, splits, k_chunk, A, lda, stride_a, B, ldb, stride_b, bias, C, ldc, stride_c, row_sums, epi, aux, smem); \
        else                                                                                                                  \
            hgemm_body<F, TA, TB, 1>(M, N, K, splits, k_chunk, A, lda, stride_a, B, ldb, stride_b, bias, C, ldc, stride_c, row_sums, epi, aux, smem); \
    }

#define HGEMM_VARIANTS(format, F, OUT, out)                      \
    HGEMM(hgemm_##format##_nn_##out, F, false, false, OUT)       \
    HGEMM(hgemm_##format##_nt_##out, F, false, true, OUT)        \
    HGEMM(hgemm_##format##_tn_##out, F, true, false, OUT)        \
    HGEMM(hgemm_##format##_tt_##out, F, true, true, OUT)

HGEMM_VARIANTS(bf16, Bf16, float, f32)
HGEMM_VARIANTS(bf16, Bf16, uint16_t, bf16)
HGEMM_VARIANTS(f16, F16, float, f32)
HGEMM_VARIANTS(f16, F16, uint16_t, f16)

// C = Σ_s partial[s] (+ bias), the float32 K splits added in split order and rounded once:
// partial is [splits][M][N], C (ldc) and bias in the format. (Float32 C takes gemm.cu's splitk_sum,
// whose addend this takes too, but with no epilogue to use it: always null.)
template <class F>
__device__ void splitk_sum_half(const float *partial, const uint16_t *bias, uint16_t *C, int M, int N, long long ldc, int splits) {
    long long mn = (long long) M * N;
    FOR_EACH(i, mn) {
        float sum = partial[i];
        for (int s = 1; s < splits; s++) sum += partial[s * mn + i];
        C[(i / N) * ldc + i % N] = F::round(bias != nullptr ? sum + F::widen(bias[i % N]) : sum);
    }
}

extern "C" __global__ void splitk_sum_bf16(const float *partial, const uint16_t *bias, const uint16_t *, uint16_t *C, int M, int N,
                                           long long ldc, int splits) {
    splitk_sum_half<Bf16>(partial, bias, C, M, N, ldc, splits);
}

extern "C" __global__ void splitk_sum_f16(const float *partial, const uint16_t *bias, const uint16_t *, uint16_t *C, int M, int N,
                                          long long ldc, int splits) {
    splitk_sum_half<F16>(partial, bias, C, M, N, ldc, splits);
}
