// Shared pieces of the kernels: strided index math, warp and block reductions.
#pragma once
#include <stdint.h>

// Up to 8 dims after the Java side merges dims that are contiguous in every operand.
#define MAX_RANK 8

// A view of up to three operands over one iteration shape: shape[d] and each operand's
// stride along d, in elements. Passed by value as a kernel parameter.
struct Strides3 {
    int rank;
    int shape[MAX_RANK];
    int a[MAX_RANK];
    int b[MAX_RANK];
    int c[MAX_RANK];
};

// Offsets of linear (row-major) index i in operands a, b, c: peel dims from the last one.
__device__ inline void strided_offsets(const Strides3 &s, long long i, long long &oa, long long &ob, long long &oc) {
    oa = 0;
    ob = 0;
    oc = 0;
    for (int d = s.rank - 1; d >= 0; d--) {
        long long q = i / s.shape[d];
        int r = (int) (i - q * s.shape[d]);
        oa += (long long) r * s.a[d];
        ob += (long long) r * s.b[d];
        oc += (long long) r * s.c[d];
        i = q;
    }
}

// Butterfly sums and maxima: every lane ends with the warp's result, in a fixed order.
__device__ inline float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ inline double warp_sum(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ inline float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

__device__ inline double warp_max(double v) {
    for (int o = 16; o > 0; o >>= 1) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Block-wide sum for blockDim.x a multiple of 32 (at most 1024); all threads get the result.
// `scratch` holds 32 values; the order of additions is fixed, so results are deterministic.
template <typename T>
__device__ inline T block_sum(T v, T *scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : (T) 0;
    return warp_sum(v);
}

template <typename T>
__device__ inline T block_max(T v, T *scratch) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : (T) -INFINITY;
    return warp_max(v);
}

// Grid-stride loop over [0, n).
#define FOR_EACH(i, n) for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < (n); \
                            i += (long long) gridDim.x * blockDim.x)
