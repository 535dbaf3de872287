// Embedding lookup and its deterministic backward.
//   forward:  out[t, :] = weight[ids[t], :]
//   backward: dW[v, :] = Σ_{t : ids[t] = v} dy[t, :], summed in increasing t, as the CPU does.
// The host sorts token positions by id (ids are on the host anyway for the range check) into
// segments: unique ids u_0 < u_1 < ..., segment s holding positions order[start[s]..start[s+1])
// in increasing order. One block per segment, threads over columns: no two threads write the
// same element, so no atomics and the same bits on every run. Rows of unused ids stay zero.
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

template <typename T>
__device__ inline void embedding_backward_kernel(const T *dy, const int *segment_ids, const int *segment_start,
                                                 const int *order, T *dw, int segments, int h) {
    for (int s = blockIdx.x; s < segments; s += gridDim.x) {
        long long row = (long long) segment_ids[s] * h;
        int first = segment_start[s], last = segment_start[s + 1];
        for (int c = threadIdx.x; c < h; c += blockDim.x) {
            T acc = 0;
            for (int k = first; k < last; k++) acc += dy[(long long) order[k] * h + c];
            dw[row + c] = acc;
        }
    }
}

extern "C" __global__ void embedding_backward_f32(const float *dy, const int *segment_ids, const int *segment_start,
                                                  const int *order, float *dw, int segments, int h) {
    embedding_backward_kernel<float>(dy, segment_ids, segment_start, order, dw, segments, h);
}

extern "C" __global__ void embedding_backward_f64(const double *dy, const int *segment_ids, const int *segment_start,
                                                  const int *order, double *dw, int segments, int h) {
    embedding_backward_kernel<double>(dy, segment_ids, segment_start, order, dw, segments, h);
}
