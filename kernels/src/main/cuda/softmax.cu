// Row-wise softmax and log-softmax over the last axis, their backwards, and cross-entropy.
// One block per row; the max and the sums are block reductions in a fixed order.
//   softmax:      y = e^{x−m} / Σ e^{x−m},  m = max x (m = 0 for a row of −∞, which stays finite)
//   log-softmax:  y = x − m − log Σ e^{x−m}
//   backward:     dx = y ⊙ (dy − Σ dy⊙y)          (softmax)
//                 dx = dy − e^{y} · Σ dy          (log-softmax)
#include "common.cuh"
#include <math.h>

__device__ inline float exp_t(float v) { return expf(v); }
__device__ inline double exp_t(double v) { return exp(v); }
__device__ inline float log_t(float v) { return logf(v); }
__device__ inline double log_t(double v) { return log(v); }

template <typename T>
__device__ inline void softmax_kernel(const T *x, T *y, int rows, int len, int log_softmax) {
    __shared__ T scratch[32];
    for (int row = blockIdx.x; row < rows; row += gridDim.x) {
        const T *xr = x + (long long) row * len;
        T *yr = y + (long long) row * len;
        T m = -INFINITY;
        for (int j = threadIdx.x; j < len; j += blockDim.x) m = m > xr[j] ? m : xr[j];
        m = block_max(m, scratch);
        if (m == -INFINITY) m = 0;
        T sum = 0;
        for (int j = threadIdx.x; j < len; j += blockDim.x) sum += exp_t(xr[j] - m);
        sum = block_sum(sum, scratch);
        if (log_softmax) {
            T log_sum = log_t(sum);
            for (int j = threadIdx.x; j < len; j += blockDim.x) yr[j] = xr[j] - m - log_sum;
        } else {
            T inv = (T) 1 / sum;
            for (int j = threadIdx.x; j < len; j += blockDim.x) yr[j] = exp_t(xr[j] - m) * inv;
        }
    }
}

extern "C" __global__ void softmax_f32(const float *x, float *y, int rows, int len, int log_softmax) {
    softmax_kernel<float>(x, y, rows, len, log_softmax);
}

extern "C" __global__ void softmax_f64(const double *x, double *y, int rows, int len, int log_softmax) {
    softmax_kernel<double>(x, y, rows, len, log_softmax);
}

template <typename T>
__device__ inline void softmax_backward_kernel(const T *y, const T *dy, T *dx, int rows, int len, int log_softmax) {
    __shared__ T scratch[32];
    for (int row = blockIdx.x; row < rows; row += gridDim.x) {
        long long base = (long long) row * len;
        T acc = 0;
        for (int j = threadIdx.x; j < len; j += blockDim.x) acc += log_softmax ? dy[base + j] : dy[base + j] * y[base + j];
        acc = block_sum(acc, scratch);
        for (int j = threadIdx.x; j < len; j += blockDim.x) {
            dx[base + j] = log_softmax ? dy[base + j] - exp_t(y[base + j]) * acc : y[base + j] * (dy[base + j] - acc);
        }
    }
}

extern "C" __global__ void softmax_backward_f32(const float *y, const float *dy, float *dx, int rows, int len, int log_softmax) {
    softmax_backward_kernel<float>(y, dy, dx, rows, len, log_softmax);
}

extern "C" __global__ void softmax_backward_f64(const double *y, const double *dy, double *dx, int rows, int len, int log_softmax) {
    softmax_backward_kernel<double>(y, dy, dx, rows, len, log_softmax);
}

// Cross-entropy against the label smoothed by ε (torch's label_smoothing; ε = 0 is the plain
// loss). Per row: loss_r = logsumexp(x_r) − (1 − ε)·x_r[label_r] − ε·mean(x_r), or 0 for an
// ignored row (labels were range-checked on the host). Then one block adds the row losses in
// order and divides by the number of counted rows: the mean the CPU backend computes.
template <typename T>
__device__ inline T row_logsumexp(const T *xr, int len, T *scratch) {
    T m = -INFINITY;
    for (int j = threadIdx.x; j < len; j += blockDim.x) m = m > xr[j] ? m : xr[j];
    m = block_max(m, scratch);
    T sum = 0;
    for (int j = threadIdx.x; j < len; j += blockDim.x) sum += exp_t(xr[j] - m);
    sum = block_sum(sum, scratch);
    return m + log_t(sum);
}

template <typename T>
__device__ inline void cross_entropy_rows_kernel(const T *logits, const int *labels, T *row_loss, int rows,
                                                 int classes, int ignore_index, double smoothing) {
    __shared__ T scratch[32];
    for (int row = blockIdx.x; row < rows; row += gridDim.x) {
        int label = labels[row];
        if (label == ignore_index) {
            if (threadIdx.x == 0) row_loss[row] = 0;
            continue;
        }
        const T *xr = logits + (long long) row * classes;
        T lse = row_logsumexp(xr, classes, scratch);
        T loss = lse - xr[label];
        if (smoothing != 0) {   // the same on every thread of the block, so all of them reach block_sum
            T sum = 0;
            for (int j = threadIdx.x; j < classes; j += blockDim.x) sum += xr[j];
            sum = block_sum(sum, scratch);
            loss += (T) smoothing * (xr[label] - sum / classes);
        }
        if (threadIdx.x == 0) row_loss[row] = loss;
    }
}

extern "C" __global__ void cross_entropy_rows_f32(const float *logits, const int *labels, float *row_loss, int rows,
                                                  int classes, int ignore_index, double smoothing) {
    cross_entropy_rows_kernel<float>(logits, labels, row_loss, rows, classes, ignore_index, smoothing);
}

extern "C" __global__ void cross_entropy_rows_f64(const double *logits, const int *labels, double *row_loss, int rows,
                                                  int classes, int ignore_index, double smoothing) {
    cross_entropy_rows_kernel<double>(logits, labels, row_loss, rows, classes, ignore_index, smoothing);
}

// The rows whose label is not ignore_index, counted by the whole block: the device, not the
// host, knows the labels of a replayed step.
__device__ inline int counted_rows(const int *labels, int rows, int ignore_index, double *scratch) {
    double n = 0;
    for (int i = threadIdx.x; i < rows; i += blockDim.x) n += labels[i] != ignore_index;
    return (int) block_sum(n, scratch);
}

template <typename T>
__device__ inline void mean_of_rows_kernel(const T *row_loss, const int *labels, T *out, int rows, int ignore_index) {
    __shared__ double scratch[32];
    int counted = counted_rows(labels, rows, ignore_index, scratch);
    double acc = 0;
    for (int i = threadIdx.x; i < rows; i += blockDim.x) acc += (double) row_loss[i];
    acc = block_sum(acc, scratch);
    if (threadIdx.x == 0) out[0] = (T) (acc / counted);
}

extern "C" __global__ void mean_of_rows_f32(const float *row_loss, const int *labels, float *out, int rows, int ignore_index) {
    mean_of_rows_kernel<float>(row_loss, labels, out, rows, ignore_index);
}

extern "C" __global__ void mean_of_rows_f64(const double *row_loss, const int *labels, double *out, int rows, int ignore_index) {
    mean_of_rows_kernel<double>(row_loss, labels, out, rows, ignore_index);
}

// d loss / d x_rc = (softmax(x_r)_c − (1 − ε)·[c = label_r] − ε/C) · dLoss / counted; 0 for
// ignored rows. dLoss is read on the device, so the backward needs no host round trip.
template <typename T>
__device__ inline void cross_entropy_backward_kernel(const T *logits, const int *labels, const T *d_loss, T *dx,
                                                     int rows, int classes, int ignore_index, double smoothing) {
    __shared__ T scratch[32];
    __shared__ double count_scratch[32];
    T scale = d_loss[0] / (T) counted_rows(labels, rows, ignore_index, count_scratch);
    for (int row = blockIdx.x; row < rows; row += gridDim.x) {
        long long base = (long long) row * classes;
        int label = labels[row];
        if (label == ignore_index) {
            for (int c = threadIdx.x; c < classes; c += blockDim.x) dx[base + c] = 0;
            continue;
        }
        T lse = row_logsumexp(logits + base, classes, scratch);
        T on_label = (T) (1 - smoothing), spread = (T) (smoothing / classes);
        for (int c = threadIdx.x; c < classes; c += blockDim.x) {
            T p = exp_t(logits[base + c] - lse);
            dx[base + c] = (p - (c == label ? on_label : (T) 0) - spread) * scale;
        }
    }
}

extern "C" __global__ void cross_entropy_backward_f32(const float *logits, const int *labels, const float *d_loss, float *dx,
                                                      int rows, int classes, int ignore_index, double smoothing) {
    cross_entropy_backward_kernel<float>(logits, labels, d_loss, dx, rows, classes, ignore_index, smoothing);
}

extern "C" __global__ void cross_entropy_backward_f64(const double *logits, const int *labels, const double *d_loss, double *dx,
                                                      int rows, int classes, int ignore_index, double smoothing) {
    cross_entropy_backward_kernel<double>(logits, labels, d_loss, dx, rows, classes, ignore_index, smoothing);
}
