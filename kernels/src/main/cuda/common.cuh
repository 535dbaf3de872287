// Shared pieces of the kernels: strided index math, warp and block reductions.
#pragma once
#include <stdint.h>

// log2(e) and ln(2): the attention kernels keep their scores in base-2 units, S·log2(e), so that
// each of their e^x is one 2^x (exp2_approx) of an argument a fused multiply-add makes.
#define LOG2E 1.44269504f
#define LN2 0.693147181f

#ifdef __CUDACC__  // the tests' CPU emulator has its own (cuda_emulation.h)
// cp.async (sm_80+): global → shared memory without a trip through registers, in flight until
// the thread's cp_async_wait; `valid` false writes zeros and reads nothing. Both addresses must
// be aligned to the copy's size.
__device__ inline void cp_async_16(float *dst, const float *src, bool valid) {
    unsigned s = (unsigned) __cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(src), "r"(valid ? 16 : 0) : "memory");
}

__device__ inline void cp_async_4(float *dst, const float *src, bool valid) {
    unsigned s = (unsigned) __cvta_generic_to_shared(dst);
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(s), "l"(src), "r"(valid ? 4 : 0) : "memory");
}

// Closes the group of copies queued since the last commit.
__device__ inline void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }

// Waits until at most `pending` of this thread's groups are still in flight.
template <int pending>
__device__ inline void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(pending) : "memory"); }

// 16 bytes of shared memory (16-byte aligned) in one ld.shared.v4. Written in PTX because nvcc 13
// sometimes (run to run, same source) turned such a float4 read into a v4 load marked
// `.pragma "used_bytes_mask"` plus a v2 load, a pragma of PTX ISA 8.3 that our ISA 8.0 modules
// cannot hold (build-ptx.sh). volatile keeps the read after the barrier that makes it valid.
__device__ inline float4 shared_float4(const float *at) {
    float4 v;
    asm volatile("ld.shared.v4.f32 {%0, %1, %2, %3}, [%4];\n"
                 : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w)
                 : "r"((unsigned) __cvta_generic_to_shared(at)));
    return v;
}

// The block's dynamic shared memory, sized by the launch.
#define DYNAMIC_SHARED(type, name) extern __shared__ __align__(16) type name[]

// TF32 tensor cores (sm_80+), for the GEMM and attention: round a float to TF32 (10-bit
// mantissa, to nearest, ties away), and one warp-wide 16×8×8 product.
__device__ inline uint32_t to_tf32(float x) {
    uint32_t r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return r;
}

// A float32 as a TF32 operand as it stands: mma.sync reads only a .tf32 register's top 19 bits
// (sign, exponent, 10 mantissa bits), so the hardware truncates for free what cvt.rna would round
// at one instruction per element. Truncation doubles the bound on each operand's error (2^-10
// relative instead of 2^-11); a NaN whose payload lies only in the low 13 bits reads as infinity.
__device__ inline uint32_t tf32_bits(float x) { return __float_as_uint(x); }

// 16 bytes to global memory (16-byte aligned) in one st.global.v4, written in PTX for the reason
// shared_float4 is: nvcc 13 wrote float4 stores of the GEMM epilogue differently from run to run.
__device__ inline void global_float4(float *at, float a, float b, float c, float d) {
    asm volatile("st.global.v4.f32 [%0], {%1, %2, %3, %4};\n" ::"l"(at), "f"(a), "f"(b), "f"(c), "f"(d) : "memory");
}

// 2^x by the special-function unit's ex2.approx (relative error about 2^-22; results under 2^-126
// flush to zero, inputs of -inf give 0): one MUFU where exp2f and expf spend about ten
// instructions on range reduction.
__device__ inline float exp2_approx(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
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

// Up to LIST_MAX tensors for one launch (TensorList.java builds it): entry e has n[e] elements,
// up to four operands ptr[0..3][e], and grid blocks block_start[e] .. block_start[e+1] − 1, each
// of which takes LIST_CHUNK consecutive elements.
#define LIST_MAX 48
#define LIST_CHUNK 4096

struct TensorList {
    int count;
    int block_start[LIST_MAX + 1];
    long long n[LIST_MAX];
    unsigned long long ptr[4][LIST_MAX];
};

// The entry block `block` works on, and the range [first, end) of its elements.
__device__ inline int list_entry(const TensorList &l, int block, long long &first, long long &end) {
    int e = 0;
    while (block >= l.block_start[e + 1]) e++;
    first = (long long) (block - l.block_start[e]) * LIST_CHUNK;
    end = min(l.n[e], first + LIST_CHUNK);
    return e;
}

// Offsets of linear (row-major) index i in operands a, b, c: peel dims from the last one.
// Tensors hold fewer than 2^31 elements (Tensor checks), so the index math runs in 32 bits:
// a 64-bit division costs the GPU several times as much, once per dim per element. A rank-1
// layout (every operand contiguous, or broadcast along the whole range) needs no division.
__device__ inline void strided_offsets(const Strides3 &s, long long index, long long &oa, long long &ob, long long &oc) {
    unsigned i = (unsigned) index;
    if (s.rank == 1) {
        oa = (long long) i * s.a[0];
        ob = (long long) i * s.b[0];
        oc = (long long) i * s.c[0];
        return;
    }
    oa = 0;
    ob = 0;
    oc = 0;
    for (int d = s.rank - 1; d >= 0; d--) {
        unsigned q = i / (unsigned) s.shape[d], r = i - q * (unsigned) s.shape[d];
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

// Max and sum over the 4 lanes that share a row of an mma fragment (lanes 4g .. 4g+3); every
// lane gets the same bits.
__device__ inline float quad_max(float v) {
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
    return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}

__device__ inline float quad_sum(float v) {
    v += __shfl_xor_sync(0xffffffffu, v, 1);
    return v + __shfl_xor_sync(0xffffffffu, v, 2);
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

// The float4 paths of the pointwise kernels need every pointer on a 16-byte boundary (null
// pointers, of outputs a kernel does not write, pass).
template <class... P>
__device__ inline bool aligned16(P... pointers) {
    return ((((uintptr_t) pointers) | ...) & 15) == 0;
}

// Grid-stride loop over [0, n).
#define FOR_EACH(i, n) for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < (n); \
                            i += (long long) gridDim.x * blockDim.x)

// A pointwise kernel's grid-stride loops over [0, n): four(i) takes elements i .. i+3 (i a
// multiple of 4) while all four lie in range and `wide` (its pointers allow 16-byte accesses
// there), one(i) takes element i for the rest.
template <class Four, class One>
__device__ inline void for_each_by_four(long long n, bool wide, Four &&four, One &&one) {
    long long n4 = wide ? n / 4 : 0;
    FOR_EACH(i, n4) four(4 * i);
    FOR_EACH(i, n - 4 * n4) one(4 * n4 + i);
}
