// Enough of CUDA C for our kernels (kernels/src/main/cuda) to compile with g++ and run on the
// CPU, so the tests can execute the kernel source itself where there is no GPU.
//
// A launch runs its blocks one after another. Inside a block every CUDA thread is a fiber (a
// stack of its own) on the calling thread; __syncthreads and the warp-wide operations (shuffles,
// the tensor-core mma) are the only points where a fiber hands over, so the emulation is
// deterministic. Each warp runs as far as it can before the next one starts, and the schedule
// can run threads and blocks last to first: a __syncthreads missing between warps then shows as
// wrong results in one order or the other. What CUDA leaves undefined is a fault of the launch
// instead of a hang or a guess: threads at different barriers (two __syncthreads lines, a warp
// split between __syncthreads and a shuffle or between two different warp operations), a warp
// operation after lanes returned or in a warp of fewer than 32 threads, __syncthreads after part
// of a warp returned, launch shapes the driver refuses, the wrong number of arguments.
// The kernels are compiled with g++'s alignment and bounds checks, so an access misaligned for
// its type (a float4 off a 16-byte boundary) and an index past an array of known size (a
// __shared__ tile, a register array) fault the launch with the source line, where x86 would
// quietly go on. __shared__ arrays are function statics: one copy per kernel, right because
// blocks never overlap, and filled with 0xff bytes (NaN) before every block, so shared memory
// read before it is written shows.
//
// Device blocks and the launch's dynamic shared memory end at an inaccessible page, so a kernel
// that runs past either stops the process at that access (the JVM's crash report names the
// kernel), as a GPU would fault.
//
// What this cannot find either: races that need two warps interleaved between two barriers,
// accesses past a tensor that stay inside its allocator block or before a block's start, the
// GPU's speed, and differences in the last bits of expf/erff and FMA contraction.
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <cstddef>
#include <type_traits>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __shared__ static
#define __launch_bounds__(...)
#define __restrict__ __restrict

struct dim3 {
    unsigned x, y, z;
};

struct alignas(16) float4 {
    float x, y, z, w;
};

inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

struct alignas(8) uint2 {
    unsigned x, y;
};

inline uint2 make_uint2(unsigned x, unsigned y) { return uint2{x, y}; }

namespace emu {
extern dim3 block_idx, block_dim, grid_dim;
extern const dim3 *thread_idx;  // the running fiber's
int linear_thread();            // threadIdx.x + threadIdx.y·blockDim.x
int block_threads();
// Barriers. `site` names the operation: every thread meeting at one must be at the same one
// (the same __syncthreads line; the same kind of shuffle or the mma), or the launch faults.
void sync_block(int site);
void sync_warp(int site);       // every live lane of the running warp
// Ends the launch with this fault once the block stops (the running thread carries on meanwhile).
void fault(const char *what);

// cp.async: each thread's copies wait in its own queue, grouped by commits, and land only when
// the thread waits for their group (the latest moment CUDA allows), so reading shared memory
// before the wait shows the block's poison. A misaligned copy is a fault, as on the GPU.
void cp_async(void *dst, const void *src, int bytes, bool valid);
void cp_async_commit();
void cp_async_wait(int pending);
// The launch's dynamic shared memory, poisoned before every block like the static arrays.
extern unsigned char *dynamic_shared;

// Per-thread mailboxes for the warp-wide operations: each lane writes its own, syncs, reads others'.
extern uint64_t shuffle_slot[1024];
extern uint32_t mma_a[1024][4], mma_b[1024][2];

using Entry = void (*)(void **);
struct Registration {
    Registration(const char *name, Entry entry, std::size_t arity);
};

// Calls a kernel with arguments laid out as the driver's kernelParams: args[i] points at parameter i.
template <class... A, std::size_t... I>
void call(void (*kernel)(A...), void **args, std::index_sequence<I...>) {
    kernel(*static_cast<std::remove_cv_t<A> *>(args[I])...);
}

template <class... A>
constexpr std::size_t arity(void (*)(A...)) { return sizeof...(A); }

template <auto Kernel>
void invoke(void **args) {
    call(Kernel, args, std::make_index_sequence<arity(Kernel)>());
}
}  // namespace emu

#define threadIdx (*emu::thread_idx)
#define blockIdx emu::block_idx
#define blockDim emu::block_dim
#define gridDim emu::grid_dim

#define __syncthreads() emu::sync_block(__LINE__)

// Warp-wide operation sites, apart from __syncthreads's line numbers.
#define EMU_SITE_SHUFFLE (1 << 20)
#define EMU_SITE_MMA (1 << 21)
#define EMU_SITE_LDMATRIX (1 << 22)
#define EMU_SITE_SYNCWARP (1 << 23)

#define __syncwarp() emu::sync_warp(EMU_SITE_SYNCWARP + __LINE__)

template <class T>
T __shfl_xor_sync(unsigned /*mask: always the full warp in our kernels*/, T v, int lane_mask) {
    static_assert(sizeof(T) <= sizeof(uint64_t), "shuffle of at most 8 bytes");
    int me = emu::linear_thread(), partner = (me & ~31) | ((me & 31) ^ lane_mask);
    if (partner >= emu::block_threads()) emu::fault("__shfl_xor_sync reads a lane past the block's last thread");
    memcpy(&emu::shuffle_slot[me], &v, sizeof(T));
    emu::sync_warp(EMU_SITE_SHUFFLE + lane_mask);
    T r;
    memcpy(&r, &emu::shuffle_slot[partner < emu::block_threads() ? partner : me], sizeof(T));
    emu::sync_warp(EMU_SITE_SHUFFLE + lane_mask);  // nobody overwrites a mailbox before its readers are done
    return r;
}

inline void cp_async_16(float *dst, const float *src, bool valid) { emu::cp_async(dst, src, 16, valid); }
inline void cp_async_4(float *dst, const float *src, bool valid) { emu::cp_async(dst, src, 4, valid); }
inline void cp_async_commit() { emu::cp_async_commit(); }
template <int pending>
inline void cp_async_wait() { emu::cp_async_wait(pending); }
inline float4 shared_float4(const float *at) { return *reinterpret_cast<const float4 *>(at); }
#define DYNAMIC_SHARED(type, name) type *name = reinterpret_cast<type *>(emu::dynamic_shared)

// The GPU's rounded arithmetic that nvcc never contracts into a fused multiply-add; g++ does not
// contract here either (no FMA in the default x86-64 target).
inline float __fadd_rn(float a, float b) { return a + b; }

template <class A, class B>
inline auto min(A a, B b) { return a < b ? a : b; }
template <class A, class B>
inline auto max(A a, B b) { return a > b ? a : b; }

inline void sincospi(double x, double *s, double *c) {
    *s = sin(M_PI * x);
    *c = cos(M_PI * x);
}

// cuda_bf16.h and cuda_fp16.h, the part our kernels use: each format as its 16 bits. float to half
// is the compiler's own _Float16 conversion (IEEE, to nearest even); bfloat16 rounds the same
// way by hand; NaN becomes 0x7fff in both, the canonical NaN of cvt.rn.bf16.f32 and cvt.rn.f16.f32.
struct __nv_bfloat16 {
    uint16_t __x;
};
struct __half {
    uint16_t __x;
};

inline __nv_bfloat16 __float2bfloat16_rn(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return {0x7fff};
    return {(uint16_t) ((u + 0x7fffu + ((u >> 16) & 1u)) >> 16)};
}

inline float __bfloat162float(__nv_bfloat16 h) {
    uint32_t u = (uint32_t) h.__x << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

inline __half __float2half_rn(float f) {
    if (f != f) return {0x7fff};
    _Float16 v = (_Float16) f;
    __half h;
    memcpy(&h.__x, &v, 2);
    return h;
}

inline float __half2float(__half h) {
    _Float16 v;
    memcpy(&v, &h.__x, 2);
    return (float) v;
}

inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short bits) { return {bits}; }
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 h) { return h.__x; }
inline __half __ushort_as_half(unsigned short bits) { return {bits}; }
inline unsigned short __half_as_ushort(__half h) { return h.__x; }

// cvt.rna.tf32.f32: round to 10 mantissa bits, ties away from zero; NaN and infinity pass.
inline uint32_t to_tf32(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & 0xffffe000u;
    return u;
}

// A float32's bits as a TF32 operand, untouched: mma_tf32 drops the low 13 bits, as the hardware does.
inline uint32_t tf32_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    return u;
}

// ex2.approx.ftz.f32, with libm's exp2f for the approximation and the flush of results under
// 2^-126 to zero.
inline float exp2_approx(float x) {
    float y = exp2f(x);
    return y < 0x1p-126f ? 0.0f : y;
}

// cvt.rn.{bf16x2,f16x2}.f32: the pair rounded as the single conversions round, lo in the low half.
inline uint32_t pack_bf16x2(float lo, float hi) {
    return __bfloat16_as_ushort(__float2bfloat16_rn(lo)) | (uint32_t) __bfloat16_as_ushort(__float2bfloat16_rn(hi)) << 16;
}

inline uint32_t pack_f16x2(float lo, float hi) {
    return __half_as_ushort(__float2half_rn(lo)) | (uint32_t) __half_as_ushort(__float2half_rn(hi)) << 16;
}

// st.global.v4.f32: faults where the GPU would, on an address not aligned to 16 bytes.
inline void global_float4(float *at, float a, float b, float c, float d) {
    if (((uintptr_t) at & 15) != 0) emu::fault("st.global.v4 address not aligned to 16 bytes");
    at[0] = a, at[1] = b, at[2] = c, at[3] = d;
}

// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32, D = A·B + D for the warp, with the fragment
// ownership of the PTX ISA (g = lane/4, t = lane%4): A element (r, k) is register
// (r ≥ 8) + 2·(k ≥ 4) of lane 4·(r mod 8) + k mod 4; B element (k, n) is register (k ≥ 4) of
// lane 4n + k mod 4; D register i of a lane is element (g + 8·(i ≥ 2), 2t + i mod 2). The
// hardware reads only the top 19 bits of each operand register (a TF32), so the low 13 are dropped.
inline void mma_tf32(float d[4], const uint32_t a[4], const uint32_t b[2]) {
    int me = emu::linear_thread(), base = me & ~31, lane = me & 31, g = lane >> 2, t = lane & 3;
    if (base + 32 > emu::block_threads()) {
        emu::fault("mma.sync in a warp of fewer than 32 threads");
        return;
    }
    memcpy(emu::mma_a[me], a, sizeof(emu::mma_a[me]));
    memcpy(emu::mma_b[me], b, sizeof(emu::mma_b[me]));
    emu::sync_warp(EMU_SITE_MMA);
    for (int i = 0; i < 4; i++) {
        int r = g + (i >= 2 ? 8 : 0), n = 2 * t + (i & 1);
        float sum = 0.0f;
        for (int k = 0; k < 8; k++) {
            uint32_t ab = emu::mma_a[base + 4 * (r & 7) + (k & 3)][(r >= 8) + 2 * (k >= 4)] & 0xffffe000u;
            uint32_t bb = emu::mma_b[base + 4 * n + (k & 3)][k >= 4] & 0xffffe000u;
            float av, bv;
            memcpy(&av, &ab, 4);
            memcpy(&bv, &bb, 4);
            sum += av * bv;
        }
        d[i] += sum;
    }
    emu::sync_warp(EMU_SITE_MMA);
}

// ldmatrix.sync.aligned.m8n8.{x1,x2,x4}{,.trans}.shared.b16: COUNT 8×8 matrices of 16-bit elements,
// row ρ of matrix i at the 16-byte-aligned address that lane 8i + ρ gives (the other lanes'
// addresses are ignored). Register i of lane l holds two neighbours of matrix i: row l/4,
// columns 2(l%4) and 2(l%4) + 1, or with .trans column l/4, rows 2(l%4) and 2(l%4) + 1 (the
// lower-numbered element in the low half).
template <int COUNT, bool TRANS>
inline void ldmatrix(uint32_t (&r)[COUNT], const void *row) {
    int me = emu::linear_thread(), base = me & ~31, lane = me & 31;
    if (base + 32 > emu::block_threads()) {
        emu::fault("ldmatrix in a warp of fewer than 32 threads");
        return;
    }
    if (lane < 8 * COUNT && ((uintptr_t) row & 15) != 0) emu::fault("ldmatrix row address not aligned to 16 bytes");
    emu::shuffle_slot[me] = (uint64_t) (uintptr_t) row;
    emu::sync_warp(EMU_SITE_LDMATRIX + 2 * COUNT + TRANS);
    for (int i = 0; i < COUNT; i++) {
        uint16_t pair[2];
        for (int h = 0; h < 2; h++) {
            int rho = TRANS ? 2 * (lane & 3) + h : lane >> 2, col = TRANS ? lane >> 2 : 2 * (lane & 3) + h;
            memcpy(&pair[h], (const char *) (uintptr_t) emu::shuffle_slot[base + 8 * i + rho] + 2 * col, 2);
        }
        r[i] = pair[0] | (uint32_t) pair[1] << 16;
    }
    emu::sync_warp(EMU_SITE_LDMATRIX + 2 * COUNT + TRANS);
}

inline void ldmatrix_x1(uint32_t (&r)[1], const void *row) { ldmatrix<1, false>(r, row); }
inline void ldmatrix_x2(uint32_t (&r)[2], const void *row) { ldmatrix<2, false>(r, row); }
inline void ldmatrix_x4(uint32_t (&r)[4], const void *row) { ldmatrix<4, false>(r, row); }
inline void ldmatrix_x1_trans(uint32_t (&r)[1], const void *row) { ldmatrix<1, true>(r, row); }
inline void ldmatrix_x2_trans(uint32_t (&r)[2], const void *row) { ldmatrix<2, true>(r, row); }
inline void ldmatrix_x4_trans(uint32_t (&r)[4], const void *row) { ldmatrix<4, true>(r, row); }

// mma.sync.aligned.m16n8k16.row.col.f32.{bf16,f16}.{bf16,f16}.f32, D = A·B + D, with the fragment
// ownership of the PTX ISA (g = lane/4, t = lane%4; each register two elements, k and k+1, the lower
// k in the low half): A register j of lane 4g' + t holds row g' + 8·(j odd), k = 2t + 8·(j ≥ 2);
// B register j holds column g', k = 2t + 8j; D register i is element (g + 8·(i ≥ 2), 2t + i mod 2).
// Products of two 16-bit floats are exact in float32 and are added in k order.
template <class Widen>
inline void mma_m16n8k16(float d[4], const uint32_t a[4], const uint32_t b[2], Widen widen) {
    int me = emu::linear_thread(), base = me & ~31, lane = me & 31, g = lane >> 2, t = lane & 3;
    if (base + 32 > emu::block_threads()) {
        emu::fault("mma.sync in a warp of fewer than 32 threads");
        return;
    }
    memcpy(emu::mma_a[me], a, sizeof(emu::mma_a[me]));
    memcpy(emu::mma_b[me], b, sizeof(emu::mma_b[me]));
    emu::sync_warp(EMU_SITE_MMA + 16);
    for (int i = 0; i < 4; i++) {
        int r = g + (i >= 2 ? 8 : 0), n = 2 * t + (i & 1);
        float sum = 0.0f;
        for (int k = 0; k < 16; k++) {
            int word = (k & 7) >> 1, high = k & 1;
            uint32_t av = emu::mma_a[base + 4 * (r & 7) + word][(r >= 8) + 2 * (k >= 8)];
            uint32_t bv = emu::mma_b[base + 4 * n + word][k >= 8];
            sum += widen((uint16_t) (high ? av >> 16 : av)) * widen((uint16_t) (high ? bv >> 16 : bv));
        }
        d[i] += sum;
    }
    emu::sync_warp(EMU_SITE_MMA + 16);
}

inline void mma_bf16(float d[4], const uint32_t a[4], const uint32_t b[2]) {
    mma_m16n8k16(d, a, b, [](uint16_t h) { return __bfloat162float(__ushort_as_bfloat16(h)); });
}

inline void mma_f16(float d[4], const uint32_t a[4], const uint32_t b[2]) {
    mma_m16n8k16(d, a, b, [](uint16_t h) { return __half2float(__ushort_as_half(h)); });
}
