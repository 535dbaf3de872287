// Philox 4x32-10 (Salmon et al., SC'11), the same generator as dev.bertft.tensor.Philox, so a
// GPU thread draws exactly the bits the CPU backend draws for the same element.
//
// Word i of a draw keyed by (seed, offset) is lane (i mod 4) of
//   philox(key = (seed lo, seed hi), counter = (i/4 lo, i/4 hi, offset lo, offset hi)).
// Dropout takes 16 bits an element (Philox.dropoutDraw says why that is precise enough): element i
// is half (i mod 2), low half first, of word i/2, so one block serves eight elements.
// One round: (c0, c1, c2, c3) <- (hi(M1·c2) ^ c1 ^ k0, lo(M1·c2), hi(M0·c0) ^ c3 ^ k1, lo(M0·c0)),
// then the key is bumped by the Weyl constants (W0, W1).
// Functions are __host__ __device__ so a host program can check them against the Java version.
#pragma once
#include <math.h>
#include <stdint.h>

struct Philox4 {
    uint32_t v[4];
};

__host__ __device__ inline uint32_t philox_mulhi(uint32_t a, uint32_t b) {
#ifdef __CUDA_ARCH__
    return __umulhi(a, b);
#else
    return (uint32_t) (((uint64_t) a * b) >> 32);
#endif
}

__host__ __device__ inline Philox4 philox_block(unsigned long long seed, unsigned long long offset,
                                                unsigned long long block) {
    const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u, W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
    uint32_t c0 = (uint32_t) block, c1 = (uint32_t) (block >> 32);
    uint32_t c2 = (uint32_t) offset, c3 = (uint32_t) (offset >> 32);
    uint32_t k0 = (uint32_t) seed, k1 = (uint32_t) (seed >> 32);
    for (int round = 0; round < 10; round++) {
        uint32_t hi0 = philox_mulhi(M0, c0), lo0 = M0 * c0;
        uint32_t hi1 = philox_mulhi(M1, c2), lo1 = M1 * c2;
        uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += W0;
        k1 += W1;
    }
    Philox4 r;
    r.v[0] = c0;
    r.v[1] = c1;
    r.v[2] = c2;
    r.v[3] = c3;
    return r;
}

// Lane (0..3) of a block without a dynamically indexed array (which would go to local memory).
__host__ __device__ inline uint32_t philox_lane(const Philox4 &b, int lane) {
    return lane == 0 ? b.v[0] : lane == 1 ? b.v[1] : lane == 2 ? b.v[2] : b.v[3];
}

// A uniform float in [0, 1) from the top 24 bits: exact in float, as Philox.uniform.
__host__ __device__ inline float philox_uniform(uint32_t bits) {
    return (float) (bits >> 8) * 0x1.0p-24f;
}

// A uniform double in (0, 1], safe to take the log of, as Philox.uniformOpenZero.
__host__ __device__ inline double philox_uniform_open_zero(uint32_t bits) {
    return ((double) bits + 1.0) * 0x1.0p-32;
}

// Element `index`'s 16-bit dropout draw, from the block index / 8, as Philox.dropoutDraw.
__host__ __device__ inline uint32_t dropout_draw(const Philox4 &b, unsigned long long index) {
    return (philox_lane(b, (int) ((index >> 1) & 3)) >> ((index & 1) << 4)) & 0xFFFFu;
}

// Dropout's rule: element kept when its draw as a fraction of 2^16 is at least p (p already
// rounded to float); draw · 2^-16 is exact in float, as in Philox.kept.
__host__ __device__ inline bool dropout_kept(uint32_t draw, float p) {
    return (float) draw * 0x1.0p-16f >= p;
}

// dropout_kept's rule as one integer comparison, as Philox.keepThreshold: draw · 2^-16 ≥ p exactly
// when draw ≥ ⌈p · 2^16⌉ (p · 2^16 is exact in float).
__host__ __device__ inline uint32_t keep_threshold(float p) {
    return (uint32_t) ceilf(p * 65536.0f);
}

// Which of a block's eight draws are kept: bit e for element 8·block + e (draw 2w + h is half h of word w).
__host__ __device__ inline uint32_t kept_byte(const Philox4 &b, uint32_t threshold) {
    uint32_t bits = 0;
    #pragma unroll
    for (int w = 0; w < 4; w++) {
        bits |= (uint32_t) ((b.v[w] & 0xFFFFu) >= threshold) << (2 * w);
        bits |= (uint32_t) ((b.v[w] >> 16) >= threshold) << (2 * w + 1);
    }
    return bits;
}

// The dropout factor (0 or 1/(1-p)) of element `index` of the (seed, offset) draw.
__host__ __device__ inline float dropout_factor(unsigned long long seed, unsigned long long offset,
                                                unsigned long long index, float p, float keep_scale) {
    return dropout_kept(dropout_draw(philox_block(seed, offset, index >> 3), index), p) ? keep_scale : 0.0f;
}

// Dropout factors along a row of consecutive element indices, reusing each Philox block for
// its eight elements.
struct DropoutStream {
    unsigned long long seed, offset, block;
    float p, keep_scale;
    Philox4 bits;

    __device__ DropoutStream(unsigned long long seed_, unsigned long long offset_, float p_, float keep_scale_)
        : seed(seed_), offset(offset_), block(~0ull), p(p_), keep_scale(keep_scale_) {}

    __device__ float factor(unsigned long long index) {
        if ((index >> 3) != block) {
            block = index >> 3;
            bits = philox_block(seed, offset, block);
        }
        return dropout_kept(dropout_draw(bits, index), p) ? keep_scale : 0.0f;
    }
};
