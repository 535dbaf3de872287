// Kernels that break CUDA's rules on purpose, so EmulatorSelfTest can check that the emulator
// reports them as faults instead of hanging or computing something.
#include "common.cuh"

// Half of each warp waits at __syncthreads while the other half waits in a shuffle: no barrier
// can ever complete.
extern "C" __global__ void split_warp_barriers(float *out) {
    float v = threadIdx.x;
    if ((threadIdx.x & 31) < 16) __syncthreads();
    else v = __shfl_xor_sync(0xffffffffu, v, 1);
    out[threadIdx.x] = v;
}

// A full-warp shuffle after half of the warp has returned.
extern "C" __global__ void shuffle_after_exit(float *out) {
    if ((threadIdx.x & 31) >= 16) return;
    out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (float) threadIdx.x, 1);
}

// The legal version: every lane swaps with its neighbour, and one block sum.
extern "C" __global__ void neighbour_swap_and_sum(float *out, float *sum) {
    __shared__ float scratch[32];
    float v = threadIdx.x;
    out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, v, 1);
    float s = block_sum(v, scratch);
    if (threadIdx.x == 0) *sum = s;
}

// Half a block at one __syncthreads, half at another: undefined in CUDA.
extern "C" __global__ void two_barriers(float *out) {
    if (threadIdx.x < 32) {
        __syncthreads();
    } else {
        __syncthreads();
    }
    out[threadIdx.x] = 1.0f;
}

// The lanes of a warp in two different shuffles.
extern "C" __global__ void two_shuffles(float *out) {
    float v = threadIdx.x;
    out[threadIdx.x] = (threadIdx.x & 1) ? __shfl_xor_sync(0xffffffffu, v, 2) : __shfl_xor_sync(0xffffffffu, v, 4);
}

// __syncthreads after half of every warp has returned.
extern "C" __global__ void barrier_after_partial_return(float *out) {
    if ((threadIdx.x & 31) >= 16) return;
    __syncthreads();
    out[threadIdx.x] = 1.0f;
}

// Reads shared memory before writing it: every block must see the poison (NaN), as a GPU block
// sees whatever was there, never the previous block's values.
extern "C" __global__ void read_shared_first(float *out) {
    __shared__ float s[64];
    out[blockIdx.x * blockDim.x + threadIdx.x] = s[threadIdx.x];
    __syncthreads();
    s[threadIdx.x] = 1.0f;
}

// A 16-byte load from an address 4 bytes past a 16-byte boundary: a misaligned-address fault on
// the GPU, where x86 would load it quietly.
extern "C" __global__ void misaligned_vector_load(float *out) {
    float4 v = *(const float4 *) (out + 1 + 4 * threadIdx.x);
    out[threadIdx.x] = v.x;
}

// Thread 63 indexes one past the end of a 63-float shared array.
extern "C" __global__ void shared_index_past_the_end(float *out) {
    __shared__ float s[63];
    if (threadIdx.x < 63) s[threadIdx.x] = 1.0f;
    __syncthreads();
    out[threadIdx.x] = s[threadIdx.x];
}

// 128 threads each write a float into a block of 64 floats: thread 64 writes past its end.
extern "C" __global__ void write_past_the_block(float *out) { out[threadIdx.x] = 1.0f; }

// Launched with dynamic shared memory for one float fewer than there are threads.
extern "C" __global__ void write_past_dynamic_shared(float *out) {
    DYNAMIC_SHARED(float, s);
    s[threadIdx.x] = 1.0f;
    __syncthreads();
    out[threadIdx.x] = s[0];
}
