// Pointwise kernels: unary and scalar ops, broadcasting binary ops over strided views, the
// GELU backward, strided copies (contiguous, concat, copy in place), casts (BF16 and F16 too), fills and the
// in-place ops of gradient accumulation. Op codes are the ordinals of dev.bertft.tensor.Ops.
//
// Precision follows the CPU backend: unary (except GELU) and scalar ops compute in double and
// round once; binary ops and GELU compute in the data type.
//
// The float32 kernels BERT runs on whole activations (binary ops of same-shape operands, unary,
// the GELU backward, gradient accumulation) take four elements a thread per step with 16-byte
// loads and stores when every pointer allows, then the last n mod 4 one at a time: four times
// the bytes in flight of 4-byte accesses, which is what a memory-bound kernel needs to approach
// the memory's bandwidth. Each element gets the same arithmetic either way.
#include "common.cuh"
#include "gelu.cuh"
#include "half.cuh"
#include <math.h>

// ---- unary: NEG, EXP, LOG, SQRT, TANH, GELU, ABS -------------------------------------------

__device__ inline double unary_op(int op, double v) {
    switch (op) {
        case 0: return -v;
        case 1: return exp(v);
        case 2: return log(v);
        case 3: return sqrt(v);
        case 4: return tanh(v);
        case 5: return gelu(v);
        default: return fabs(v);
    }
}

__device__ inline float unary_f32_op(int op, float v) { return op == 5 ? gelu(v) : (float) unary_op(op, (double) v); }

extern "C" __global__ void unary_f32(int op, const float *x, float *y, long long n) {
    for_each_by_four(n, aligned16(x, y), [&](long long i) {
        float4 v = load4(x + i);
        store4(y + i, make_float4(unary_f32_op(op, v.x), unary_f32_op(op, v.y), unary_f32_op(op, v.z), unary_f32_op(op, v.w)));
    }, [&](long long i) { y[i] = unary_f32_op(op, x[i]); });
}

// GELU that also writes y rounded to BF16 or F16: the operand of the Linear it feeds (BERT's
// intermediate.dense output goes through GELU into output.dense), so no cast kernel runs for it.
// Like every 16-bit pointwise kernel here, four elements a thread where the pointers allow.
__device__ inline float4 gelu4(float4 v) { return make_float4(gelu(v.x), gelu(v.y), gelu(v.z), gelu(v.w)); }

template <typename H>
__device__ void gelu_f32_copy(const float *x, float *y, H *copy, long long n) {
    for_each_by_four(n, aligned16(x, y, copy), [&](long long i) {
        float4 v = gelu4(load4(x + i));
        store4(y + i, v);
        store4(copy + i, v);
    }, [&](long long i) {
        y[i] = gelu(x[i]);
        store_as(copy + i, y[i]);
    });
}

extern "C" __global__ void gelu_f32_copy_bf16(const float *x, float *y, __nv_bfloat16 *copy, long long n) { gelu_f32_copy(x, y, copy, n); }
extern "C" __global__ void gelu_f32_copy_f16(const float *x, float *y, __half *copy, long long n) { gelu_f32_copy(x, y, copy, n); }

// GELU of the half-precision product a Linear wrote (intermediate.dense under autocast), in
// float32 and rounded once to that format for the next Linear: torch.autocast's float32 GELU
// between two half products, without the widening cast of its input or a float32 output
// nothing else reads.
template <typename H>
__device__ void gelu_half(const H *x, H *y, long long n) {
    for_each_by_four(n, aligned16(x, y), [&](long long i) { store4(y + i, gelu4(load4(x + i))); },
                     [&](long long i) { store_as(y + i, gelu(to_float(x[i]))); });
}

extern "C" __global__ void gelu_bf16(const __nv_bfloat16 *x, __nv_bfloat16 *y, long long n) { gelu_half(x, y, n); }
extern "C" __global__ void gelu_f16(const __half *x, __half *y, long long n) { gelu_half(x, y, n); }

extern "C" __global__ void unary_f64(int op, const double *x, double *y, long long n) {
    FOR_EACH(i, n) y[i] = unary_op(op, x[i]);
}

// ---- scalar: x+s, x·s, s−x, s/x, x^s ---------------------------------------------------------

__device__ inline double scalar_op(int op, double v, double s) {
    switch (op) {
        case 0: return v + s;
        case 1: return v * s;
        case 2: return s - v;
        case 3: return s / v;
        default: return pow(v, s);
    }
}

extern "C" __global__ void scalar_f32(int op, const float *x, float *y, double s, long long n) {
    FOR_EACH(i, n) y[i] = (float) scalar_op(op, (double) x[i], s);
}

// x·s over a list of tensors, ptr[1] ← ptr[0]·s, computed as scalar_f32's MUL: gradient clipping.
extern "C" __global__ void scale_list_f32(TensorList l, double s) {
    long long first, end;
    int e = list_entry(l, blockIdx.x, first, end);
    const float *x = (const float *) l.ptr[0][e];
    float *y = (float *) l.ptr[1][e];
    for (long long i = first + threadIdx.x; i < end; i += blockDim.x) y[i] = (float) ((double) x[i] * s);
}

extern "C" __global__ void scalar_f64(int op, const double *x, double *y, double s, long long n) {
    FOR_EACH(i, n) y[i] = scalar_op(op, x[i], s);
}

// ---- binary with broadcasting: ADD, SUB, MUL, DIV, MAX, MIN, EQ ----------------------------
// Broadcast operands carry stride 0 along expanded dims; c is the contiguous output.

template <typename T>
__device__ inline T binary_op(int op, T u, T v) {
    switch (op) {
        case 0: return u + v;
        case 1: return u - v;
        case 2: return u * v;
        case 3: return u / v;
        // Java's Math.max/min propagate NaN; fmax/fmin would drop it.
        case 4: return (u != u || v != v) ? u + v : (u > v ? u : v);
        case 5: return (u != u || v != v) ? u + v : (u < v ? u : v);
        default: return u == v ? (T) 1 : (T) 0;
    }
}

template <typename T>
__device__ inline void binary_kernel(int op, Strides3 s, const T *a, const T *b, T *c, long long n) {
    FOR_EACH(i, n) {
        long long oa, ob, oc;
        strided_offsets(s, i, oa, ob, oc);
        c[oc] = binary_op<T>(op, a[oa], b[ob]);
    }
}

extern "C" __global__ void binary_f32(int op, Strides3 s, const float *a, const float *b, float *c, long long n) {
    bool same_shape_contiguous = s.rank == 1 && s.a[0] == 1 && s.b[0] == 1 && s.c[0] == 1;
    if (!same_shape_contiguous || !aligned16(a, b, c)) {
        binary_kernel<float>(op, s, a, b, c, n);
        return;
    }
    for_each_by_four(n, true, [&](long long i) {
        float4 u = load4(a + i), v = load4(b + i);
        store4(c + i, make_float4(binary_op<float>(op, u.x, v.x), binary_op<float>(op, u.y, v.y), binary_op<float>(op, u.z, v.z),
                                  binary_op<float>(op, u.w, v.w)));
    }, [&](long long i) { c[i] = binary_op<float>(op, a[i], b[i]); });
}

extern "C" __global__ void binary_f64(int op, Strides3 s, const double *a, const double *b, double *c, long long n) {
    binary_kernel<double>(op, s, a, b, c, n);
}

// ---- bias + GELU: y = GELU(x + bias), dx = dy · GELU'(x + bias) --------------------------------
// A Linear layer's bias and activation in one pass over its product (rows of `width`), and the
// backward recomputing x + bias instead of reading a kept pre-activation. The add is rounded
// before GELU, as the separate ops round it.

template <typename T>
__device__ inline void bias_gelu_kernel(const T *x, const T *bias, T *y, long long n, int width) {
    FOR_EACH(i, n) y[i] = gelu((T) (x[i] + bias[i % width]));
}

template <typename T>
__device__ inline void bias_gelu_backward_kernel(const T *x, const T *bias, const T *dy, T *dx, long long n, int width) {
    FOR_EACH(i, n) dx[i] = dy[i] * gelu_grad((T) (x[i] + bias[i % width]));
}

extern "C" __global__ void bias_gelu_f32(const float *x, const float *bias, float *y, long long n, int width) {
    bias_gelu_kernel<float>(x, bias, y, n, width);
}

extern "C" __global__ void bias_gelu_f64(const double *x, const double *bias, double *y, long long n, int width) {
    bias_gelu_kernel<double>(x, bias, y, n, width);
}

extern "C" __global__ void bias_gelu_backward_f32(const float *x, const float *bias, const float *dy, float *dx, long long n,
                                                  int width) {
    bias_gelu_backward_kernel<float>(x, bias, dy, dx, n, width);
}

extern "C" __global__ void bias_gelu_backward_f64(const double *x, const double *bias, const double *dy, double *dx, long long n,
                                                  int width) {
    bias_gelu_backward_kernel<double>(x, bias, dy, dx, n, width);
}

// x ⊙ mask (dropout) that also writes the product rounded to BF16 or F16, the operand of the Linear
// it feeds under autocast (the embeddings' output into layer 0's Q, K and V; the pooled output into
// the classifier): a·b as binary_f32's MUL, so the float32 result has its bits.
template <typename H>
__device__ void mul_f32_copy(const float *a, const float *b, float *c, H *copy, long long n) {
    for_each_by_four(n, aligned16(a, b, c, copy), [&](long long i) {
        float4 x = load4(a + i), y = load4(b + i), v = make_float4(x.x * y.x, x.y * y.y, x.z * y.z, x.w * y.w);
        store4(c + i, v);
        store4(copy + i, v);
    }, [&](long long i) {
        c[i] = a[i] * b[i];
        store_as(copy + i, c[i]);
    });
}

extern "C" __global__ void mul_f32_copy_bf16(const float *a, const float *b, float *c, __nv_bfloat16 *copy, long long n) { mul_f32_copy(a, b, c, copy, n); }
extern "C" __global__ void mul_f32_copy_f16(const float *a, const float *b, float *c, __half *copy, long long n) { mul_f32_copy(a, b, c, copy, n); }

// ---- GELU backward: dx = dy · GELU'(x) ---------------------------------------------------------

extern "C" __global__ void gelu_backward_f32(const float *x, const float *dy, float *dx, long long n) {
    for_each_by_four(n, aligned16(x, dy, dx), [&](long long i) {
        float4 v = load4(x + i), d = load4(dy + i);
        store4(dx + i, make_float4(d.x * gelu_grad(v.x), d.y * gelu_grad(v.y), d.z * gelu_grad(v.z), d.w * gelu_grad(v.w)));
    }, [&](long long i) { dx[i] = dy[i] * gelu_grad(x[i]); });
}

// The same for the half-precision pre-activation a Linear wrote under autocast, dx written in that
// format only (rounded once from the float32 product): the dY operand of that Linear's dX and dW
// products, which is all that reads it (the weight-gradient product also sums it for the bias
// gradient). Widening x is exact, so dx is the float32 kernel's result rounded once.
template <typename H>
__device__ void gelu_backward_half(const H *x, const float *dy, H *dx, long long n) {
    for_each_by_four(n, aligned16(x, dy, dx), [&](long long i) {
        float4 v = load4(x + i), d = load4(dy + i);
        store4(dx + i, make_float4(d.x * gelu_grad(v.x), d.y * gelu_grad(v.y), d.z * gelu_grad(v.z), d.w * gelu_grad(v.w)));
    }, [&](long long i) { store_as(dx + i, dy[i] * gelu_grad(to_float(x[i]))); });
}

extern "C" __global__ void gelu_backward_bf16(const __nv_bfloat16 *x, const float *dy, __nv_bfloat16 *dx, long long n) {
    gelu_backward_half(x, dy, dx, n);
}

extern "C" __global__ void gelu_backward_f16(const __half *x, const float *dy, __half *dx, long long n) {
    gelu_backward_half(x, dy, dx, n);
}

extern "C" __global__ void gelu_backward_f64(const double *x, const double *dy, double *dx, long long n) {
    FOR_EACH(i, n) dx[i] = dy[i] * gelu_grad(x[i]);
}

// ---- strided copy: dst[view c] ← src[view a]; moves bits, so one kernel per element size ----

extern "C" __global__ void copy_strided_4(Strides3 s, const uint32_t *src, uint32_t *dst, long long n) {
    FOR_EACH(i, n) {
        long long oa, ob, oc;
        strided_offsets(s, i, oa, ob, oc);
        dst[oc] = src[oa];
    }
}

extern "C" __global__ void copy_strided_2(Strides3 s, const uint16_t *src, uint16_t *dst, long long n) {
    FOR_EACH(i, n) {
        long long oa, ob, oc;
        strided_offsets(s, i, oa, ob, oc);
        dst[oc] = src[oa];
    }
}

extern "C" __global__ void copy_strided_8(Strides3 s, const unsigned long long *src, unsigned long long *dst, long long n) {
    FOR_EACH(i, n) {
        long long oa, ob, oc;
        strided_offsets(s, i, oa, ob, oc);
        dst[oc] = src[oa];
    }
}

// ---- casts ----------------------------------------------------------------------------------
// Float to int as Java's (int) cast: toward zero, NaN → 0, saturating at the int range.

__device__ inline int java_int(double v) {
    if (v != v) return 0;
    if (v >= 2147483647.0) return 2147483647;
    if (v <= -2147483648.0) return (int) 0x80000000u;
    return (int) v;
}

extern "C" __global__ void cast_f32_f64(const float *x, double *y, long long n) { FOR_EACH(i, n) y[i] = (double) x[i]; }
extern "C" __global__ void cast_f64_f32(const double *x, float *y, long long n) { FOR_EACH(i, n) y[i] = (float) x[i]; }
extern "C" __global__ void cast_f32_i32(const float *x, int *y, long long n) { FOR_EACH(i, n) y[i] = java_int(x[i]); }
extern "C" __global__ void cast_f64_i32(const double *x, int *y, long long n) { FOR_EACH(i, n) y[i] = java_int(x[i]); }
extern "C" __global__ void cast_i32_f32(const int *x, float *y, long long n) { FOR_EACH(i, n) y[i] = (float) x[i]; }
extern "C" __global__ void cast_i32_f64(const int *x, double *y, long long n) { FOR_EACH(i, n) y[i] = (double) x[i]; }
// The half formats to and from float32 only (the host goes through float32 for other pairs):
// widening is exact, narrowing rounds to nearest even (cvt.rn).
extern "C" __global__ void cast_f32_bf16(const float *x, __nv_bfloat16 *y, long long n) { FOR_EACH(i, n) y[i] = __float2bfloat16_rn(x[i]); }
extern "C" __global__ void cast_bf16_f32(const __nv_bfloat16 *x, float *y, long long n) { FOR_EACH(i, n) y[i] = __bfloat162float(x[i]); }
extern "C" __global__ void cast_f32_f16(const float *x, __half *y, long long n) { FOR_EACH(i, n) y[i] = __float2half_rn(x[i]); }
extern "C" __global__ void cast_f16_f32(const __half *x, float *y, long long n) { FOR_EACH(i, n) y[i] = __half2float(x[i]); }

// The same roundings over a list of float32 tensors, ptr[1] ← ptr[0] in BF16/F16 (store_as): under
// autocast, the weights and biases of a forward's Linears, all cast at its start (Autocast.castAll).
template <typename H>
__device__ inline void cast_list(const TensorList &l) {
    long long first, end;
    int e = list_entry(l, blockIdx.x, first, end);
    const float *x = (const float *) l.ptr[0][e];
    H *y = (H *) l.ptr[1][e];
    for (long long i = first + threadIdx.x; i < end; i += blockDim.x) store_as(y + i, x[i]);
}

extern "C" __global__ void cast_list_f32_bf16(TensorList l) { cast_list<__nv_bfloat16>(l); }
extern "C" __global__ void cast_list_f32_f16(TensorList l) { cast_list<__half>(l); }

// ---- fills: the bit pattern of the value, prepared on the host -------------------------------

extern "C" __global__ void fill_2(uint16_t *y, uint32_t bits, long long n) { FOR_EACH(i, n) y[i] = (uint16_t) bits; }
extern "C" __global__ void fill_4(uint32_t *y, uint32_t bits, long long n) { FOR_EACH(i, n) y[i] = bits; }
extern "C" __global__ void fill_8(unsigned long long *y, unsigned long long bits, long long n) { FOR_EACH(i, n) y[i] = bits; }

// ---- in place: dst += α·src, t ·= s --------------------------------------------------------------

extern "C" __global__ void add_inplace_f32(float *dst, const float *src, float alpha, long long n) {
    for_each_by_four(n, aligned16(dst, src), [&](long long i) {
        float4 d = load4(dst + i), v = load4(src + i);
        store4(dst + i, make_float4(d.x + alpha * v.x, d.y + alpha * v.y, d.z + alpha * v.z, d.w + alpha * v.w));
    }, [&](long long i) { dst[i] += alpha * src[i]; });
}

extern "C" __global__ void add_inplace_f64(double *dst, const double *src, double alpha, long long n) {
    FOR_EACH(i, n) dst[i] = dst[i] + alpha * src[i];
}

extern "C" __global__ void scale_inplace_f32(float *t, double s, long long n) {
    FOR_EACH(i, n) t[i] = (float) ((double) t[i] * s);
}

extern "C" __global__ void scale_inplace_f64(double *t, double s, long long n) {
    FOR_EACH(i, n) t[i] = t[i] * s;
}
