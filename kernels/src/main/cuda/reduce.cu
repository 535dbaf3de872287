// Reductions, accumulated in double as the CPU backend does, each in a fixed order so a result
// never depends on timing (no atomics anywhere):
//  - reduce_rows: x[outer, inner] → out[outer], the reduced axes moved last by the caller;
//  - reduce_cols_partial / reduce_cols_final: x[rows, cols] → out[cols], leading axes of a
//    contiguous tensor (bias grads), over row chunks and then across them;
//  - argmax_rows: first index of the largest element of each row;
//  - sum_squares_partial (float64) / sum_squares_list (float32, up to 48 tensors a launch), then
//    sum_partials: Σ x², a deterministic two-pass sum.
// Op codes are the ordinals of Ops.Reduce: SUM, MEAN, MAX.
#include "common.cuh"
#include <math.h>

// acc with v folded in: a sum, or for MAX (op 2) the larger, NaN winning as in Java's Math.max.
__device__ inline double combine(int op, double acc, double v) {
    return op == 2 ? (v != v || acc != acc ? v + acc : fmax(acc, v)) : acc + v;
}

// One block per output element; threads stride over the run, then a fixed tree combines them.
template <typename T>
__device__ inline void reduce_rows_kernel(int op, const T *x, T *out, int outer, int inner) {
    __shared__ double scratch[32];
    for (int row = blockIdx.x; row < outer; row += gridDim.x) {
        const T *r = x + (long long) row * inner;
        double acc = op == 2 ? -INFINITY : 0.0;
        for (int j = threadIdx.x; j < inner; j += blockDim.x) acc = combine(op, acc, (double) r[j]);
        acc = op == 2 ? block_max(acc, scratch) : block_sum(acc, scratch);
        if (threadIdx.x == 0) out[row] = (T) (op == 1 ? acc / inner : acc);
    }
}

extern "C" __global__ void reduce_rows_f32(int op, const float *x, float *out, int outer, int inner) {
    reduce_rows_kernel<float>(op, x, out, outer, inner);
}

extern "C" __global__ void reduce_rows_f64(int op, const double *x, double *out, int outer, int inner) {
    reduce_rows_kernel<double>(op, x, out, outer, inner);
}

// Column reduction in two passes, so that a tall matrix (a bias gradient sums 4096 rows) keeps
// the whole GPU busy. Pass 1: block (32, 8) of grid (column groups, row chunks) covers 32 columns
// of chunk_rows rows; row group ty takes rows ty, ty+8, ... in order, then the 8 partials are
// combined in a fixed order into partial[chunk][column]. Loads are coalesced per row.
template <typename T>
__device__ inline void reduce_cols_partial_kernel(int op, const T *x, double *partial, int rows, int cols, int chunk_rows) {
    __shared__ double part[8][33];
    int c = blockIdx.x * 32 + threadIdx.x, first = blockIdx.y * chunk_rows, end = min(rows, first + chunk_rows);
    double acc = op == 2 ? -INFINITY : 0.0;
    if (c < cols) {
        for (int r = first + threadIdx.y; r < end; r += 8) acc = combine(op, acc, (double) x[(long long) r * cols + c]);
    }
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
        double total = part[0][threadIdx.x];
        for (int g = 1; g < 8; g++) total = combine(op, total, part[g][threadIdx.x]);
        partial[(long long) blockIdx.y * cols + c] = total;
    }
}

// Pass 2: one thread per column combines the chunks in order.
template <typename T>
__device__ inline void reduce_cols_final_kernel(int op, const double *partial, T *out, int chunks, int rows, int cols) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= cols) return;
    double total = partial[c];
    for (int k = 1; k < chunks; k++) total = combine(op, total, partial[(long long) k * cols + c]);
    out[c] = (T) (op == 1 ? total / rows : total);
}

extern "C" __global__ void reduce_cols_partial_f32(int op, const float *x, double *partial, int rows, int cols, int chunk_rows) {
    reduce_cols_partial_kernel<float>(op, x, partial, rows, cols, chunk_rows);
}

extern "C" __global__ void reduce_cols_partial_f64(int op, const double *x, double *partial, int rows, int cols, int chunk_rows) {
    reduce_cols_partial_kernel<double>(op, x, partial, rows, cols, chunk_rows);
}

extern "C" __global__ void reduce_cols_final_f32(int op, const double *partial, float *out, int chunks, int rows, int cols) {
    reduce_cols_final_kernel<float>(op, partial, out, chunks, rows, cols);
}

extern "C" __global__ void reduce_cols_final_f64(int op, const double *partial, double *out, int chunks, int rows, int cols) {
    reduce_cols_final_kernel<double>(op, partial, out, chunks, rows, cols);
}

// One warp per row. Each lane keeps its best (value, index); pairs combine by the larger value,
// the smaller index on ties, which is the CPU's "first largest" scan.
template <typename T>
__device__ inline void argmax_kernel(const T *x, int *out, int rows, int len) {
    int warps_per_block = blockDim.x >> 5, lane = threadIdx.x & 31;
    for (long long row = (long long) blockIdx.x * warps_per_block + (threadIdx.x >> 5); row < rows;
         row += (long long) gridDim.x * warps_per_block) {
        const T *r = x + row * len;
        T best = r[0];
        int best_index = 0;
        for (int j = lane; j < len; j += 32) {
            T v = r[j];
            if (v > best || (v == best && j < best_index)) {
                best = v;
                best_index = j;
            }
        }
        for (int o = 16; o > 0; o >>= 1) {
            T v = __shfl_xor_sync(0xffffffffu, best, o);
            int j = __shfl_xor_sync(0xffffffffu, best_index, o);
            if (v > best || (v == best && j < best_index)) {
                best = v;
                best_index = j;
            }
        }
        if (lane == 0) out[row] = best_index;
    }
}

extern "C" __global__ void argmax_rows_f32(const float *x, int *out, int rows, int len) {
    argmax_kernel<float>(x, out, rows, len);
}

extern "C" __global__ void argmax_rows_f64(const double *x, int *out, int rows, int len) {
    argmax_kernel<double>(x, out, rows, len);
}

// Σ x²: block b sums the fixed chunk [b·chunk, (b+1)·chunk) into partial[b] ...
template <typename T>
__device__ inline void sum_squares_partial_kernel(const T *x, double *partial, long long n, long long chunk) {
    __shared__ double scratch[32];
    long long start = blockIdx.x * chunk, end = min(n, start + chunk);
    double acc = 0;
    for (long long i = start + threadIdx.x; i < end; i += blockDim.x) {
        double v = (double) x[i];
        acc += v * v;
    }
    acc = block_sum(acc, scratch);
    if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

extern "C" __global__ void sum_squares_partial_f64(const double *x, double *partial, long long n, long long chunk) {
    sum_squares_partial_kernel<double>(x, partial, n, chunk);
}

// The same partial sums over a list of tensors (ptr[0]), block b of the launch writing
// partial[first_partial + b]: a gradient norm in one launch per 48 parameters.
extern "C" __global__ void sum_squares_list_f32(TensorList l, double *partial, int first_partial) {
    __shared__ double scratch[32];
    long long first, end;
    int e = list_entry(l, blockIdx.x, first, end);
    const float *x = (const float *) l.ptr[0][e];
    double acc = 0;
    for (long long i = first + threadIdx.x; i < end; i += blockDim.x) {
        double v = (double) x[i];
        acc += v * v;
    }
    acc = block_sum(acc, scratch);
    if (threadIdx.x == 0) partial[first_partial + blockIdx.x] = acc;
}

// ... and one block adds the partials in a fixed order.
extern "C" __global__ void sum_partials(const double *partial, double *out, int count) {
    __shared__ double scratch[32];
    double acc = 0;
    for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partial[i];
    acc = block_sum(acc, scratch);
    if (threadIdx.x == 0) out[0] = acc;
}

// What the host decides after an update's backward pass, decided on the device instead (one
// thread): out = {loss, ‖g‖ = √sum_squares, the clipping coefficient, skip}. The coefficient is
// torch.nn.utils.clip_grad_norm_'s max_norm / (‖g‖ + 1e-6) where that is below 1 (and max_norm > 0),
// else 1, rounded to float32 as torch's is (Backend.clipCoefficient); skip is 1 when the loss or
// the norm is not finite. Plain IEEE double operations, no product to contract into an FMA: the
// host's Java arithmetic gives the same bits.
//
// halted (null, or a word the caller keeps across updates, 0 at first) makes a skip final: once an
// update is skipped it is set, and every later update guarded by it is skipped too. So the host may
// queue the next update before it reads this one's guard, and a run that stops at a non-finite
// update leaves the weights as that update found them.
extern "C" __global__ void update_guard(const double *loss, const double *sum_squares, double max_norm, double *halted, double *out) {
    if (threadIdx.x != 0 || blockIdx.x != 0) return;
    double norm = sqrt(sum_squares[0]), coef = max_norm / (norm + 1e-6);
    bool skip = !(isfinite(loss[0]) && isfinite(norm)) || (halted != nullptr && *halted != 0);
    if (halted != nullptr && skip) *halted = 1;
    out[0] = loss[0];
    out[1] = norm;
    out[2] = max_norm > 0 && coef < 1 ? (double) (float) coef : 1.0;
    out[3] = skip ? 1.0 : 0.0;
}
