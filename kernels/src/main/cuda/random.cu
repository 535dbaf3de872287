// Dropout masks and normal samples from the Philox stream of philox.cuh, laid out exactly as
// CpuBackend.dropoutMask (and attentionDropoutMask, and as bits attention's dropoutBits) and
// CpuBackend.normal: one thread per eight dropout elements (one Philox block in a whole mask), per
// 32 of the bits, one per Philox block of 4 normal samples.
#include "common.cuh"
#include "philox.cuh"
#include <math.h>

// Elements i .. i+3 (those below n) of out. A whole float32 block on a 16-byte boundary is one
// 16-byte store instead of four 4-byte stores 16 bytes apart.
__device__ inline void store_block(float *out, long long i, long long n, const float v[4]) {
    if (i + 3 < n && aligned16(out + i)) {
        *(float4 *) (out + i) = make_float4(v[0], v[1], v[2], v[3]);
    } else {
        for (int lane = 0; lane < 4 && i + lane < n; lane++) out[i + lane] = v[lane];
    }
}

__device__ inline void store_block(double *out, long long i, long long n, const double v[4]) {
    for (int lane = 0; lane < 4 && i + lane < n; lane++) out[i + lane] = v[lane];
}

// mask[e] = 1/(1−p) where dropout_kept(draw_i, p), else 0, for stream element
// i = (e / drawn)·period + e % drawn: the first `drawn` of every `period` elements (the first Tq
// rows of each [T, T] head block of an attention mask; drawn = period = n for a whole mask, where
// a thread's eight elements are one Philox block). p is compared as a float.
template <typename T>
__device__ inline void dropout_mask_kernel(T *out, long long n, long long drawn, long long period, float p, double keep_scale,
                                           unsigned long long seed, unsigned long long offset) {
    long long chunks = (n + 7) / 8;
    FOR_EACH(c, chunks) {
        long long part = 8 * c / drawn, within = 8 * c % drawn;
        unsigned long long block = ~0ull;
        Philox4 bits;
        for (int half = 0; half < 2; half++) {
            T kept[4];
            for (int e = 0; e < 4; e++) {
                unsigned long long i = (unsigned long long) (part * period + within);
                if (i >> 3 != block) {
                    block = i >> 3;
                    bits = philox_block(seed, offset, block);
                }
                kept[e] = dropout_kept(dropout_draw(bits, i), p) ? (T) keep_scale : (T) 0;
                if (++within == drawn) {
                    within = 0;
                    part++;
                }
            }
            store_block(out, 8 * c + 4 * half, n, kept);
        }
    }
}

extern "C" __global__ void dropout_mask_f32(float *out, long long n, long long drawn, long long period, float p,
                                            double keep_scale, unsigned long long seed,
                                            const unsigned long long *offset_base, unsigned long long offset) {
    dropout_mask_kernel<float>(out, n, drawn, period, p, keep_scale, seed, *offset_base + offset);
}

extern "C" __global__ void dropout_mask_f64(double *out, long long n, long long drawn, long long period, float p,
                                            double keep_scale, unsigned long long seed,
                                            const unsigned long long *offset_base, unsigned long long offset) {
    dropout_mask_kernel<double>(out, n, drawn, period, p, keep_scale, seed, *offset_base + offset);
}

// Attention's dropout mask as bits, as CpuBackend.attention's dropoutBits: of the first Tq query
// rows of each [T, T] head block of the mask drawn for [B, NH, T, T], row r = bh·Tq + i holds
// ⌈T/32⌉ words, bit j of word w set where element (bh·T + i)·T + 32w + j is kept; 0 past T. One
// thread a word: four Philox blocks, each eight integer comparisons (kept_byte), where a row's
// elements start a block (T a multiple of 8), else the draws one by one. The fused attention
// kernels read the factors from these bits, in the forward and again in the backward, which
// drew them for themselves before: three draws of every element a training step, in kernels
// whose other work is a few instructions an element.
extern "C" __global__ void dropout_bits_attention(uint32_t *bits, long long rows, int Tq, int T, float p, unsigned long long seed,
                                               const unsigned long long *offset_base, unsigned long long offset) {
    const int words = (T + 31) / 32;
    const uint32_t threshold = keep_threshold(p);
    offset += *offset_base;
    FOR_EACH(i, rows * words) {
        const long long row = i / words;
        const int w = (int) (i % words), n = min(32, T - 32 * w);
        const unsigned long long first = ((unsigned long long) (row / Tq) * T + row % Tq) * T + 32 * w;
        uint32_t word = 0;
        if ((first & 7) == 0) {
            #pragma unroll
            for (int c = 0; c < 4; c++)
                if (8 * c < n) word |= kept_byte(philox_block(seed, offset, (first >> 3) + c), threshold) << (8 * c);
        } else {
            DropoutStream draws(seed, offset, p, 1.0f);
            for (int e = 0; e < n; e++) word |= (uint32_t) (draws.factor(first + e) != 0.0f) << e;
        }
        bits[i] = n < 32 ? word & ((1u << n) - 1) : word;
    }
}

// Box–Muller on lane pairs (0,1) and (2,3): r = √(−2 ln u₁) with u₁ ∈ (0, 1], θ = 2π u₂;
// z₀ = r cos θ, z₁ = r sin θ. In double, as the CPU backend; cos θ and sin θ come from
// sincospi(2u₂), which needs no large-argument reduction (cos/sin would take a stack frame
// for it) and differs from Math.cos(2π·u₂) by the rounding of the product at most.
template <typename T>
__device__ inline void normal_kernel(T *out, long long n, double mean, double std,
                                     unsigned long long seed, unsigned long long offset) {
    long long blocks = (n + 3) / 4;
    FOR_EACH(blk, blocks) {
        Philox4 bits = philox_block(seed, offset, (unsigned long long) blk);
        for (int pair = 0; pair < 2; pair++) {
            double radius = sqrt(-2.0 * log(philox_uniform_open_zero(philox_lane(bits, 2 * pair))));
            double s, c;
            sincospi(2.0 * (double) philox_uniform(philox_lane(bits, 2 * pair + 1)), &s, &c);
            long long i = 4 * blk + 2 * pair;
            if (i < n) out[i] = (T) (mean + std * radius * c);
            if (i + 1 < n) out[i + 1] = (T) (mean + std * radius * s);
        }
    }
}

extern "C" __global__ void normal_f32(float *out, long long n, double mean, double std,
                                      unsigned long long seed, unsigned long long offset) {
    normal_kernel<float>(out, n, mean, std, seed, offset);
}

extern "C" __global__ void normal_f64(double *out, long long n, double mean, double std,
                                      unsigned long long seed, unsigned long long offset) {
    normal_kernel<double>(out, n, mean, std, seed, offset);
}
