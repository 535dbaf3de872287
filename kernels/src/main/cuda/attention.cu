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
// Forward, on tensor cores (TF32 inputs, float32 sums, as the GEMM): a block of 4 warps owns 64
// query rows, a warp 16 of them, and streams tiles of 64 keys through shared memory with the
// online softmax, per tile
//   m' = max(m, max_j S_ij),  O ← O·e^{m−m'} + Σ_j e^{S_ij−m'}·M_ij·v_j,  l ← l·e^{m−m'} + Σ_j e^{S_ij−m'}
// and at the end out_i = O/l, lse_i = m + log l. S = Q·Kᵀ and P·V are mma.sync.m16n8k8. P goes
// from the score registers to the second product without moving: the accumulator holds keys 2t
// and 2t+1 of each block of 8, and read as the A operand those registers stand for k = t and
// t + 4, so each block's keys are summed in the order 0, 2, 4, 6, 1, 3, 5, 7 and V's rows are
// read in that order too.
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

#define FWD_KEYS 64          // keys per tile of the forward kernel
#define FORWARD_THREADS 128  // 4 warps of 16 query rows

// Max and sum over the 4 lanes that share a row of an mma fragment (lanes 4g .. 4g+3).
__device__ inline float quad_max(float v) {
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
    return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}

__device__ inline float quad_sum(float v) {
    v += __shfl_xor_sync(0xffffffffu, v, 1);
    return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

// Query row `row` of the output, from registers half .. half+1 of each O fragment (0 for the
// lane's lower row, 2 for its upper one), and the row's log-sum-exp.
template <int HS>
__device__ inline void store_row(float *out, HeadStrides so, float *lse, int b, int h, int T, int row, const float (&o)[HS / 8][4],
                                 int half, float m, float l) {
    if (row >= T) return;
    const int t = threadIdx.x & 3;
    float *r = head_row(out, so, b, h, row);
    #pragma unroll
    for (int nb = 0; nb < HS / 8; nb++) {
        r[nb * 8 + 2 * t] = o[nb][half] / l;
        r[nb * 8 + 2 * t + 1] = o[nb][half + 1] / l;
    }
    if (t == 0) lse[(long long) blockIdx.y * T + row] = m + logf(l);  // blockIdx.y is the head pair
}

template <int HS>
__device__ inline void attention_forward_kernel(const float *q, HeadStrides sq, const float *k, HeadStrides sk,
                                                const float *v, HeadStrides sv, const float *mask, float *out,
                                                HeadStrides so, float *lse, int heads, int T, float scale, int use_dropout,
                                                float p, float keep_scale, unsigned long long seed, unsigned long long offset) {
    // Rows of HS + 4 words: fragment reads of K at (key g, feature t) and of V at (key 2t, feature g)
    // fall in 32 distinct banks.
    __shared__ float Ks[FWD_KEYS][HS + 4], Vs[FWD_KEYS][HS + 4], Ms[FWD_KEYS];
    const int bh = blockIdx.y, b = bh / heads, h = bh % heads;
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int row_lo = blockIdx.x * ROWS + (threadIdx.x >> 5) * 16 + g, row_hi = row_lo + 8;  // this lane's two query rows
    const float *q_lo = head_row(q, sq, b, h, min(row_lo, T - 1)), *q_hi = head_row(q, sq, b, h, min(row_hi, T - 1));

    // The warp's 16 query rows as A fragments, one per 8 features.
    uint32_t qf[HS / 8][4];
    #pragma unroll
    for (int kk = 0; kk < HS / 8; kk++) {
        qf[kk][0] = to_tf32(row_lo < T ? q_lo[kk * 8 + t] : 0.0f);
        qf[kk][1] = to_tf32(row_hi < T ? q_hi[kk * 8 + t] : 0.0f);
        qf[kk][2] = to_tf32(row_lo < T ? q_lo[kk * 8 + t + 4] : 0.0f);
        qf[kk][3] = to_tf32(row_hi < T ? q_hi[kk * 8 + t + 4] : 0.0f);
    }
    // O as C fragments: rows lo, hi × features nb·8 + 2t, +1.
    float o[HS / 8][4];
    #pragma unroll
    for (int nb = 0; nb < HS / 8; nb++)
        #pragma unroll
        for (int r = 0; r < 4; r++) o[nb][r] = 0.0f;
    float m_lo = -INFINITY, m_hi = -INFINITY, l_lo = 0.0f, l_hi = 0.0f;  // l: this lane's share of the row sums
    DropoutStream drop_lo(seed, offset, p, keep_scale), drop_hi(seed, offset, p, keep_scale);
    const unsigned long long index_lo = ((unsigned long long) bh * T + min(row_lo, T - 1)) * T;
    const unsigned long long index_hi = ((unsigned long long) bh * T + min(row_hi, T - 1)) * T;

    for (int j0 = 0; j0 < T; j0 += FWD_KEYS) {
        __syncthreads();  // every warp is done with the previous tile
        for (int e = threadIdx.x; e < FWD_KEYS * HS; e += blockDim.x) {
            int r = e / HS, d = e % HS;
            bool in = j0 + r < T;
            Ks[r][d] = in ? head_row(k, sk, b, h, j0 + r)[d] : 0.0f;
            Vs[r][d] = in ? head_row(v, sv, b, h, j0 + r)[d] : 0.0f;
        }
        // keys past the end weigh e^{−∞} = 0
        for (int r = threadIdx.x; r < FWD_KEYS; r += blockDim.x) Ms[r] = j0 + r < T ? mask[(long long) b * T + j0 + r] : -INFINITY;
        __syncthreads();

        // S = Q·Kᵀ·scale + mask: s[jb] holds (lo, 2t), (lo, 2t+1), (hi, 2t), (hi, 2t+1) of key block jb.
        float s[FWD_KEYS / 8][4];
        float max_lo = -INFINITY, max_hi = -INFINITY;
        #pragma unroll
        for (int jb = 0; jb < FWD_KEYS / 8; jb++) {
            #pragma unroll
            for (int r = 0; r < 4; r++) s[jb][r] = 0.0f;
            #pragma unroll
            for (int kk = 0; kk < HS / 8; kk++) {
                uint32_t kf[2] = {to_tf32(Ks[jb * 8 + g][kk * 8 + t]), to_tf32(Ks[jb * 8 + g][kk * 8 + t + 4])};
                mma_tf32(s[jb], qf[kk], kf);
            }
            #pragma unroll
            for (int c = 0; c < 2; c++) {
                float bias = Ms[jb * 8 + 2 * t + c];
                s[jb][c] = s[jb][c] * scale + bias;
                s[jb][2 + c] = s[jb][2 + c] * scale + bias;
                max_lo = fmaxf(max_lo, s[jb][c]);
                max_hi = fmaxf(max_hi, s[jb][2 + c]);
            }
        }
        // Every tile holds at least one real key, so the new maxima are finite.
        float new_lo = fmaxf(m_lo, quad_max(max_lo)), new_hi = fmaxf(m_hi, quad_max(max_hi));
        float corr_lo = expf(m_lo - new_lo), corr_hi = expf(m_hi - new_hi);  // 0 on the first tile
        m_lo = new_lo;
        m_hi = new_hi;
        l_lo *= corr_lo;
        l_hi *= corr_hi;
        #pragma unroll
        for (int nb = 0; nb < HS / 8; nb++) {
            o[nb][0] *= corr_lo;
            o[nb][1] *= corr_lo;
            o[nb][2] *= corr_hi;
            o[nb][3] *= corr_hi;
        }

        // O += P·V, a block of 8 keys at a time.
        #pragma unroll
        for (int jb = 0; jb < FWD_KEYS / 8; jb++) {
            float e[4] = {expf(s[jb][0] - m_lo), expf(s[jb][1] - m_lo), expf(s[jb][2] - m_hi), expf(s[jb][3] - m_hi)};
            l_lo += e[0] + e[1];
            l_hi += e[2] + e[3];
            if (use_dropout) {
                unsigned long long key = j0 + jb * 8 + 2 * t;
                e[0] *= drop_lo.factor(index_lo + key);
                e[1] *= drop_lo.factor(index_lo + key + 1);
                e[2] *= drop_hi.factor(index_hi + key);
                e[3] *= drop_hi.factor(index_hi + key + 1);
            }
            // A fragment (row, k): (lo, t) = key 2t, (hi, t), (lo, t+4) = key 2t+1, (hi, t+4)
            uint32_t pf[4] = {to_tf32(e[0]), to_tf32(e[2]), to_tf32(e[1]), to_tf32(e[3])};
            #pragma unroll
            for (int nb = 0; nb < HS / 8; nb++) {
                uint32_t vf[2] = {to_tf32(Vs[jb * 8 + 2 * t][nb * 8 + g]), to_tf32(Vs[jb * 8 + 2 * t + 1][nb * 8 + g])};
                mma_tf32(o[nb], pf, vf);
            }
        }
    }
    store_row<HS>(out, so, lse, b, h, T, row_lo, o, 0, m_lo, quad_sum(l_lo));
    store_row<HS>(out, so, lse, b, h, T, row_hi, o, 2, m_hi, quad_sum(l_hi));
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
    extern "C" __global__ void __launch_bounds__(FORWARD_THREADS) attention_forward_hs##HS(                                      \
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
