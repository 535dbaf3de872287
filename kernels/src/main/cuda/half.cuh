// The 16-bit float formats: CUDA's bfloat16 and half types and conversions, and the tensor-core
// instructions on them (sm_80+). The tests' CPU emulator supplies the same names in
// cuda_emulation.h, with the fragment tables spelled out.
#pragma once
#include <stdint.h>

#ifdef __CUDACC__
#include <cuda_bf16.h>
#include <cuda_fp16.h>

// ldmatrix: COUNT 8×8 matrices of 16-bit elements from shared memory, row ρ of matrix i at the
// 16-byte-aligned address lane 8i + ρ gives. Register i of lane l gets row l/4, columns 2(l%4)
// and 2(l%4)+1 of matrix i; with .trans, column l/4, rows 2(l%4) and 2(l%4)+1.
#define LDMATRIX(name, count, trans, ...)                                                                      \
    __device__ inline void name(uint32_t (&r)[count], const void *row) {                                       \
        unsigned s = (unsigned) __cvta_generic_to_shared(row);                                                 \
        asm volatile("ldmatrix.sync.aligned.m8n8.x" #count trans ".shared.b16 " __VA_ARGS__ : "memory");       \
    }
LDMATRIX(ldmatrix_x1, 1, "", "{%0}, [%1];" : "=r"(r[0]) : "r"(s))
LDMATRIX(ldmatrix_x2, 2, "", "{%0, %1}, [%2];" : "=r"(r[0]), "=r"(r[1]) : "r"(s))
LDMATRIX(ldmatrix_x4, 4, "", "{%0, %1, %2, %3}, [%4];" : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(s))
LDMATRIX(ldmatrix_x1_trans, 1, ".trans", "{%0}, [%1];" : "=r"(r[0]) : "r"(s))
LDMATRIX(ldmatrix_x2_trans, 2, ".trans", "{%0, %1}, [%2];" : "=r"(r[0]), "=r"(r[1]) : "r"(s))
LDMATRIX(ldmatrix_x4_trans, 4, ".trans", "{%0, %1, %2, %3}, [%4];" : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3]) : "r"(s))
#undef LDMATRIX

// D = A·B + D for one 16×8×16 step, float32 accumulation. Fragment ownership, g = lane/4,
// t = lane%4, each register two elements along k (the lower k in the low half):
//   a0 (g, 2t)  a1 (g+8, 2t)  a2 (g, 2t+8)  a3 (g+8, 2t+8)     rows m, cols k of the 16×16 A tile
//   b0 (2t, g)  b1 (2t+8, g)                                   rows k, cols n of the 16×8 B tile
//   d0 (g, 2t) d1 (g, 2t+1) d2 (g+8, 2t) d3 (g+8, 2t+1)         rows m, cols n of the 16×8 C tile
#define MMA_M16N8K16(name, type)                                                                              \
    __device__ inline void name(float d[4], const uint32_t a[4], const uint32_t b[2]) {                       \
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32." type "." type ".f32 "                           \
                     "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"                       \
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])                                          \
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));                      \
    }
MMA_M16N8K16(mma_bf16, "bf16")
MMA_M16N8K16(mma_f16, "f16")
#undef MMA_M16N8K16

// Two floats rounded to nearest in one format as one register, lo in the low half: one cvt of
// the pair (sm_80+) where two conversions, a shift and an or would do the same.
__device__ inline uint32_t pack_bf16x2(float lo, float hi) {
    uint32_t r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}

__device__ inline uint32_t pack_f16x2(float lo, float hi) {
    uint32_t r;
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}
#endif

// An element of any of our formats as float32 (exact), and a float32 stored as one (the 16-bit
// formats rounded to nearest).
__device__ inline float to_float(float x) { return x; }
__device__ inline float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ inline float to_float(__half x) { return __half2float(x); }
__device__ inline void store_as(float *p, float x) { *p = x; }
__device__ inline void store_as(__nv_bfloat16 *p, float x) { *p = __float2bfloat16_rn(x); }
__device__ inline void store_as(__half *p, float x) { *p = __float2half_rn(x); }

// A 16-bit format's bit pattern as float32 (exact).
template <typename H> __device__ inline float widen_bits(uint32_t bits);
template <> __device__ inline float widen_bits<__nv_bfloat16>(uint32_t bits) { return __bfloat162float(__ushort_as_bfloat16((unsigned short) bits)); }
template <> __device__ inline float widen_bits<__half>(uint32_t bits) { return __half2float(__ushort_as_half((unsigned short) bits)); }

// Four consecutive elements at p in one access (p 16-byte aligned for float32, 8-byte for the
// 16-bit formats), as floats; store4 rounds them as store_as does.
__device__ inline float4 load4(const float *p) { return *(const float4 *) p; }
template <typename H>
__device__ inline float4 load4(const H *p) {
    uint2 u = *(const uint2 *) p;
    return make_float4(widen_bits<H>(u.x & 0xffff), widen_bits<H>(u.x >> 16), widen_bits<H>(u.y & 0xffff), widen_bits<H>(u.y >> 16));
}
__device__ inline void store4(float *p, float4 v) { *(float4 *) p = v; }
__device__ inline void store4(__nv_bfloat16 *p, float4 v) { *(uint2 *) p = make_uint2(pack_bf16x2(v.x, v.y), pack_bf16x2(v.z, v.w)); }
__device__ inline void store4(__half *p, float4 v) { *(uint2 *) p = make_uint2(pack_f16x2(v.x, v.y), pack_f16x2(v.z, v.w)); }
