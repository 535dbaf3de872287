// Fused scaled dot-product attention, flash-attention style: the T×T score matrix never goes
// to global memory. q, k, v, out and their gradients are [B, NH, T, HS] with unit feature
// stride and any batch, head and token strides (HeadStrides), so the heads of a [B, T, H]
// projection are read where they lie and the output is written as [B, T, H] without a copy;
// mask is the additive key mask [B, T], lse is [B, NH, T] contiguous. Head pair bh = b·NH + h;
// scores of one pair:
//   S_ij = q_i·k_j·scale + mask[b, j],  P_ij = e^{S_ij − lse_i},  lse_i = log Σ_j e^{S_ij}
//   out_i = Σ_j P_ij·M_ij·v_j, M_ij the dropout factor of element ((bh·T + i)·T + j) of the
//   Philox(seed, offset) draw, exactly the mask CpuBackend.dropoutMask draws for [B, NH, T, T].
//
// Forward: a thread owns one query row i, keeps q_i and the output accumulator in registers,
// and streams key/value tiles through shared memory with the online softmax
//   m' = max(m, S_ij), acc ← acc·e^{m−m'} + e^{S_ij−m'}·M_ij·v_j, l ← l·e^{m−m'} + e^{S_ij−m'}
// (the rescale only runs when the running max grows); out_i = acc/l, lse_i = m + log l.
//
// Backward, with dO the output gradient and D_i = Σ_j P_ij·dP_ij = dO_i·out_i:
//   dP_ij = (dO_i·v_j)·M_ij,  dS_ij = P_ij·(dP_ij − D_i)·scale
//   dv_j = Σ_i P_ij·M_ij·dO_i,  dk_j = Σ_i dS_ij·q_i,  dq_i = Σ_j dS_ij·k_j
// One kernel owns key rows (dk, dv), another owns query rows (dq); each recomputes P from lse.
// Every output element is written by one thread that sums in index order: no atomics, and the
// same bits on every run. Head sizes 16, 32 and 64 are instantiated (BERT uses 64, MiniLM 32).
#include "common.cuh"
#include "philox.cuh"
#include <math.h>

#define ROWS 64  // query rows per forward block, key rows per dk/dv block, query rows per dq block

// Element strides of a [B, NH, T, HS] operand along B, NH and T.
struct HeadStrides {
    int batch, head, token;
};

// Row t of head pair (b, h).
__device__ inline const float *head_row(const float *x, HeadStrides s, int b, int h, int t) {
    return x + (long long) b * s.batch + (long long) h * s.head + (long long) t * s.token;
}

__device__ inline float *head_row(float *x, HeadStrides s, int b, int h, int t) {
    return x + (long long) b * s.batch + (long long) h * s.head + (long long) t * s.token;
}
#define TILE 16  // keys per tile in the forward and dq kernels, queries per tile in the dk/dv kernel

// Dropout factors along a row of consecutive element indices, reusing each Philox block for
// its four lanes.
struct DropoutStream {
    unsigned long long seed, offset, block;
    float p, keep_scale;
    Philox4 bits;

    __device__ DropoutStream(unsigned long long seed_, unsigned long long offset_, float p_, float keep_scale_)
        : seed(seed_), offset(offset_), block(~0ull), p(p_), keep_scale(keep_scale_) {}

    __device__ float factor(unsigned long long index) {
        if ((index >> 2) != block) {
            block = index >> 2;
            bits = philox_block(seed, offset, block);
        }
        return philox_kept(philox_lane(bits, (int) (index & 3)), p) ? keep_scale : 0.0f;
    }
};

template <int HS>
__device__ inline void attention_forward_kernel(const float *q, HeadStrides sq, const float *k, HeadStrides sk,
                                                const float *v, HeadStrides sv, const float *mask, float *out,
                                                HeadStrides so, float *lse, int heads, int T, float scale, int use_dropout,
                                                float p, float keep_scale, unsigned long long seed, unsigned long long offset) {
    __shared__ float Ks[TILE][HS], Vs[TILE][HS], Ms[TILE];
    const int bh = blockIdx.y, b = bh / heads, h = bh % heads, i = blockIdx.x * ROWS + threadIdx.x;
    const bool active = i < T;
    float qi[HS], acc[HS];
    for (int d = 0; d < HS; d++) {
        qi[d] = active ? head_row(q, sq, b, h, i)[d] : 0.0f;
        acc[d] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;
    DropoutStream drop(seed, offset, p, keep_scale);
    const unsigned long long row_index = ((unsigned long long) bh * T + (active ? i : 0)) * T;

    for (int j0 = 0; j0 < T; j0 += TILE) {
        for (int e = threadIdx.x; e < TILE * HS; e += ROWS) {
            int r = e / HS, d = e % HS;
            bool in = j0 + r < T;
            Ks[r][d] = in ? head_row(k, sk, b, h, j0 + r)[d] : 0.0f;
            Vs[r][d] = in ? head_row(v, sv, b, h, j0 + r)[d] : 0.0f;
        }
        for (int r = threadIdx.x; r < TILE; r += ROWS) Ms[r] = j0 + r < T ? mask[(long long) b * T + j0 + r] : 0.0f;
        __syncthreads();
        int tile = min(TILE, T - j0);
        if (active) {
            for (int jj = 0; jj < tile; jj++) {
                float s = 0.0f;
                for (int d = 0; d < HS; d++) s += qi[d] * Ks[jj][d];
                s = s * scale + Ms[jj];
                if (s > m) {
                    float correction = expf(m - s); // 0 on the first key, when m = −∞
                    l *= correction;
                    for (int d = 0; d < HS; d++) acc[d] *= correction;
                    m = s;
                }
                float e = expf(s - m);
                l += e;
                float w = use_dropout ? e * drop.factor(row_index + j0 + jj) : e;
                for (int d = 0; d < HS; d++) acc[d] += w * Vs[jj][d];
            }
        }
        __syncthreads();
    }
    if (active) {
        float inv = 1.0f / l;
        float *o = head_row(out, so, b, h, i);
        for (int d = 0; d < HS; d++) o[d] = acc[d] * inv;
        lse[(long long) bh * T + i] = m + logf(l);
    }
}

// D_i = dO_i · out_i, one thread per query row r = bh·T + i of every head pair.
extern "C" __global__ void attention_backward_dot(const float *dout, HeadStrides sg, const float *out, HeadStrides so, float *dd,
                                                  int heads, int T, long long rows, int hs) {
    FOR_EACH(r, rows) {
        int i = (int) (r % T), bh = (int) (r / T), b = bh / heads, h = bh % heads;
        const float *g = head_row(dout, sg, b, h, i), *o = head_row(out, so, b, h, i);
        float acc = 0.0f;
        for (int d = 0; d < hs; d++) acc += g[d] * o[d];
        dd[r] = acc;
    }
}

// dk, dv: a thread owns key row j; its k_j and v_j sit in shared memory (rows padded by one
// word so threads reading their own rows hit distinct banks), query tiles stream through.
template <int HS>
__device__ inline void attention_backward_kv_kernel(const float *dout, HeadStrides sg, const float *q, HeadStrides sq,
                                                    const float *k, HeadStrides sk, const float *v, HeadStrides sv,
                                                    const float *mask, const float *lse, const float *dd, float *dk,
                                                    float *dv, HeadStrides sd, int heads, int T, float scale, int use_dropout,
                                                    float p, float keep_scale, unsigned long long seed, unsigned long long offset) {
    __shared__ float Kj[ROWS][HS + 1], Vj[ROWS][HS + 1];
    __shared__ float Qs[TILE][HS], Gs[TILE][HS], Ls[TILE], Ds[TILE];
    const int bh = blockIdx.y, b = bh / heads, h = bh % heads, j = blockIdx.x * ROWS + threadIdx.x;
    const bool active = j < T;
    for (int d = 0; d < HS; d++) {
        Kj[threadIdx.x][d] = active ? head_row(k, sk, b, h, j)[d] : 0.0f;
        Vj[threadIdx.x][d] = active ? head_row(v, sv, b, h, j)[d] : 0.0f;
    }
    const float mask_j = active ? mask[(long long) b * T + j] : 0.0f;
    float dkj[HS], dvj[HS];
    for (int d = 0; d < HS; d++) {
        dkj[d] = 0.0f;
        dvj[d] = 0.0f;
    }
    DropoutStream drop(seed, offset, p, keep_scale);

    for (int i0 = 0; i0 < T; i0 += TILE) {
        __syncthreads();
        for (int e = threadIdx.x; e < TILE * HS; e += ROWS) {
            int r = e / HS, d = e % HS;
            bool in = i0 + r < T;
            Qs[r][d] = in ? head_row(q, sq, b, h, i0 + r)[d] : 0.0f;
            Gs[r][d] = in ? head_row(dout, sg, b, h, i0 + r)[d] : 0.0f;
        }
        for (int r = threadIdx.x; r < TILE; r += ROWS) {
            bool in = i0 + r < T;
            Ls[r] = in ? lse[(long long) bh * T + i0 + r] : 0.0f;
            Ds[r] = in ? dd[(long long) bh * T + i0 + r] : 0.0f;
        }
        __syncthreads();
        if (!active) continue;
        int tile = min(TILE, T - i0);
        for (int ii = 0; ii < tile; ii++) {
            float s = 0.0f, dpt = 0.0f;
            for (int d = 0; d < HS; d++) {
                s += Qs[ii][d] * Kj[threadIdx.x][d];
                dpt += Gs[ii][d] * Vj[threadIdx.x][d];
            }
            float pij = expf(s * scale + mask_j - Ls[ii]);
            float f = use_dropout ? drop.factor(((unsigned long long) bh * T + i0 + ii) * T + j) : 1.0f;
            float ds = pij * (dpt * f - Ds[ii]) * scale;
            float w = pij * f;
            for (int d = 0; d < HS; d++) {
                dvj[d] += w * Gs[ii][d];
                dkj[d] += ds * Qs[ii][d];
            }
        }
    }
    if (active) {
        float *dkr = head_row(dk, sd, b, h, j), *dvr = head_row(dv, sd, b, h, j);
        for (int d = 0; d < HS; d++) {
            dkr[d] = dkj[d];
            dvr[d] = dvj[d];
        }
    }
}

// dq: a thread owns query row i (q_i and dO_i in padded shared rows), key tiles stream through.
template <int HS>
__device__ inline void attention_backward_q_kernel(const float *dout, HeadStrides sg, const float *q, HeadStrides sq,
                                                   const float *k, HeadStrides sk, const float *v, HeadStrides sv,
                                                   const float *mask, const float *lse, const float *dd, float *dq,
                                                   HeadStrides sd, int heads, int T, float scale, int use_dropout, float p,
                                                   float keep_scale, unsigned long long seed, unsigned long long offset) {
    __shared__ float Qi[ROWS][HS + 1], Gi[ROWS][HS + 1];
    __shared__ float Ks[TILE][HS], Vs[TILE][HS], Ms[TILE];
    const int bh = blockIdx.y, b = bh / heads, h = bh % heads, i = blockIdx.x * ROWS + threadIdx.x;
    const bool active = i < T;
    for (int d = 0; d < HS; d++) {
        Qi[threadIdx.x][d] = active ? head_row(q, sq, b, h, i)[d] : 0.0f;
        Gi[threadIdx.x][d] = active ? head_row(dout, sg, b, h, i)[d] : 0.0f;
    }
    const float lse_i = active ? lse[(long long) bh * T + i] : 0.0f;
    const float d_i = active ? dd[(long long) bh * T + i] : 0.0f;
    float dqi[HS];
    for (int d = 0; d < HS; d++) dqi[d] = 0.0f;
    DropoutStream drop(seed, offset, p, keep_scale);
    const unsigned long long row_index = ((unsigned long long) bh * T + (active ? i : 0)) * T;

    for (int j0 = 0; j0 < T; j0 += TILE) {
        __syncthreads();
        for (int e = threadIdx.x; e < TILE * HS; e += ROWS) {
            int r = e / HS, d = e % HS;
            bool in = j0 + r < T;
            Ks[r][d] = in ? head_row(k, sk, b, h, j0 + r)[d] : 0.0f;
            Vs[r][d] = in ? head_row(v, sv, b, h, j0 + r)[d] : 0.0f;
        }
        for (int r = threadIdx.x; r < TILE; r += ROWS) Ms[r] = j0 + r < T ? mask[(long long) b * T + j0 + r] : 0.0f;
        __syncthreads();
        if (!active) continue;
        int tile = min(TILE, T - j0);
        for (int jj = 0; jj < tile; jj++) {
            float s = 0.0f, dpt = 0.0f;
            for (int d = 0; d < HS; d++) {
                s += Qi[threadIdx.x][d] * Ks[jj][d];
                dpt += Gi[threadIdx.x][d] * Vs[jj][d];
            }
            float pij = expf(s * scale + Ms[jj] - lse_i);
            float f = use_dropout ? drop.factor(row_index + j0 + jj) : 1.0f;
            float ds = pij * (dpt * f - d_i) * scale;
            for (int d = 0; d < HS; d++) dqi[d] += ds * Ks[jj][d];
        }
    }
    if (active) {
        float *dqr = head_row(dq, sd, b, h, i);
        for (int d = 0; d < HS; d++) dqr[d] = dqi[d];
    }
}

#define ATTENTION_KERNELS(HS)                                                                                          \
    extern "C" __global__ void __launch_bounds__(ROWS) attention_forward_hs##HS(                                      \
        const float *q, HeadStrides sq, const float *k, HeadStrides sk, const float *v, HeadStrides sv,               \
        const float *mask, float *out, HeadStrides so, float *lse, int heads, int T, float scale, int use_dropout,     \
        float p, float keep_scale, unsigned long long seed, unsigned long long offset) {                              \
        attention_forward_kernel<HS>(q, sq, k, sk, v, sv, mask, out, so, lse, heads, T, scale, use_dropout, p,        \
                                     keep_scale, seed, offset);                                                        \
    }                                                                                                                  \
    extern "C" __global__ void __launch_bounds__(ROWS) attention_backward_kv_hs##HS(                                  \
        const float *dout, HeadStrides sg, const float *q, HeadStrides sq, const float *k, HeadStrides sk,            \
        const float *v, HeadStrides sv, const float *mask, const float *lse, const float *dd, float *dk, float *dv,   \
        HeadStrides sd, int heads, int T, float scale, int use_dropout, float p, float keep_scale,                     \
        unsigned long long seed, unsigned long long offset) {                                                          \
        attention_backward_kv_kernel<HS>(dout, sg, q, sq, k, sk, v, sv, mask, lse, dd, dk, dv, sd, heads, T, scale,   \
                                         use_dropout, p, keep_scale, seed, offset);                                    \
    }                                                                                                                  \
    extern "C" __global__ void __launch_bounds__(ROWS) attention_backward_q_hs##HS(                                   \
        const float *dout, HeadStrides sg, const float *q, HeadStrides sq, const float *k, HeadStrides sk,            \
        const float *v, HeadStrides sv, const float *mask, const float *lse, const float *dd, float *dq,              \
        HeadStrides sd, int heads, int T, float scale, int use_dropout, float p, float keep_scale,                     \
        unsigned long long seed, unsigned long long offset) {                                                          \
        attention_backward_q_kernel<HS>(dout, sg, q, sq, k, sk, v, sv, mask, lse, dd, dq, sd, heads, T, scale,        \
                                        use_dropout, p, keep_scale, seed, offset);                                     \
    }

ATTENTION_KERNELS(16)
ATTENTION_KERNELS(32)
ATTENTION_KERNELS(64)
