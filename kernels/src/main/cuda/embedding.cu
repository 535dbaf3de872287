// Embedding lookup and its deterministic backward.
//   forward:  out[t, :] = weight[ids[t], :]
//   backward: dW[v, :] = Σ_{t : ids[t] = v} dy[t, :], summed in increasing t, as the CPU does.
// The host sorts token positions by id (ids are on the host anyway for the range check) into
// segments: unique ids u_0 < u_1 < ..., segment s holding positions order[start[s]..start[s+1])
// in increasing order. The counts of segments are read from device memory and the grids are sized
// for one segment per token, so a captured step's launches fit any batch of its shape. Threads
// own (segment, column) pairs: no two threads write the same element, so no atomics and the same
// bits on every run. Rows of unused ids stay zero.
#include "common.cuh"

extern "C" __global__ void embedding_4(const uint32_t *weight, const int *ids, uint32_t *out, int tokens, int h) {
    long long n = (long long) tokens * h;
    FOR_EACH(i, n) {
        long long t = i / h;
        int c = (int) (i - t * h);
        out[i] = weight[(long long) ids[t] * h + c];
    }
}

extern "C" __global__ void embedding_8(const unsigned long long *weight, const int *ids, unsigned long long *out, int tokens, int h) {
    long long n = (long long) tokens * h;
    FOR_EACH(i, n) {
        long long t = i / h;
        int c = (int) (i - t * h);
        out[i] = weight[(long long) ids[t] * h + c];
    }
}

// A segment of LONG_SEGMENT positions or more (every token of token type 0; a padded batch's
// padding) takes the other kernel: with a warp's eight loads in flight a time, the token-type
// segment of a 32 × 512 batch took 0.8 ms on an H200.
#define LONG_SEGMENT 256

// Block (32) of grid (segments, column groups): a lane owns one column of a segment and adds its
// positions in order, with eight loads in flight at a time. counts: [segments, long segments].
template <typename T>
__device__ inline void embedding_backward_kernel(const T *dy, const int *segment_ids, const int *segment_start,
                                                 const int *order, T *dw, const int *counts, int h) {
    int c = blockIdx.y * 32 + threadIdx.x, segments = counts[0];
    if (c >= h) return;
    for (int s = blockIdx.x; s < segments; s += gridDim.x) {
        int k = segment_start[s], last = segment_start[s + 1];
        if (last - k >= LONG_SEGMENT) continue;
        T acc = 0;
        for (; k + 8 <= last; k += 8) {
            T v[8];
            for (int j = 0; j < 8; j++) v[j] = dy[(long long) order[k + j] * h + c];
            for (int j = 0; j < 8; j++) acc += v[j];
        }
        for (; k < last; k++) acc += dy[(long long) order[k] * h + c];
        dw[(long long) segment_ids[s] * h + c] = acc;
    }
}

// Block (32, LONG_WARPS) of grid (long segments, column groups): the sum is still one lane's per
// column, in position order, but the rows come CHUNK_ROWS at a time through shared memory, fetched
// by warps 1.. (eight each, in flight together) while warp 0 adds the chunk before: the loads of
// 64 positions cost about one memory latency instead of eight.
#define LONG_WARPS 9
#define CHUNK_ROWS (8 * (LONG_WARPS - 1))
template <typename T>
__device__ inline void embedding_backward_long_kernel(const T *dy, const int *segment_ids, const int *segment_start,
                                                      const int *order, const int *long_segments, T *dw, const int *counts,
                                                      int h) {
    __shared__ T rows[2][CHUNK_ROWS][32];
    if ((int) blockIdx.x >= counts[1]) return;  // the whole block
    const int c = blockIdx.y * 32 + threadIdx.x, warp = threadIdx.y, s = long_segments[blockIdx.x];
    const int first = segment_start[s], last = segment_start[s + 1];
    auto fetch = [&](int buffer, int k0) {  // warps 1..: rows k0 + 8(warp − 1) .. + 7
        T v[8];
        #pragma unroll
        for (int j = 0; j < 8; j++) {
            int k = k0 + 8 * (warp - 1) + j;
            v[j] = k < last && c < h ? dy[(long long) order[k] * h + c] : (T) 0;
        }
        #pragma unroll
        for (int j = 0; j < 8; j++) rows[buffer][8 * (warp - 1) + j][threadIdx.x] = v[j];
    };
    if (warp > 0) fetch(0, first);
    T acc = 0;
    for (int k0 = first, buffer = 0; k0 < last; k0 += CHUNK_ROWS, buffer ^= 1) {
        __syncthreads();  // chunk k0 is in rows[buffer]; warp 0 is done with the other buffer
        if (warp > 0) {
            if (k0 + CHUNK_ROWS < last) fetch(buffer ^ 1, k0 + CHUNK_ROWS);
        } else {
            for (int r = 0, n = min(CHUNK_ROWS, last - k0); r < n; r++) acc += rows[buffer][r][threadIdx.x];
        }
    }
    if (warp == 0 && c < h) dw[(long long) segment_ids[s] * h + c] = acc;
}

#define EMBEDDING_BACKWARD(T, suffix)                                                                                       \
    extern "C" __global__ void embedding_backward_##suffix(const T *dy, const int *segment_ids, const int *segment_start,  \
                                                           const int *order, T *dw, const int *counts, int h) {           \
        embedding_backward_kernel<T>(dy, segment_ids, segment_start, order, dw, counts, h);                                 \
    }                                                                                                                       \
    extern "C" __global__ void __launch_bounds__(32 * LONG_WARPS) embedding_backward_long_##suffix(                        \
        const T *dy, const int *segment_ids, const int *segment_start, const int *order, const int *long_segments, T *dw,   \
        const int *counts, int h) {                                                                                         \
        embedding_backward_long_kernel<T>(dy, segment_ids, segment_start, order, long_segments, dw, counts, h);             \
    }
EMBEDDING_BACKWARD(float, f32)
EMBEDDING_BACKWARD(double, f64)
