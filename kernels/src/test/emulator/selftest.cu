// Kernels that break CUDA's rules on purpose, so EmulatorSelfTest can check that the emulator
// reports them as faults instead of hanging or computing something.
#include "common.cuh"
#include "half.cuh"

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

// One m16n8k16 product per format from fragments built by hand from the PTX ISA's table (not by
// ldmatrix): a is 16×16 row-major, b 16×8 row-major ([k][n]), d 16×8 row-major, 16-bit patterns in.
template <bool BF16>
__device__ void one_mma(const uint16_t *a, const uint16_t *b, float *d) {
    int lane = threadIdx.x, g = lane >> 2, t = lane & 3;
    auto pair = [](uint16_t lo, uint16_t hi) { return (uint32_t) lo | (uint32_t) hi << 16; };
    uint32_t af[4], bf[2];
    for (int j = 0; j < 4; j++) {
        int row = g + 8 * (j & 1), k = 2 * t + 8 * (j >> 1);
        af[j] = pair(a[row * 16 + k], a[row * 16 + k + 1]);
    }
    for (int j = 0; j < 2; j++) {
        int k = 2 * t + 8 * j;
        bf[j] = pair(b[k * 8 + g], b[(k + 1) * 8 + g]);
    }
    float acc[4] = {0.5f, 0.5f, 0.5f, 0.5f};  // D = A·B + C with C = 0.5
    if (BF16) mma_bf16(acc, af, bf);
    else mma_f16(acc, af, bf);
    for (int i = 0; i < 4; i++) d[(g + 8 * (i >> 1)) * 8 + 2 * t + (i & 1)] = acc[i];
}

extern "C" __global__ void one_mma_bf16(const uint16_t *a, const uint16_t *b, float *d) { one_mma<true>(a, b, d); }
extern "C" __global__ void one_mma_f16(const uint16_t *a, const uint16_t *b, float *d) { one_mma<false>(a, b, d); }

// Four 8×8 matrices of 16-bit values (src, matrix i at i·64, rows of 8) through shared memory
// rows of 24 elements, loaded by every ldmatrix form; out[form][lane][register] gets the words.
extern "C" __global__ void ldmatrix_forms(const uint16_t *src, uint32_t *out) {
    alignas(16) __shared__ uint16_t tile[32][24];
    int lane = threadIdx.x;
    for (int e = lane; e < 256; e += 32) tile[e / 8][e % 8] = src[e];
    __syncthreads();
    const uint16_t *row = &tile[lane][0];  // lane 8i + ρ: row ρ of matrix i
    uint32_t r1[1], r2[2], r4[4];
    ldmatrix_x1(r1, row);
    out[(0 * 32 + lane) * 4] = r1[0];
    ldmatrix_x2(r2, row);
    for (int i = 0; i < 2; i++) out[(1 * 32 + lane) * 4 + i] = r2[i];
    ldmatrix_x4(r4, row);
    for (int i = 0; i < 4; i++) out[(2 * 32 + lane) * 4 + i] = r4[i];
    ldmatrix_x1_trans(r1, row);
    out[(3 * 32 + lane) * 4] = r1[0];
    ldmatrix_x2_trans(r2, row);
    for (int i = 0; i < 2; i++) out[(4 * 32 + lane) * 4 + i] = r2[i];
    ldmatrix_x4_trans(r4, row);
    for (int i = 0; i < 4; i++) out[(5 * 32 + lane) * 4 + i] = r4[i];
}
