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
#endif
