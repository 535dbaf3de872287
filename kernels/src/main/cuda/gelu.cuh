// The exact GELU and its derivative, for the pointwise kernels and the GEMM's epilogues alike, so
// a fused epilogue gives the bits of the separate kernel. gemm.cu is compiled with --fmad=true and
// elementwise.cu without (kernel-sources.sh): the one sum of a product below is written as
// __fadd_rn, which nvcc never contracts into a fused multiply-add, so both round it the same way.
#pragma once
#include <math.h>

// GELU(x) = x · Φ(x) = x · ½ (1 + erf(x / √2)), the exact form.
__device__ inline double gelu(double x) { return 0.5 * x * (1.0 + erf(x * 0.7071067811865476)); }
__device__ inline float gelu(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678f)); }

// GELU'(x) = Φ(x) + x · φ(x), φ(x) = e^{−x²/2} / √(2π).
__device__ inline double gelu_grad(double x) {
    return 0.5 * (1.0 + erf(x * 0.7071067811865476)) + x * 0.3989422804014327 * exp(-0.5 * x * x);
}
__device__ inline float gelu_grad(float x) {
    return __fadd_rn(0.5f * (1.0f + erff(x * 0.70710678f)), x * 0.39894228f * expf(-0.5f * x * x));
}
