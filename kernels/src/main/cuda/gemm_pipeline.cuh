// What the tensor-core GEMM families (gemm.cu: float32 as TF32; gemm_half.cu: BF16/F16) share,
// so that each reads as its math: the block's share of a batched, K-split product, the staging
// of operand tiles into shared memory with cp.async (through cp_async_ring.cuh's ring of stages),
// and the test that picks 16-byte copies.
#pragma once
#include "cp_async_ring.cuh"

// The epilogues a single product may go through as C is written (gemm.cu says what each does; the
// half kernels have EPI_GELU for x·Wᵀ with C in their format and EPI_ADD with float32 C).
#define EPI_PLAIN 0
#define EPI_GELU 1
#define EPI_GELU_GRAD 2
#define EPI_ADD 3

// The part of the product a block of a GEMM grid computes: grid z is batch entry × K split
// (z = batch·splits + split), split s covers k in [s·k_chunk, (s+1)·k_chunk).
struct GemmSlice {
    int z, batch, k_begin, k_end;
};

__device__ inline GemmSlice gemm_slice(int K, int splits, int k_chunk) {
    int z = blockIdx.z, k_begin = (z % splits) * k_chunk;
    return {z, z / splits, k_begin, min(K, k_begin + k_chunk)};
}

// Swizzles of a tile's 16-byte chunks: chunk q of tile row r sits at q ^ mask(r), so that a warp's
// reads hit distinct banks (gemm.cu derives each). With S(x) = x0 + 4·x1 of the two low bits of x:
//   SWIZZLE_K      S(r)               [BK][128] float tiles read 16 bytes a lane by k rows (tn)
//   SWIZZLE_K4     S(r >> 2)          the same, four consecutive k rows per lane group (nn's B)
//   SWIZZLE_K_WORD 2·(r mod 4)        [BK][128] float tiles read 4 bytes a lane (tt's A)
//   SWIZZLE_ROWS   4·r0 + (r >> 1) mod 4   [128][32] float tiles, rows of 128 bytes (A or B with k contiguous)
// SWIZZLE_NONE leaves rows as they are. col counts elements of 4 bytes.
#define SWIZZLE_NONE 0
#define SWIZZLE_K 1
#define SWIZZLE_K4 2
#define SWIZZLE_K_WORD 3
#define SWIZZLE_ROWS 4

template <int SWIZZLE>
__device__ inline int swizzled(int row, int col) {
    if (SWIZZLE == SWIZZLE_NONE) return col;
    int mask;
    if (SWIZZLE == SWIZZLE_ROWS) {
        mask = 4 * (row & 1) + ((row >> 1) & 3);
    } else {
        int x = (SWIZZLE == SWIZZLE_K4 ? row >> 2 : row) & 3;
        mask = SWIZZLE == SWIZZLE_K_WORD ? 2 * x : (x & 1) | ((x & 2) << 1);
    }
    return (((col >> 2) ^ mask) << 2) | (col & 3);
}

// Queues the copy of one tile, ROWS × COLS elements of type T from a row-major matrix (rows
// row0.., columns col0.., leading dimension ld) into shared memory rows of PITCH elements, VEC
// elements a copy: 16 bytes by cp.async, or one element (cp.async for 4 bytes, through a
// register for 2). Elements past row_end or col_end are zeros, so edge tiles need no other care;
// with 16-byte copies the host guarantees col_end and every row start are multiples of VEC, so a
// chunk is wholly inside or wholly outside. Only 16-byte copies are unrolled, 4 chunks a thread
// at a time: the narrow ones' addresses would not all fit in registers, and neither did the 8 of
// a [128][32] float tile (the TF32 GEMM spilled with all 16 of a stage unrolled).
template <class T, int THREADS, int ROWS, int COLS, int PITCH, int VEC, int SWIZZLE>
__device__ inline void copy_tile(T *dst, const T *src, long long ld, int row0, int row_end, int col0, int col_end) {
    constexpr int PER_ROW = COLS / VEC, CHUNKS = ROWS * PER_ROW;
    constexpr bool wide = VEC * sizeof(T) == 16;
    static_assert(wide || VEC == 1, "16-byte copies or single elements");
    static_assert(CHUNKS % THREADS == 0, "every thread copies the same number of chunks");
    [[maybe_unused]] constexpr int UNROLL = wide ? (CHUNKS / THREADS < 4 ? CHUNKS / THREADS : 4) : 1;
#pragma unroll UNROLL
    for (int i = 0; i < CHUNKS / THREADS; i++) {
        int chunk = threadIdx.x + i * THREADS, r = chunk / PER_ROW, c = (chunk % PER_ROW) * VEC;
        bool inside = row0 + r < row_end && col0 + c < col_end;
        const T *from = inside ? src + (long long) (row0 + r) * ld + col0 + c : src;
        T *to = dst + r * PITCH + swizzled<SWIZZLE>(r, c);
        // cp.async moves bytes: the float pointers only carry the addresses
        if constexpr (wide) cp_async_16((float *) to, (const float *) from, inside);
        else if constexpr (sizeof(T) == 4) cp_async_4((float *) to, (const float *) from, inside);
        else *to = inside ? *from : (T) 0;
    }
}

// A warp's 64×64 accumulators (4×8 mma tiles of 16×8), zeroed.
__device__ __forceinline__ void zero(float (&acc)[4][8][4]) {
    #pragma unroll
    for (int i = 0; i < 4; i++)
        #pragma unroll
        for (int j = 0; j < 8; j++)
            #pragma unroll
            for (int r = 0; r < 4; r++) acc[i][j][r] = 0.0f;
}

// Whether every tile row of both operands starts on a 16-byte boundary: base pointers, leading
// dimensions and batch strides in multiples of 16 bytes' worth of elements, and the contiguous
// extents too, so that a chunk is either wholly inside the matrix or wholly outside.
template <class T>
__device__ inline bool rows_of_16_bytes(bool ta, bool tb, int M, int N, int K, const T *A, long long lda, long long stride_a,
                                        const T *B, long long ldb, long long stride_b) {
    constexpr int V = 16 / sizeof(T);
    bool a = ((uintptr_t) A & 15) == 0 && lda % V == 0 && stride_a % V == 0 && (ta ? M : K) % V == 0;
    bool b = ((uintptr_t) B & 15) == 0 && ldb % V == 0 && stride_b % V == 0 && (tb ? K : N) % V == 0;
    return a && b;
}
