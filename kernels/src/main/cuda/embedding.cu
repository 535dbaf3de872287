// Embedding lookup and its deterministic backward.
//   forward:  out[t, :] = weight[ids[t], :]
//   backward: dW[v, :] = Σ_{t : ids[t] = v} dy[t, :], summed in increasing t, as the CPU does.
// The host sorts token positions by id (ids are on the host anyway for the range check) into
// segments: unique ids u_0 < u_1 < ..., segment s holding positions order[start[s]..start[s+1])
// in increasing order. The count of segments is read from device memory and the grid is sized
// for one segment per token, so a captured step's launch fits any batch of its shape. Threads own (segment, column) pairs: no two threads write the same
// element, so no atomics and the same bits on every run. Rows of unused ids stay zero.
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

// Block (32) of grid (segments, column groups): a lane owns one column of a segment and adds its
// positions in order, with eight loads in flight at a time so a long segment (every token has
// token type 0) is not one memory latency per position.
template <typename T>
__device__ inline void embedding_backward_kernel(const T *dy, const int *segment_ids, const int *segment_start,
                                                 const int *order, T *dw, const int *segment_count, int h) {
    int c = blockIdx.y * 32 + threadIdx.x, segments = *segment_count;
    if (c >= h) return;
    for (int s = blockIdx.x; s < segments; s += gridDim.x) {
        int k = segment_start[s], last = segment_start[s + 1];
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

extern "C" __global__ void embedding_backward_f32(const float *dy, const int *segment_ids, const int *segment_start,
                                                  const int *order, float *dw, const int *segment_count, int h) {
    embedding_backward_kernel<float>(dy, segment_ids, segment_start, order, dw, segment_count, h);
}

extern "C" __global__ void embedding_backward_f64(const double *dy, const int *segment_ids, const int *segment_start,
                                                  const int *order, double *dw, const int *segment_count, int h) {
    embedding_backward_kernel<double>(dy, segment_ids, segment_start, order, dw, segment_count, h);
}
