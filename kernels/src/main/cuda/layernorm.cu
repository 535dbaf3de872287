// LayerNorm over the last axis, one warp per row (BERT rows are 128..1024 wide).
//   forward:  μ = mean x, σ² = mean (x−μ)² (biased, as torch), rstd = 1/√(σ² + ε),
//             y = (x−μ)·rstd·γ + β; μ and rstd are kept for the backward.
//   backward: x̂ = (x−μ)·rstd, g = dy ⊙ γ,
//             dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)),
//             dγ = Σ_rows dy ⊙ x̂, dβ = Σ_rows dy.
// dγ and dβ are column sums over all rows; they run in two passes with fixed chunks and a
// fixed combining order (no float atomics), so they are the same on every run.
// The float32 forward can also write y rounded to BF16 or F16 (layernorm_f32_copy_bf16/_f16):
// the operand of the Linear it feeds, made here instead of by a cast kernel per product. So can
// dropout + residual + LayerNorm, which also reads its x in that format, the Linear before it
// having written its product so under autocast.
#include "common.cuh"
#include "half.cuh"
#include "philox.cuh"
#include <math.h>

// What a forward writes besides y: nothing, or y rounded to one of the 16-bit formats; put4
// writes four consecutive elements from i (a multiple of 4) in one 8-byte store. A backward with
// a copy writes x's gradient in the format only (`only`): under autocast nothing else reads it.
struct NoCopy {
    static constexpr bool only = false;
    __device__ static void put(uint16_t *, long long, float) {}
    __device__ static void put4(uint16_t *, long long, float4) {}
};
template <typename H>
struct HalfCopy {
    using Type = H;
    static constexpr bool only = true;
    __device__ static void put(uint16_t *copy, long long i, float v) { store_as((H *) copy + i, v); }
    __device__ static void put4(uint16_t *copy, long long i, float4 v) { store4((H *) copy + i, v); }
};
using Bf16Copy = HalfCopy<__nv_bfloat16>;
using F16Copy = HalfCopy<__half>;

// An input element, or four consecutive ones from i (a multiple of 4), as float32: x itself, or
// widened (exactly) from the copy's 16-bit format.
template <class Copy>
__device__ inline float widened(float v) { return v; }
template <class Copy>
__device__ inline float widened(uint16_t h) { return widen_bits<typename Copy::Type>(h); }
template <class Copy>
__device__ inline float4 widened4(const float *x) { return load4(x); }
template <class Copy>
__device__ inline float4 widened4(const uint16_t *x) { return load4((const typename Copy::Type *) x); }

__device__ inline float rsqrt_t(float v) { return 1.0f / sqrtf(v); }
__device__ inline double rsqrt_t(double v) { return 1.0 / sqrt(v); }

template <typename T, class Copy = NoCopy>
__device__ inline void layernorm_kernel(const T *x, const T *gamma, const T *beta, T *y, T *mean, T *rstd,
                                        int rows, int len, T eps, uint16_t *copy = nullptr) {
    int lane = threadIdx.x & 31, warps = blockDim.x >> 5;
    for (long long row = (long long) blockIdx.x * warps + (threadIdx.x >> 5); row < rows; row += (long long) gridDim.x * warps) {
        const T *xr = x + row * len;
        T sum = 0;
        for (int j = lane; j < len; j += 32) sum += xr[j];
        T mu = warp_sum(sum) / len;
        T sq = 0;
        for (int j = lane; j < len; j += 32) {
            T c = xr[j] - mu;
            sq += c * c;
        }
        T inv = rsqrt_t(warp_sum(sq) / len + eps);
        T *yr = y + row * len;
        for (int j = lane; j < len; j += 32) {
            yr[j] = (xr[j] - mu) * inv * gamma[j] + beta[j];
            Copy::put(copy, row * len + j, (float) yr[j]);
        }
        if (lane == 0) {
            mean[row] = mu;
            rstd[row] = inv;
        }
    }
}

// float32 rows of BERT's widths (a multiple of 128, at most 1024) with every row, γ and β on a
// 16-byte boundary stay in registers, len/128 float4 per lane: each element is read from memory
// once, 16 bytes at a time, instead of once per pass, 4 bytes at a time. Same formulas.
#define LN_MAX_VECS 8

template <class... P>
__device__ inline bool ln_rows_fit_registers(int len, P... pointers) {
    return len % 128 == 0 && len <= 128 * LN_MAX_VECS && aligned16(pointers...);
}

__device__ inline float sum4(float4 v) { return ((v.x + v.y) + v.z) + v.w; }

template <class Copy>
__device__ void layernorm_f32_in_registers(const float *x, const float *gamma, const float *beta, float *y, float *mean,
                                           float *rstd, int rows, int len, float eps, uint16_t *copy) {
    const float4 *g4 = (const float4 *) gamma, *b4 = (const float4 *) beta;
    int lane = threadIdx.x & 31, warps = blockDim.x >> 5, vecs = len >> 7;
    for (long long row = (long long) blockIdx.x * warps + (threadIdx.x >> 5); row < rows; row += (long long) gridDim.x * warps) {
        const float4 *xr = (const float4 *) (x + row * len);
        float4 v[LN_MAX_VECS];
        float sum = 0;
        #pragma unroll
        for (int i = 0; i < LN_MAX_VECS; i++) {
            if (i < vecs) {
                v[i] = xr[i * 32 + lane];
                sum += sum4(v[i]);
            }
        }
        float mu = warp_sum(sum) / len, sq = 0;
        #pragma unroll
        for (int i = 0; i < LN_MAX_VECS; i++) {
            if (i < vecs) {
                v[i] = make_float4(v[i].x - mu, v[i].y - mu, v[i].z - mu, v[i].w - mu);
                sq += sum4(make_float4(v[i].x * v[i].x, v[i].y * v[i].y, v[i].z * v[i].z, v[i].w * v[i].w));
            }
        }
        float inv = rsqrt_t(warp_sum(sq) / len + eps);
        float4 *yr = (float4 *) (y + row * len);
        #pragma unroll
        for (int i = 0; i < LN_MAX_VECS; i++) {
            if (i < vecs) {
                float4 g = g4[i * 32 + lane], b = b4[i * 32 + lane];
                float4 out = make_float4(v[i].x * inv * g.x + b.x, v[i].y * inv * g.y + b.y, v[i].z * inv * g.z + b.z,
                                         v[i].w * inv * g.w + b.w);
                yr[i * 32 + lane] = out;
                long long at = row * len + 4 * (i * 32 + lane);
                Copy::put(copy, at, out.x);
                Copy::put(copy, at + 1, out.y);
                Copy::put(copy, at + 2, out.z);
                Copy::put(copy, at + 3, out.w);
            }
        }
        if (lane == 0) {
            mean[row] = mu;
            rstd[row] = inv;
        }
    }
}

template <class Copy>
__device__ void layernorm_f32_any(const float *x, const float *gamma, const float *beta, float *y, float *mean, float *rstd,
                                  int rows, int len, float eps, uint16_t *copy) {
    if (ln_rows_fit_registers(len, x, gamma, beta, y)) layernorm_f32_in_registers<Copy>(x, gamma, beta, y, mean, rstd, rows, len, eps, copy);
    else layernorm_kernel<float, Copy>(x, gamma, beta, y, mean, rstd, rows, len, eps, copy);
}

extern "C" __global__ void layernorm_f32(const float *x, const float *gamma, const float *beta, float *y, float *mean,
                                         float *rstd, int rows, int len, float eps) {
    layernorm_f32_any<NoCopy>(x, gamma, beta, y, mean, rstd, rows, len, eps, nullptr);
}

extern "C" __global__ void layernorm_f32_copy_bf16(const float *x, const float *gamma, const float *beta, float *y, float *mean,
                                                   float *rstd, int rows, int len, float eps, uint16_t *copy) {
    layernorm_f32_any<Bf16Copy>(x, gamma, beta, y, mean, rstd, rows, len, eps, copy);
}

extern "C" __global__ void layernorm_f32_copy_f16(const float *x, const float *gamma, const float *beta, float *y, float *mean,
                                                  float *rstd, int rows, int len, float eps, uint16_t *copy) {
    layernorm_f32_any<F16Copy>(x, gamma, beta, y, mean, rstd, rows, len, eps, copy);
}

extern "C" __global__ void layernorm_f64(const double *x, const double *gamma, const double *beta, double *y, double *mean,
                                         double *rstd, int rows, int len, double eps) {
    layernorm_kernel<double>(x, gamma, beta, y, mean, rstd, rows, len, eps);
}

template <typename T>
__device__ inline void layernorm_backward_kernel(const T *dy, const T *x, const T *gamma, const T *mean, const T *rstd,
                                                 T *dx, int rows, int len) {
    int lane = threadIdx.x & 31, warps = blockDim.x >> 5;
    for (long long row = (long long) blockIdx.x * warps + (threadIdx.x >> 5); row < rows; row += (long long) gridDim.x * warps) {
        long long base = row * len;
        T mu = mean[row], inv = rstd[row], sum_g = 0, sum_gx = 0;
        for (int j = lane; j < len; j += 32) {
            T g = dy[base + j] * gamma[j], xh = (x[base + j] - mu) * inv;
            sum_g += g;
            sum_gx += g * xh;
        }
        T mg = warp_sum(sum_g) / len, mgx = warp_sum(sum_gx) / len;
        for (int j = lane; j < len; j += 32) {
            T g = dy[base + j] * gamma[j], xh = (x[base + j] - mu) * inv;
            dx[base + j] = inv * (g - mg - xh * mgx);
        }
    }
}

// The backward with g = dy ⊙ γ and x̂ in registers, as the forward keeps its rows.
__device__ void layernorm_backward_f32_in_registers(const float *dy, const float *x, const float *gamma, const float *mean,
                                                    const float *rstd, float *dx, int rows, int len) {
    const float4 *g4 = (const float4 *) gamma;
    int lane = threadIdx.x & 31, warps = blockDim.x >> 5, vecs = len >> 7;
    for (long long row = (long long) blockIdx.x * warps + (threadIdx.x >> 5); row < rows; row += (long long) gridDim.x * warps) {
        const float4 *dyr = (const float4 *) (dy + row * len), *xr = (const float4 *) (x + row * len);
        float mu = mean[row], inv = rstd[row], sum_g = 0, sum_gx = 0;
        float4 g[LN_MAX_VECS], xh[LN_MAX_VECS];
        #pragma unroll
        for (int i = 0; i < LN_MAX_VECS; i++) {
            if (i < vecs) {
                float4 d = dyr[i * 32 + lane], xv = xr[i * 32 + lane], gm = g4[i * 32 + lane];
                g[i] = make_float4(d.x * gm.x, d.y * gm.y, d.z * gm.z, d.w * gm.w);
                xh[i] = make_float4((xv.x - mu) * inv, (xv.y - mu) * inv, (xv.z - mu) * inv, (xv.w - mu) * inv);
                sum_g += sum4(g[i]);
                sum_gx += sum4(make_float4(g[i].x * xh[i].x, g[i].y * xh[i].y, g[i].z * xh[i].z, g[i].w * xh[i].w));
            }
        }
        float mg = warp_sum(sum_g) / len, mgx = warp_sum(sum_gx) / len;
        float4 *dxr = (float4 *) (dx + row * len);
        #pragma unroll
        for (int i = 0; i < LN_MAX_VECS; i++) {
            if (i < vecs) {
                dxr[i * 32 + lane] = make_float4(inv * (g[i].x - mg - xh[i].x * mgx), inv * (g[i].y - mg - xh[i].y * mgx),
                                                 inv * (g[i].z - mg - xh[i].z * mgx), inv * (g[i].w - mg - xh[i].w * mgx));
            }
        }
    }
}

extern "C" __global__ void layernorm_backward_f32(const float *dy, const float *x, const float *gamma, const float *mean,
                                                  const float *rstd, float *dx, int rows, int len) {
    if (ln_rows_fit_registers(len, dy, x, gamma, dx)) layernorm_backward_f32_in_registers(dy, x, gamma, mean, rstd, dx, rows, len);
    else layernorm_backward_kernel<float>(dy, x, gamma, mean, rstd, dx, rows, len);
}

extern "C" __global__ void layernorm_backward_f64(const double *dy, const double *x, const double *gamma, const double *mean,
                                                  const double *rstd, double *dx, int rows, int len) {
    layernorm_backward_kernel<double>(dy, x, gamma, mean, rstd, dx, rows, len);
}

// dγ and dβ of the plain LayerNorm's backward (the residual one sums them itself), in two passes
// with blocks of 32 columns × 8 row groups. Each thread sums its column over its group's rows
// (or chunks) in order, in double; add_groups then adds the 8 groups in order, returning true in
// group 0's threads, which hold the totals.
__device__ inline bool add_groups(double &acc_g, double &acc_b) {
    __shared__ double sg[8][33], sb[8][33];
    sg[threadIdx.y][threadIdx.x] = acc_g;
    sb[threadIdx.y][threadIdx.x] = acc_b;
    __syncthreads();
    if (threadIdx.y != 0) return false;
    acc_g = 0;
    acc_b = 0;
    for (int k = 0; k < 8; k++) {
        acc_g += sg[k][threadIdx.x];
        acc_b += sb[k][threadIdx.x];
    }
    return true;
}

// Pass 1: block (column block bx, row chunk by); group ty sums rows chunk_start + ty, + 8, ...
// into partial_g[by, c] and partial_b[by, c].
template <typename T>
__device__ inline void param_grads_partial_kernel(const T *dy, const T *x, const T *mean, const T *rstd,
                                                  double *partial_g, double *partial_b, int rows, int len, int chunk_rows) {
    int c = blockIdx.x * 32 + threadIdx.x;
    int r0 = blockIdx.y * chunk_rows, r1 = min(rows, r0 + chunk_rows);
    double acc_g = 0, acc_b = 0;
    if (c < len) {
        for (int r = r0 + threadIdx.y; r < r1; r += 8) {
            T g = dy[(long long) r * len + c];
            acc_g += (double) (g * ((x[(long long) r * len + c] - mean[r]) * rstd[r]));
            acc_b += (double) g;
        }
    }
    if (add_groups(acc_g, acc_b) && c < len) {
        partial_g[(long long) blockIdx.y * len + c] = acc_g;
        partial_b[(long long) blockIdx.y * len + c] = acc_b;
    }
}

extern "C" __global__ void layernorm_param_grads_partial_f32(const float *dy, const float *x, const float *mean, const float *rstd,
                                                             double *partial_g, double *partial_b, int rows, int len, int chunk_rows) {
    param_grads_partial_kernel<float>(dy, x, mean, rstd, partial_g, partial_b, rows, len, chunk_rows);
}

extern "C" __global__ void layernorm_param_grads_partial_f64(const double *dy, const double *x, const double *mean, const double *rstd,
                                                             double *partial_g, double *partial_b, int rows, int len, int chunk_rows) {
    param_grads_partial_kernel<double>(dy, x, mean, rstd, partial_g, partial_b, rows, len, chunk_rows);
}

// Pass 2: block (column block bx); group ty adds chunks ty, ty + 8, ... of the partials, of pass 1
// or of the residual LayerNorm's backward.
template <typename T>
__device__ inline void param_grads_final_kernel(const double *partial_g, const double *partial_b, T *dgamma, T *dbeta,
                                                int chunks, int len) {
    int c = blockIdx.x * 32 + threadIdx.x;
    double acc_g = 0, acc_b = 0;
    if (c < len) {
        for (int k = threadIdx.y; k < chunks; k += 8) {
            acc_g += partial_g[(long long) k * len + c];
            acc_b += partial_b[(long long) k * len + c];
        }
    }
    if (add_groups(acc_g, acc_b) && c < len) {
        dgamma[c] = (T) acc_g;
        dbeta[c] = (T) acc_b;
    }
}

extern "C" __global__ void layernorm_param_grads_final_f32(const double *partial_g, const double *partial_b, float *dgamma,
                                                           float *dbeta, int chunks, int len) {
    param_grads_final_kernel<float>(partial_g, partial_b, dgamma, dbeta, chunks, len);
}

extern "C" __global__ void layernorm_param_grads_final_f64(const double *partial_g, const double *partial_b, double *dgamma,
                                                           double *dbeta, int chunks, int len) {
    param_grads_final_kernel<double>(partial_g, partial_b, dgamma, dbeta, chunks, len);
}

// dropout + residual + LayerNorm (float32), the end of each BERT residual block, one warp per row:
//   forward:  s = x ⊙ mask + r, with dropout_mask_f32's mask for (seed, offset) over x's
//             elements (none when p = 0), kept for the backward; then y = LayerNorm(s) as above.
//   backward: ds = LayerNorm's dx on s is the residual's gradient; dx = ds ⊙ mask, the mask
//             drawn again (cheaper than storing it).
// Each lane takes runs of four consecutive elements, so one Philox block (eight elements) serves a
// whole run when the width is a multiple of 4. The products and sums are those of the separate kernels
// (dropout's multiply, then the add: no FMA in this file), so s is bit for bit theirs.
#define FOR_LANE_RUNS(j, len, lane) \
    for (int j##0 = 4 * (lane); j##0 < (len); j##0 += 128) \
        for (int j = j##0; j < j##0 + 4 && j < (len); j++)

// x is float32, or (with a copy) the format of the copy: the Linear's product rounded once, as
// torch.autocast's Linear returns it. Either way s, its statistics and y are float32, and the
// dropout multiply is float32's (torch.autocast drops out the 16-bit product in its own format).
template <typename X, class Copy>
__device__ void dropout_add_layernorm_any_width(const X *x, const float *r, const float *gamma, const float *beta, float *s,
                                                float *y, float *mean, float *rstd, int rows, int len, float eps, float p,
                                                float keep_scale, unsigned long long seed, unsigned long long offset,
                                                uint16_t *copy) {
    int lane = threadIdx.x & 31, warps = blockDim.x >> 5;
    for (long long row = (long long) blockIdx.x * warps + (threadIdx.x >> 5); row < rows; row += (long long) gridDim.x * warps) {
        long long base = row * len;
        DropoutStream drop(seed, offset, p, keep_scale);
        float sum = 0;
        FOR_LANE_RUNS(j, len, lane) {
            float v = widened<Copy>(x[base + j]);
            if (p > 0) v = v * drop.factor(base + j);
            v = v + r[base + j];
            s[base + j] = v;
            sum += v;
        }
        float mu = warp_sum(sum) / len, sq = 0;
        FOR_LANE_RUNS(j, len, lane) {
            float c = s[base + j] - mu;
            sq += c * c;
        }
        float inv = rsqrt_t(warp_sum(sq) / len + eps);
        FOR_LANE_RUNS(j, len, lane) {
            float v = (s[base + j] - mu) * inv * gamma[j] + beta[j];
            y[base + j] = v;
            Copy::put(copy, base + j, v);
        }
        if (lane == 0) {
            mean[row] = mu;
            rstd[row] = inv;
        }
    }
}

// The same for rows that fit registers (ln_rows_fit_registers): a lane's runs of four are one
// 16-byte access each (8 bytes for a 16-bit x or copy), and s stays in registers between the
// passes instead of being read back twice. The same elements per lane, in the same order, with
// the same operations: the same bits as the loop above.
template <typename X, class Copy>
__device__ void dropout_add_layernorm_in_registers(const X *x, const float *r, const float *gamma, const float *beta, float *s,
                                                   float *y, float *mean, float *rstd, int rows, int len, float eps, float p,
                                                   float keep_scale, unsigned long long seed, unsigned long long offset,
                                                   uint16_t *copy) {
    const float4 *g4 = (const float4 *) gamma, *b4 = (const float4 *) beta;
    int lane = threadIdx.x & 31, warps = blockDim.x >> 5, vecs = len >> 7;
    for (long long row = (long long) blockIdx.x * warps + (threadIdx.x >> 5); row < rows; row += (long long) gridDim.x * warps) {
        long long base = row * len;
        DropoutStream drop(seed, offset, p, keep_scale);
        float4 v[LN_MAX_VECS];
        float sum = 0;
        #pragma unroll
        for (int i = 0; i < LN_MAX_VECS; i++) {
            if (i < vecs) {
                long long at = base + 4 * (i * 32 + lane);
                float4 a = widened4<Copy>(x + at), b = *(const float4 *) (r + at);
                if (p > 0) a = make_float4(a.x * drop.factor(at), a.y * drop.factor(at + 1), a.z * drop.factor(at + 2), a.w * drop.factor(at + 3));
                v[i] = make_float4(a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w);
                *(float4 *) (s + at) = v[i];
                sum += v[i].x;
                sum += v[i].y;
                sum += v[i].z;
                sum += v[i].w;
            }
        }
        float mu = warp_sum(sum) / len, sq = 0;
        #pragma unroll
        for (int i = 0; i < LN_MAX_VECS; i++) {
            if (i < vecs) {
                float4 c = make_float4(v[i].x - mu, v[i].y - mu, v[i].z - mu, v[i].w - mu);
                sq += c.x * c.x;
                sq += c.y * c.y;
                sq += c.z * c.z;
                sq += c.w * c.w;
            }
        }
        float inv = rsqrt_t(warp_sum(sq) / len + eps);
        #pragma unroll
        for (int i = 0; i < LN_MAX_VECS; i++) {
            if (i < vecs) {
                long long at = base + 4 * (i * 32 + lane);
                float4 g = g4[i * 32 + lane], b = b4[i * 32 + lane];
                float4 out = make_float4((v[i].x - mu) * inv * g.x + b.x, (v[i].y - mu) * inv * g.y + b.y,
                                         (v[i].z - mu) * inv * g.z + b.z, (v[i].w - mu) * inv * g.w + b.w);
                *(float4 *) (y + at) = out;
                Copy::put4(copy, at, out);
            }
        }
        if (lane == 0) {
            mean[row] = mu;
            rstd[row] = inv;
        }
    }
}

template <typename X, class Copy>
__device__ void dropout_add_layernorm(const X *x, const float *r, const float *gamma, const float *beta, float *s, float *y,
                                      float *mean, float *rstd, int rows, int len, float eps, float p, float keep_scale,
                                      unsigned long long seed, unsigned long long offset, uint16_t *copy) {
    if (ln_rows_fit_registers(len, x, r, gamma, beta, s, y, copy))
        dropout_add_layernorm_in_registers<X, Copy>(x, r, gamma, beta, s, y, mean, rstd, rows, len, eps, p, keep_scale, seed, offset, copy);
    else
        dropout_add_layernorm_any_width<X, Copy>(x, r, gamma, beta, s, y, mean, rstd, rows, len, eps, p, keep_scale, seed, offset, copy);
}

extern "C" __global__ void dropout_add_layernorm_f32(const float *x, const float *r, const float *gamma, const float *beta,
                                                     float *s, float *y, float *mean, float *rstd, int rows, int len, float eps,
                                                     float p, float keep_scale, unsigned long long seed,
                                                     const unsigned long long *offset_base, unsigned long long offset) {
    dropout_add_layernorm<float, NoCopy>(x, r, gamma, beta, s, y, mean, rstd, rows, len, eps, p, keep_scale, seed,
                                         offset + *offset_base, nullptr);
}

// The same, also writing y rounded to the copy's format: x float32 or in that format.
#define DROPOUT_ADD_LAYERNORM_COPY(name, X, Copy)                                                                            \
    extern "C" __global__ void name(const X *x, const float *r, const float *gamma, const float *beta, float *s, float *y, \
                                    float *mean, float *rstd, int rows, int len, float eps, float p, float keep_scale,    \
                                    unsigned long long seed, const unsigned long long *offset_base,                       \
                                    unsigned long long offset, uint16_t *copy) {                                           \
        dropout_add_layernorm<X, Copy>(x, r, gamma, beta, s, y, mean, rstd, rows, len, eps, p, keep_scale, seed,          \
                                       offset + *offset_base, copy);                                                       \
    }
DROPOUT_ADD_LAYERNORM_COPY(dropout_add_layernorm_f32_copy_bf16, float, Bf16Copy)
DROPOUT_ADD_LAYERNORM_COPY(dropout_add_layernorm_f32_copy_f16, float, F16Copy)
DROPOUT_ADD_LAYERNORM_COPY(dropout_add_layernorm_bf16_copy_bf16, uint16_t, Bf16Copy)
DROPOUT_ADD_LAYERNORM_COPY(dropout_add_layernorm_f16_copy_f16, uint16_t, F16Copy)
#undef DROPOUT_ADD_LAYERNORM_COPY

// The backward also sums γ's and β's gradients, dγ = Σ_rows dy ⊙ x̂ and dβ = Σ_rows dy, from the dy
// and x̂ it holds anyway, instead of a pass of its own reading dy and s again. A block of
// LN_BACKWARD_WARPS warps takes `chunk` consecutive rows, warp w rows w, w + 4, ... of them; each
// lane adds its own columns of its rows into its warp's float32 row of ParamSums (so no two lanes
// touch one word and no order depends on timing); at the end the block adds its warps' sums in
// order, in double, into its row of the partials, and layernorm_param_grads_final adds the blocks'.
#define LN_BACKWARD_WARPS 4

struct ParamSums {
    float (*g)[128 * LN_MAX_VECS], (*b)[128 * LN_MAX_VECS];  // [warp][column]

    // Zeroes the lane's columns of its warp's sums.
    __device__ void clear(int len) const {
        int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
        FOR_LANE_RUNS(j, len, lane) {
            g[warp][j] = 0.0f;
            b[warp][j] = 0.0f;
        }
    }

    // Once every warp is done: the block's sums of each column, warps added in order, into row
    // blockIdx.x of the [blocks, len] partials.
    __device__ void write(double *partial_g, double *partial_b, int len) const {
        __syncthreads();
        for (int j = threadIdx.x; j < len; j += blockDim.x) {
            double tg = 0, tb = 0;
            for (int w = 0; w < LN_BACKWARD_WARPS; w++) {
                tg += g[w][j];
                tb += b[w][j];
            }
            partial_g[(long long) blockIdx.x * len + j] = tg;
            partial_b[(long long) blockIdx.x * len + j] = tb;
        }
    }
};

template <class Copy>
__device__ void dropout_add_layernorm_backward_any_width(const float *dy, const float *s, const float *gamma, const float *mean,
                                                         const float *rstd, float *dresidual, float *dx, long long r0,
                                                         long long r1, int len, float p, float keep_scale,
                                                         unsigned long long seed, unsigned long long offset, uint16_t *copy,
                                                         ParamSums sums) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    float *column_g = sums.g[warp], *column_b = sums.b[warp];
    for (long long row = r0 + warp; row < r1; row += LN_BACKWARD_WARPS) {
        long long base = row * len;
        float mu = mean[row], inv = rstd[row], sum_g = 0, sum_gx = 0;
        FOR_LANE_RUNS(j, len, lane) {
            float d = dy[base + j], g = d * gamma[j], xh = (s[base + j] - mu) * inv;
            sum_g += g;
            sum_gx += g * xh;
            column_g[j] += d * xh;
            column_b[j] += d;
        }
        float mg = warp_sum(sum_g) / len, mgx = warp_sum(sum_gx) / len;
        DropoutStream drop(seed, offset, p, keep_scale);
        FOR_LANE_RUNS(j, len, lane) {
            float g = dy[base + j] * gamma[j], xh = (s[base + j] - mu) * inv;
            float ds = inv * (g - mg - xh * mgx), d = ds;
            dresidual[base + j] = ds;
            if (p > 0) {
                d = ds * drop.factor(base + j);
                if (!Copy::only) dx[base + j] = d;
            }
            Copy::put(copy, base + j, d);
        }
    }
}

// The same with g = dy ⊙ γ and x̂ in registers between the passes and 16-byte accesses, as the
// forward's register path; the same bits as the loop above.
template <class Copy>
__device__ void dropout_add_layernorm_backward_in_registers(const float *dy, const float *s, const float *gamma, const float *mean,
                                                            const float *rstd, float *dresidual, float *dx, long long r0,
                                                            long long r1, int len, float p, float keep_scale,
                                                            unsigned long long seed, unsigned long long offset, uint16_t *copy,
                                                            ParamSums sums) {
    const float4 *g4 = (const float4 *) gamma;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, vecs = len >> 7;
    float4 *column_g = (float4 *) sums.g[warp], *column_b = (float4 *) sums.b[warp];
    for (long long row = r0 + warp; row < r1; row += LN_BACKWARD_WARPS) {
        long long base = row * len;
        float mu = mean[row], inv = rstd[row], sum_g = 0, sum_gx = 0;
        float4 g[LN_MAX_VECS], xh[LN_MAX_VECS];
        #pragma unroll
        for (int i = 0; i < LN_MAX_VECS; i++) {
            if (i < vecs) {
                long long at = base + 4 * (i * 32 + lane);
                float4 d = *(const float4 *) (dy + at), sv = *(const float4 *) (s + at), gm = g4[i * 32 + lane];
                g[i] = make_float4(d.x * gm.x, d.y * gm.y, d.z * gm.z, d.w * gm.w);
                xh[i] = make_float4((sv.x - mu) * inv, (sv.y - mu) * inv, (sv.z - mu) * inv, (sv.w - mu) * inv);
                sum_g += g[i].x;
                sum_gx += g[i].x * xh[i].x;
                sum_g += g[i].y;
                sum_gx += g[i].y * xh[i].y;
                sum_g += g[i].z;
                sum_gx += g[i].z * xh[i].z;
                sum_g += g[i].w;
                sum_gx += g[i].w * xh[i].w;
                float4 a = column_g[i * 32 + lane], c = column_b[i * 32 + lane];
                column_g[i * 32 + lane] = make_float4(a.x + d.x * xh[i].x, a.y + d.y * xh[i].y, a.z + d.z * xh[i].z, a.w + d.w * xh[i].w);
                column_b[i * 32 + lane] = make_float4(c.x + d.x, c.y + d.y, c.z + d.z, c.w + d.w);
            }
        }
        float mg = warp_sum(sum_g) / len, mgx = warp_sum(sum_gx) / len;
        DropoutStream drop(seed, offset, p, keep_scale);
        #pragma unroll
        for (int i = 0; i < LN_MAX_VECS; i++) {
            if (i < vecs) {
                long long at = base + 4 * (i * 32 + lane);
                float4 ds = make_float4(inv * (g[i].x - mg - xh[i].x * mgx), inv * (g[i].y - mg - xh[i].y * mgx),
                                        inv * (g[i].z - mg - xh[i].z * mgx), inv * (g[i].w - mg - xh[i].w * mgx)), d = ds;
                *(float4 *) (dresidual + at) = ds;
                if (p > 0) {
                    d = make_float4(ds.x * drop.factor(at), ds.y * drop.factor(at + 1), ds.z * drop.factor(at + 2), ds.w * drop.factor(at + 3));
                    if (!Copy::only) *(float4 *) (dx + at) = d;
                }
                Copy::put4(copy, at, d);
            }
        }
    }
}

// dx is written only when p > 0 (without dropout x's gradient is the residual's). With a copy,
// dx (ds when p = 0) is written rounded to its format instead (dx unused): under autocast the dY
// operand of the products of the Linear whose output the block normalised, the only reader of x's
// gradient (its weight-gradient product sums the bias gradient from it too). Blocks of
// LN_BACKWARD_WARPS warps, block i taking rows i·chunk .. (i+1)·chunk − 1; len at most 128·LN_MAX_VECS.
template <class Copy>
__device__ void dropout_add_layernorm_backward(const float *dy, const float *s, const float *gamma, const float *mean,
                                               const float *rstd, float *dresidual, float *dx, int rows, int len, float p,
                                               float keep_scale, unsigned long long seed, unsigned long long offset,
                                               uint16_t *copy, double *partial_g, double *partial_b, int chunk) {
    alignas(16) __shared__ float column_g[LN_BACKWARD_WARPS][128 * LN_MAX_VECS], column_b[LN_BACKWARD_WARPS][128 * LN_MAX_VECS];
    const ParamSums sums{column_g, column_b};
    sums.clear(len);
    long long r0 = (long long) blockIdx.x * chunk, r1 = min((long long) rows, r0 + chunk);
    if (ln_rows_fit_registers(len, dy, s, gamma, dresidual, dx, copy))
        dropout_add_layernorm_backward_in_registers<Copy>(dy, s, gamma, mean, rstd, dresidual, dx, r0, r1, len, p, keep_scale, seed,
                                                          offset, copy, sums);
    else
        dropout_add_layernorm_backward_any_width<Copy>(dy, s, gamma, mean, rstd, dresidual, dx, r0, r1, len, p, keep_scale, seed,
                                                       offset, copy, sums);
    sums.write(partial_g, partial_b, len);
}

extern "C" __global__ void __launch_bounds__(32 * LN_BACKWARD_WARPS) dropout_add_layernorm_backward_f32(
        const float *dy, const float *s, const float *gamma, const float *mean, const float *rstd, float *dresidual, float *dx,
        int rows, int len, float p, float keep_scale, unsigned long long seed, const unsigned long long *offset_base,
        unsigned long long offset, double *partial_g, double *partial_b, int chunk) {
    dropout_add_layernorm_backward<NoCopy>(dy, s, gamma, mean, rstd, dresidual, dx, rows, len, p, keep_scale, seed,
                                           offset + *offset_base, nullptr, partial_g, partial_b, chunk);
}

#define DROPOUT_ADD_LAYERNORM_BACKWARD_COPY(name, Copy)                                                                        \
    extern "C" __global__ void __launch_bounds__(32 * LN_BACKWARD_WARPS) name(                                               \
            const float *dy, const float *s, const float *gamma, const float *mean, const float *rstd, float *dresidual,      \
            float *dx, int rows, int len, float p, float keep_scale, unsigned long long seed,                                 \
            const unsigned long long *offset_base, unsigned long long offset, double *partial_g, double *partial_b,           \
            int chunk, uint16_t *copy) {                                                                                      \
        dropout_add_layernorm_backward<Copy>(dy, s, gamma, mean, rstd, dresidual, dx, rows, len, p, keep_scale, seed,       \
                                             offset + *offset_base, copy, partial_g, partial_b, chunk);                       \
    }
DROPOUT_ADD_LAYERNORM_BACKWARD_COPY(dropout_add_layernorm_backward_f32_copy_bf16, Bf16Copy)
DROPOUT_ADD_LAYERNORM_BACKWARD_COPY(dropout_add_layernorm_backward_f32_copy_f16, F16Copy)
#undef DROPOUT_ADD_LAYERNORM_BACKWARD_COPY
