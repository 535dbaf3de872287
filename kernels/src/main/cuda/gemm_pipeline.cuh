// What the tensor-core GEMM families (gemm.cu: float32 as TF32; gemm_half.cu: BF16/F16) share,
// so that each reads as its math: the block's share of a batched, K-split product, the staging
// of operand tiles into shared memory with cp.async, the ring of stages that overlaps those
// copies with the tensor cores, and the test that picks 16-byte copies.
#pragma once
#include "common.cuh"

// The part of the product a block of a GEMM grid computes: grid z is batch entry × K split
// (z = batch·splits + split), split s covers k in [s·k_chunk, (s+1)·k_chunk).
struct GemmSlice {
    int z, batch, k_begin, k_end;
};

__device__ inline GemmSlice gemm_slice(int K, int splits, int k_chunk) {
    int z = blockIdx.z, k_begin = (z % splits) * k_chunk;
    return {z, z / splits, k_begin, min(K, k_begin + k_chunk)};
}

// A 16-byte chunk of a tile is swizzled by S(row >> SHIFT), S(x) = x0 + 4·x1 for the two low bits
// of x, so that reads of [16][128] float tiles by rows hit distinct banks (gemm.cu). SHIFT < 0:
// not swizzled. col counts elements of 4 bytes.
template <int SHIFT>
__device__ inline int swizzled(int row, int col) {
    if (SHIFT < 0) return col;
    int x = (row >> (SHIFT < 0 ? 0 : SHIFT)) & 3;
    return (((col >> 2) ^ ((x & 1) | ((x & 2) << 1))) << 2) | (col & 3);
}

// Queues the copy of one tile, ROWS × COLS elements of type T from a row-major matrix (rows
// row0.., columns col0.., leading dimension ld) into shared memory rows of PITCH elements, VEC
// elements a copy: 16 bytes by cp.async, or one element (cp.async for 4 bytes, through a
// register for 2). Elements past row_end or col_end are zeros, so edge tiles need no other care;
// with 16-byte copies the host guarantees col_end and every row start are multiples of VEC, so a
// chunk is wholly inside or wholly outside. Only 16-byte copies are unrolled: the narrow ones'
// addresses would not all fit in registers.
template <class T, int THREADS, int ROWS, int COLS, int PITCH, int VEC, int SHIFT>
__device__ inline void copy_tile(T *dst, const T *src, long long ld, int row0, int row_end, int col0, int col_end) {
    constexpr int PER_ROW = COLS / VEC, CHUNKS = ROWS * PER_ROW;
    constexpr bool wide = VEC * sizeof(T) == 16;
    static_assert(wide || VEC == 1, "16-byte copies or single elements");
    static_assert(CHUNKS % THREADS == 0, "every thread copies the same number of chunks");
    [[maybe_unused]] constexpr int UNROLL = wide ? CHUNKS / THREADS : 1;
#pragma unroll UNROLL
    for (int i = 0; i < CHUNKS / THREADS; i++) {
        int chunk = threadIdx.x + i * THREADS, r = chunk / PER_ROW, c = (chunk % PER_ROW) * VEC;
        bool inside = row0 + r < row_end && col0 + c < col_end;
        const T *from = inside ? src + (long long) (row0 + r) * ld + col0 + c : src;
        T *to = dst + r * PITCH + swizzled<SHIFT>(r, c);
        // cp.async moves bytes: the float pointers only carry the addresses
        if constexpr (wide) cp_async_16((float *) to, (const float *) from, inside);
        else if constexpr (sizeof(T) == 4) cp_async_4((float *) to, (const float *) from, inside);
        else *to = inside ? *from : (T) 0;
    }
}

// The ring of STAGES shared-memory stages over the slice's K tiles of BK: stage kt % STAGES holds
// K tile kt. load(stage, k0) queues a tile's copies, compute(stage) runs the tensor cores on one.
// One commit group per tile (empty past the end), so "all but the newest STAGES-2 groups have
// landed" means tile kt has; while the tensor cores work on it, the next STAGES-1 are in flight.
template <int STAGES, int BK, class Load, class Compute>
__device__ __forceinline__ void pipeline(const GemmSlice &slice, Load &&load, Compute &&compute) {
    const int tiles = (slice.k_end - slice.k_begin + BK - 1) / BK;
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < tiles) load(s, slice.k_begin + s * BK);
        cp_async_commit();
    }
    for (int kt = 0; kt < tiles; kt++) {
        cp_async_wait<STAGES - 2>();
        __syncthreads();  // tile kt is everyone's to read, and tile kt-1's stage is free again
        int next = kt + STAGES - 1;
        if (next < tiles) load(next % STAGES, slice.k_begin + next * BK);
        cp_async_commit();
        compute(kt % STAGES);
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
