// Fused scaled dot-product attention, flash-attention style: the Tq×T score matrix never goes
// to global memory. k, v and their gradients are [B, NH, T, HS]; q, out, dO and dq hold the
// first Tq ≤ T query positions, [B, NH, Tq, HS] (Tq = 1 where a head reads only the [CLS] rows).
// All have unit feature stride and any batch, head and token strides (HeadStrides), so the heads
// of a [B, T, H] projection are read where they lie and the output is written as [B, T, H]
// without a copy; mask is the additive key mask [B, T], lse is [B, NH, Tq] contiguous. Head pair
// bh = b·NH + h; scores of one pair, for query i < Tq and key j < T:
//   S_ij = q_i·k_j·scale + mask[b, j],  P_ij = e^{S_ij − lse_i},  lse_i = log Σ_j e^{S_ij}
//   out_i = Σ_j P_ij·M_ij·v_j, M_ij the dropout factor of element ((bh·T + i)·T + j) of the
//   Philox(seed, offset) draw, exactly the mask CpuBackend.dropoutMask draws for [B, NH, T, T]
//   (its first Tq rows of each head: attentionDropoutMask's). The kernels read M from its bits,
//   drawn by random.cu's dropout_bits_attention before the forward and kept for the backward.
//
// Every e^x is taken as 2^(x·log2 e) by the special-function unit (exp2_approx), the scores, mask and
// maxima kept in those base-2 units: S_ij·log2 e = fma(q_i·k_j, scale·log2 e, mask[b, j]·log2 e),
// the mask and lse scaled by log2 e as they are loaded, so P_ij = 2^{fma(q_i·k_j, scale·log2 e,
// mask·log2 e − lse_i·log2 e)} is one fused multiply-add, one subtraction and one MUFU.
//
// Forward, on tensor cores (TF32 inputs, float32 sums, as the GEMM): a block of 4 warps owns 64
// query rows, a warp 16 of them (a warp with no row below Tq only helps load the tiles), and streams tiles of 64 keys through shared memory with the
// online softmax, per tile
//   m' = max(m, max_j S_ij),  O ← O·e^{m−m'} + Σ_j e^{S_ij−m'}·M_ij·v_j,  l ← l·e^{m−m'} + Σ_j e^{S_ij−m'}
// and at the end out_i = O/l, lse_i = m + log l, every e^x by the special-function unit
// (about 1e-6 relative, a tenth of expf's instructions, which outnumbered the tensor-core steps). S = Q·Kᵀ and P·V are mma.sync.m16n8k8. P goes
// from the score registers to the second product without moving: the accumulator holds keys 2t
// and 2t+1 of each block of 8, and read as the A operand those registers stand for k = t and
// t + 4, so each block's keys are summed in the order 0, 2, 4, 6, 1, 3, 5, 7 and V's rows are
// read in that order too.
//
// Backward, with dO the output gradient and D_i = Σ_j P_ij·dP_ij = dO_i·out_i:
//   dP_ij = (dO_i·v_j)·M_ij,  dS_ij = P_ij·(dP_ij − D_i)·scale
//   dv_j = Σ_i P_ij·M_ij·dO_i,  dk_j = Σ_i dS_ij·q_i,  dq_i = Σ_j dS_ij·k_j
// Both on tensor cores, each recomputing P from lse. One kernel gives a warp 16 query rows and
// streams key tiles (dq = dS·K, the products S = Q·Kᵀ and dP = dO·Vᵀ as in the forward); the
// other gives a warp 16 key rows and streams query tiles through the transposed products
// Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ, so that dv = (P∘M)ᵀ·dO and dk = dSᵀ·Q again take their A operand
// straight from the registers. Every output element is summed by one lane in a fixed order: no
// atomics, and the same bits on every run. Head sizes 16, 32 and 64 are instantiated (BERT uses
// 64, MiniLM 32).
//
// Under autocast q, k, v and dO come as BF16 or F16 (the _bf16 and _f16 kernels, below the float32
// ones): the same three kernels on the 16-bit tensor cores, m16n8k16 with float32 sums. The
// softmax statistics and lse stay float32, out and the gradients are float32 or (the kernels named
// with a second _bf16/_f16, for autocast, where only products read them) the inputs' format,
// rounded once from the float32 sums; the other operand of each product (e^{S−m}·M for P·V and
// Pᵀ·dO, dS for dS·K and dSᵀ·Q) is rounded to the inputs' format first, as autocast rounds it.
// (The forward rounds the unnormalised e^{S−m}, as flash attention does, which may differ from
// rounding P itself by one unit in the last place.)
#include "common.cuh"
#include "cp_async_ring.cuh"
#include "half.cuh"
#include <math.h>

#define ROWS 64            // query rows per forward and dq block, key rows per dk/dv block: 4 warps of 16
#define BLOCK_THREADS 128
#define TILE_ROWS 64       // keys (forward, dq) or queries (dk/dv) per tile streamed through shared memory

// Element strides of a [B, NH, T, HS] operand along B, NH and T.
struct HeadStrides {
    int batch, head, token;
};

// Row t of head pair (b, h).
template <typename In>
__device__ inline const In *head_row(const In *x, HeadStrides s, int b, int h, int t) {
    return x + (long long) b * s.batch + (long long) h * s.head + (long long) t * s.token;
}

template <typename Out>
__device__ inline Out *head_row(Out *x, HeadStrides s, int b, int h, int t) {
    return x + (long long) b * s.batch + (long long) h * s.head + (long long) t * s.token;
}

// Loads 64 rows of two [B, NH, n, HS] operands of head pair (b, h) from row `first` into shared
// rows of HS + 4 words, zeros past row n, rounded to TF32 here, once an element: rounded where
// the products read them, the conversions outnumbered the tensor-core steps four to one.
template <int HS, typename In>
__device__ inline void load_tile(uint32_t (*x_s)[HS + 4], const In *x, HeadStrides sx, uint32_t (*y_s)[HS + 4], const In *y,
                                 HeadStrides sy, int b, int h, int first, int n) {
    for (int e = threadIdx.x; e < TILE_ROWS * HS; e += blockDim.x) {
        int r = e / HS, d = e % HS;
        bool in = first + r < n;
        x_s[r][d] = to_tf32(in ? to_float(head_row(x, sx, b, h, first + r)[d]) : 0.0f);
        y_s[r][d] = to_tf32(in ? to_float(head_row(y, sy, b, h, first + r)[d]) : 0.0f);
    }
}

// Key j's mask in base-2 units, −∞ past the end so those keys weigh 2^{−∞} = 0.
__device__ inline float mask2(const float *mask, int b, int j, int T) {
    return j < T ? mask[(long long) b * T + j] * LOG2E : -INFINITY;
}

// The keys of the tile from j0 (callers put a barrier on each side): K and V rows, and the mask.
template <int HS, typename In>
__device__ inline void load_key_tile(uint32_t (*Ks)[HS + 4], uint32_t (*Vs)[HS + 4], float *Ms, const In *k, HeadStrides sk,
                                     const In *v, HeadStrides sv, const float *mask, int b, int h, int j0, int T) {
    load_tile<HS, In>(Ks, k, sk, Vs, v, sv, b, h, j0, T);
    for (int r = threadIdx.x; r < TILE_ROWS; r += blockDim.x) Ms[r] = mask2(mask, b, j0 + r, T);
}

// Dropout: the factors M_ij come from the mask's bits (RandomKernels.attentionKeepBits draws
// them once a step, before the forward, and the backward reads the same ones): for each of the
// B·NH·Tq query rows ⌈T/32⌉ words, bit j of word w for key 32w + j, the CPU backend's dropoutBits.
// Every kernel streams its tiles' words through shared memory beside K and V (or Q and dO).
// A tile's keep words into shared memory: of rows first .. first + 63 of head pair bh's Tq,
// words w0 and w0 + 1 (64 keys); zeros past row Tq or a row's end. By cp.async where `async`
// (a ring's load, which the ring commits and waits for), else at once.
__device__ inline void load_keep_words(uint32_t (*to)[2], const uint32_t *bits, int bh, int first, int Tq, int w0, int T, bool async) {
    const int words = (T + 31) / 32;
    for (int c = threadIdx.x; c < 2 * TILE_ROWS; c += blockDim.x) {
        const int r = c >> 1, w = w0 + (c & 1);
        const bool in = first + r < Tq && w < words;
        const uint32_t *from = bits + ((long long) bh * Tq + min(first + r, Tq - 1)) * words + min(w, words - 1);
        if (async) cp_async_4((float *) &to[r][c & 1], (const float *) from, in);
        else to[r][c & 1] = in ? *from : 0u;
    }
}

// The dropout factor (0 or 1/(1−p)) of bit `bit` of keep bits.
__device__ inline float keep_factor(uint32_t bits, int bit, float keep_scale) {
    return (bits >> bit) & 1 ? keep_scale : 0.0f;
}

template <int HS>
__device__ inline void clear(float (&acc)[HS / 8][4]) {
    #pragma unroll
    for (int nb = 0; nb < HS / 8; nb++)
        #pragma unroll
        for (int r = 0; r < 4; r++) acc[nb][r] = 0.0f;
}

// A fragments of the 16 rows a warp owns (lane rows lo and hi) of an operand of n rows, one per
// 8 features; zeros past row n.
template <int HS, typename In>
__device__ inline void load_rows(uint32_t (&f)[HS / 8][4], const In *x, HeadStrides sx, int b, int h, int lo, int hi, int n) {
    const int t = threadIdx.x & 3;
    const In *x_lo = head_row(x, sx, b, h, min(lo, n - 1)), *x_hi = head_row(x, sx, b, h, min(hi, n - 1));
    #pragma unroll
    for (int kk = 0; kk < HS / 8; kk++) {
        f[kk][0] = to_tf32(lo < n ? to_float(x_lo[kk * 8 + t]) : 0.0f);
        f[kk][1] = to_tf32(hi < n ? to_float(x_hi[kk * 8 + t]) : 0.0f);
        f[kk][2] = to_tf32(lo < n ? to_float(x_lo[kk * 8 + t + 4]) : 0.0f);
        f[kk][3] = to_tf32(hi < n ? to_float(x_hi[kk * 8 + t + 4]) : 0.0f);
    }
}

// acc (16 × 8 of block rb of a tile) = rows · tile[rb·8 .. rb·8+7]ᵀ over HS features.
template <int HS>
__device__ inline void rows_times_tile(float (&acc)[4], const uint32_t (&rows)[HS / 8][4], const uint32_t (*tile)[HS + 4], int rb) {
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    #pragma unroll
    for (int r = 0; r < 4; r++) acc[r] = 0.0f;
    #pragma unroll
    for (int kk = 0; kk < HS / 8; kk++) {
        uint32_t bf[2] = {tile[rb * 8 + g][kk * 8 + t], tile[rb * 8 + g][kk * 8 + t + 4]};
        mma_tf32(acc, rows[kk], bf);
    }
}

// out (16 × HS) += w · tile[rb·8 .. rb·8+7] where w is a C fragment of 16 × 8 (columns 2t, 2t+1
// per lane), used as the A operand with the block's rows taken in the order 0, 2, 4, 6, 1, 3, 5, 7.
template <int HS>
__device__ inline void fragment_times_tile(float (&out)[HS / 8][4], const float (&w)[4], const uint32_t (*tile)[HS + 4], int rb) {
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    uint32_t af[4] = {to_tf32(w[0]), to_tf32(w[2]), to_tf32(w[1]), to_tf32(w[3])};
    #pragma unroll
    for (int nb = 0; nb < HS / 8; nb++) {
        uint32_t bf[2] = {tile[rb * 8 + 2 * t][nb * 8 + g], tile[rb * 8 + 2 * t + 1][nb * 8 + g]};
        mma_tf32(out[nb], af, bf);
    }
}

// Writes a warp's 16 × HS accumulator to rows lo and hi (those below n) of a [B, NH, n, HS] operand.
template <int HS, typename Out>
__device__ inline void store_rows(Out *x, HeadStrides sx, int b, int h, int lo, int hi, int n, const float (&acc)[HS / 8][4]) {
    const int t = threadIdx.x & 3;
    #pragma unroll
    for (int half = 0; half < 2; half++) {
        int row = half == 0 ? lo : hi;
        if (row >= n) continue;
        Out *r = head_row(x, sx, b, h, row);
        #pragma unroll
        for (int nb = 0; nb < HS / 8; nb++) {
            store_as(r + nb * 8 + 2 * t, acc[nb][2 * half]);
            store_as(r + nb * 8 + 2 * t + 1, acc[nb][2 * half + 1]);
        }
    }
}


// The online softmax of a warp's 16 query rows (lane rows lo and hi) over the key tiles, per tile
//   m' = max(m, max_j S_ij),  O ← O·e^{m−m'},  l ← l·e^{m−m'} + Σ_j e^{S_ij−m'}
// and at the end out_i = O/l, lse_i = m + log l (l is this lane's share of the row sums until then),
// S and m in base-2 units.
template <int HS>
struct OnlineSoftmax {
    float m_lo = -INFINITY, m_hi = -INFINITY, l_lo = 0.0f, l_hi = 0.0f;

    // A tile's products q·k (C fragments: s[jb] holds (lo, 2t), (lo, 2t+1), (hi, 2t), (hi, 2t+1) of
    // key block jb) become e^{S − m'} in place, S = q·k·scale + mask from scale2 = scale·log2 e and
    // the tile's mask in base-2 units; O and l are rescaled to the new maxima.
    __device__ void tile(float (&s)[TILE_ROWS / 8][4], const float *mask, float scale2, float (&o)[HS / 8][4]) {
        const int t = threadIdx.x & 3;
        float max_lo = -INFINITY, max_hi = -INFINITY;
        #pragma unroll
        for (int jb = 0; jb < TILE_ROWS / 8; jb++) {
            #pragma unroll
            for (int c = 0; c < 2; c++) {
                float bias = mask[jb * 8 + 2 * t + c];
                s[jb][c] = fmaf(s[jb][c], scale2, bias);
                s[jb][2 + c] = fmaf(s[jb][2 + c], scale2, bias);
                max_lo = fmaxf(max_lo, s[jb][c]);
                max_hi = fmaxf(max_hi, s[jb][2 + c]);
            }
        }
        // Every tile holds at least one real key, so the new maxima are finite.
        float new_lo = fmaxf(m_lo, quad_max(max_lo)), new_hi = fmaxf(m_hi, quad_max(max_hi));
        float corr_lo = exp2_approx(m_lo - new_lo), corr_hi = exp2_approx(m_hi - new_hi);  // 0 on the first tile
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
        #pragma unroll
        for (int jb = 0; jb < TILE_ROWS / 8; jb++) {
            float *e = s[jb];
            e[0] = exp2_approx(e[0] - m_lo);
            e[1] = exp2_approx(e[1] - m_lo);
            e[2] = exp2_approx(e[2] - m_hi);
            e[3] = exp2_approx(e[3] - m_hi);
            l_lo += e[0] + e[1];
            l_hi += e[2] + e[3];
        }
    }

    // out = O/l for the rows below Tq, and their lse.
    template <typename Out>
    __device__ void finish(float (&o)[HS / 8][4], Out *out, HeadStrides so, float *lse, int b, int h, int bh, int row_lo, int Tq) {
        const int t = threadIdx.x & 3, row_hi = row_lo + 8;
        l_lo = quad_sum(l_lo);
        l_hi = quad_sum(l_hi);
        #pragma unroll
        for (int nb = 0; nb < HS / 8; nb++) {
            o[nb][0] /= l_lo;
            o[nb][1] /= l_lo;
            o[nb][2] /= l_hi;
            o[nb][3] /= l_hi;
        }
        store_rows<HS>(out, so, b, h, row_lo, row_hi, Tq, o);
        if (t == 0 && row_lo < Tq) lse[(long long) bh * Tq + row_lo] = m_lo * LN2 + logf(l_lo);
        if (t == 0 && row_hi < Tq) lse[(long long) bh * Tq + row_hi] = m_hi * LN2 + logf(l_hi);
    }
};

// e ∘ M for a lane's query rows (lo, hi: its rows g and g + 8 of the warp's 16) from its block's
// keep words of the tile, Ws[64 query rows][64 keys].
__device__ inline void drop_out(float (&e)[TILE_ROWS / 8][4], const uint32_t (*Ws)[2], float keep_scale) {
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3, lo = (threadIdx.x >> 5) * 16 + g;
    // the words shifted by the lane's 2t once, so each factor's bit is a constant
    const uint32_t words[2][2] = {{Ws[lo][0] >> 2 * t, Ws[lo][1] >> 2 * t}, {Ws[lo + 8][0] >> 2 * t, Ws[lo + 8][1] >> 2 * t}};
    #pragma unroll
    for (int jb = 0; jb < TILE_ROWS / 8; jb++) {
        #pragma unroll
        for (int r = 0; r < 4; r++) e[jb][r] *= keep_factor(words[r >> 1][jb >> 2], 8 * (jb & 3) + (r & 1), keep_scale);
    }
}

template <int HS, typename In, typename Out>
__device__ inline void attention_forward_kernel(const In *q, HeadStrides sq, const In *k, HeadStrides sk,
                                                const In *v, HeadStrides sv, const float *mask, Out *out,
                                                HeadStrides so, float *lse, int heads, int Tq, int T, float scale,
                                                const uint32_t *bits, float keep_scale) {
    // Rows of HS + 4 words: fragment reads of K at (key g, feature t) and of V at (key 2t, feature g)
    // fall in 32 distinct banks.
    __shared__ uint32_t Ks[TILE_ROWS][HS + 4], Vs[TILE_ROWS][HS + 4];  // TF32
    __shared__ float Ms[TILE_ROWS];
    __shared__ uint32_t Ws[TILE_ROWS][2];  // keep words: the block's 64 queries × the tile's keys
    const int bh = blockIdx.y, b = bh / heads, h = bh % heads;
    const int g = (threadIdx.x & 31) >> 2;
    const int warp_row = blockIdx.x * ROWS + (threadIdx.x >> 5) * 16;
    const int row_lo = warp_row + g, row_hi = row_lo + 8;  // this lane's two query rows
    uint32_t qf[HS / 8][4];
    load_rows<HS, In>(qf, q, sq, b, h, row_lo, row_hi, Tq);
    // O as C fragments: rows lo, hi × features nb·8 + 2t, +1.
    float o[HS / 8][4];
    clear<HS>(o);
    OnlineSoftmax<HS> softmax;

    for (int j0 = 0; j0 < T; j0 += TILE_ROWS) {
        __syncthreads();  // every warp is done with the previous tile
        load_key_tile<HS, In>(Ks, Vs, Ms, k, sk, v, sv, mask, b, h, j0, T);
        if (bits != nullptr) load_keep_words(Ws, bits, bh, blockIdx.x * ROWS, Tq, j0 / 32, T, false);
        __syncthreads();
        if (warp_row >= Tq) continue;
        float s[TILE_ROWS / 8][4];  // S = Q·Kᵀ, then e^{S·scale + mask − m}·M
        #pragma unroll
        for (int jb = 0; jb < TILE_ROWS / 8; jb++) rows_times_tile<HS>(s[jb], qf, Ks, jb);
        softmax.tile(s, Ms, scale * LOG2E, o);
        if (bits != nullptr) drop_out(s, Ws, keep_scale);
        // O += (e^{S−m}·M)·V, a block of 8 keys at a time.
        #pragma unroll
        for (int jb = 0; jb < TILE_ROWS / 8; jb++) fragment_times_tile<HS>(o, s[jb], Vs, jb);
    }
    softmax.finish(o, out, so, lse, b, h, bh, row_lo, Tq);
}

// Whether every row of a [B, NH, n, HS] operand starts on a boundary of four elements' bytes (load4's).
template <typename T>
__device__ inline bool rows_of_four(const T *x, HeadStrides s) {
    return ((uintptr_t) x & (4 * sizeof(T) - 1)) == 0 && s.batch % 4 == 0 && s.head % 4 == 0 && s.token % 4 == 0;
}

// D_i = dO_i · out_i for every query row r = bh·Tq + i (hs is 16, 32 or 64). Where every row of
// both starts on four elements' boundary, a row belongs to width = hs/4 lanes, lane j taking
// features 4j .. 4j + 3 in one access of each operand (8 or 16 bytes); else to width = min(32, hs)
// lanes, lane j taking features j, j + width, ... Either way a warp's loads are whole lines, and a
// butterfly within a row's lanes sums them. Whole warps go round the loop together, lanes past the
// last row adding zeros, because the shuffles need every lane.
template <typename In, typename Out>
__device__ inline void attention_backward_dot_kernel(const In *dout, HeadStrides sg, const Out *out, HeadStrides so, float *dd,
                                                     int heads, int Tq, long long rows, int hs) {
    const bool fours = rows_of_four(dout, sg) && rows_of_four(out, so);
    const int width = fours ? hs / 4 : hs < 32 ? hs : 32, rows_per_warp = 32 / width, lane = threadIdx.x & 31, j = lane % width;
    const long long warp = ((long long) blockIdx.x * blockDim.x + threadIdx.x) >> 5, warps = ((long long) gridDim.x * blockDim.x) >> 5;
    for (long long first = warp * rows_per_warp; first < rows; first += warps * rows_per_warp) {
        long long r = first + lane / width;
        float acc = 0.0f;
        if (r < rows) {
            int i = (int) (r % Tq), bh = (int) (r / Tq), b = bh / heads, h = bh % heads;
            const In *g = head_row(dout, sg, b, h, i);
            const Out *o = head_row(out, so, b, h, i);
            if (fours) {
                float4 x = load4(g + 4 * j), y = load4(o + 4 * j);
                acc = fmaf(x.w, y.w, fmaf(x.z, y.z, fmaf(x.y, y.y, x.x * y.x)));
            } else {
                for (int d = j; d < hs; d += width) acc = fmaf(to_float(g[d]), to_float(o[d]), acc);
            }
        }
        for (int m = width / 2; m > 0; m >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, m);
        if (r < rows && j == 0) dd[r] = acc;
    }
}

// dk, dv: a warp owns 16 key rows, query tiles stream through. In the transposed products a
// lane holds (key lo/hi, query 2t/2t+1) of each block of 8 queries.
template <int HS, typename In, typename Out>
__device__ inline void attention_backward_kv_kernel(const In *dout, HeadStrides sg, const In *q, HeadStrides sq,
                                                    const In *k, HeadStrides sk, const In *v, HeadStrides sv,
                                                    const float *mask, const float *lse, const float *dd, Out *dk,
                                                    Out *dv, HeadStrides sd, int heads, int Tq, int T, float scale,
                                                    const uint32_t *bits, float keep_scale) {
    __shared__ uint32_t Qs[TILE_ROWS][HS + 4], Gs[TILE_ROWS][HS + 4];  // TF32
    __shared__ float Ls[TILE_ROWS], Ds[TILE_ROWS];
    __shared__ uint32_t Ws[TILE_ROWS][2];  // keep words: the tile's queries × the block's 64 keys
    const int bh = blockIdx.y, b = bh / heads, h = bh % heads;
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3, warp = threadIdx.x >> 5;
    const int warp_key = blockIdx.x * ROWS + warp * 16, key_lo = warp_key + g, key_hi = key_lo + 8;
    const int bit_lo = 16 * (warp & 1) + g, bit_hi = bit_lo + 8;  // of word warp / 2
    uint32_t kf[HS / 8][4], vf[HS / 8][4];
    load_rows<HS, In>(kf, k, sk, b, h, key_lo, key_hi, T);
    load_rows<HS, In>(vf, v, sv, b, h, key_lo, key_hi, T);
    // keys past the end weigh e^{−∞} = 0
    const float mask_lo = mask2(mask, b, key_lo, T), mask_hi = mask2(mask, b, key_hi, T), scale2 = scale * LOG2E;
    float dkf[HS / 8][4], dvf[HS / 8][4];
    clear<HS>(dkf);
    clear<HS>(dvf);

    for (int i0 = 0; i0 < Tq; i0 += TILE_ROWS) {
        __syncthreads();  // every warp is done with the previous tile
        load_tile<HS, In>(Qs, q, sq, Gs, dout, sg, b, h, i0, Tq);
        for (int r = threadIdx.x; r < TILE_ROWS; r += blockDim.x) {
            bool in = i0 + r < Tq;
            Ls[r] = in ? lse[(long long) bh * Tq + i0 + r] * LOG2E : INFINITY;  // queries past the end: P = 0
            Ds[r] = in ? dd[(long long) bh * Tq + i0 + r] : 0.0f;
        }
        if (bits != nullptr) load_keep_words(Ws, bits, bh, i0, Tq, 2 * blockIdx.x, T, false);
        __syncthreads();
        // Not unrolled, as in attention_backward_q_kernel.
        // Blocks of 8 queries all past Tq would add only zeros: a tile of one [CLS] query takes one block, not 8.
        #pragma unroll 1
        for (int ib = 0, blocks = min(TILE_ROWS / 8, (Tq - i0 + 7) / 8); ib < blocks; ib++) {
            float st[4], dpt[4];
            rows_times_tile<HS>(st, kf, Qs, ib);
            rows_times_tile<HS>(dpt, vf, Gs, ib);
            float pm[4], ds[4];  // (P∘M)ᵀ and dSᵀ
            #pragma unroll
            for (int r = 0; r < 4; r++) {
                int query = ib * 8 + 2 * t + (r & 1);
                float pij = exp2_approx(fmaf(st[r], scale2, (r < 2 ? mask_lo : mask_hi) - Ls[query]));
                float f = bits != nullptr ? keep_factor(Ws[query][warp >> 1], r < 2 ? bit_lo : bit_hi, keep_scale) : 1.0f;
                pm[r] = pij * f;
                ds[r] = pij * (dpt[r] * f - Ds[query]) * scale;
            }
            fragment_times_tile<HS>(dvf, pm, Gs, ib);
            fragment_times_tile<HS>(dkf, ds, Qs, ib);
        }
    }
    store_rows<HS>(dk, sd, b, h, key_lo, key_hi, T, dkf);
    store_rows<HS>(dv, sd, b, h, key_lo, key_hi, T, dvf);
}

// dq: a warp owns 16 query rows, key tiles stream through; a lane holds (query lo/hi, key
// 2t/2t+1) of each block of 8 keys.
template <int HS, typename In, typename Out>
__device__ inline void attention_backward_q_kernel(const In *dout, HeadStrides sg, const In *q, HeadStrides sq,
                                                   const In *k, HeadStrides sk, const In *v, HeadStrides sv,
                                                   const float *mask, const float *lse, const float *dd, Out *dq,
                                                   HeadStrides sd, int heads, int Tq, int T, float scale,
                                                   const uint32_t *bits, float keep_scale) {
    __shared__ uint32_t Ks[TILE_ROWS][HS + 4], Vs[TILE_ROWS][HS + 4];  // TF32
    __shared__ float Ms[TILE_ROWS];
    __shared__ uint32_t Ws[TILE_ROWS][2];  // keep words: the block's 64 queries × the tile's keys
    const int bh = blockIdx.y, b = bh / heads, h = bh % heads;
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int warp_row = blockIdx.x * ROWS + (threadIdx.x >> 5) * 16, row_lo = warp_row + g, row_hi = row_lo + 8;
    const int w_lo = (threadIdx.x >> 5) * 16 + g, w_hi = w_lo + 8;  // the lane's rows of Ws
    uint32_t qf[HS / 8][4], gf[HS / 8][4];
    load_rows<HS, In>(qf, q, sq, b, h, row_lo, row_hi, Tq);
    load_rows<HS, In>(gf, dout, sg, b, h, row_lo, row_hi, Tq);
    const long long first = (long long) bh * Tq;
    const float lse_lo = lse[first + min(row_lo, Tq - 1)] * LOG2E, lse_hi = lse[first + min(row_hi, Tq - 1)] * LOG2E;
    const float scale2 = scale * LOG2E;
    const float d_lo = dd[first + min(row_lo, Tq - 1)], d_hi = dd[first + min(row_hi, Tq - 1)];
    float dqf[HS / 8][4];
    clear<HS>(dqf);

    for (int j0 = 0; j0 < T; j0 += TILE_ROWS) {
        __syncthreads();  // every warp is done with the previous tile
        load_key_tile<HS, In>(Ks, Vs, Ms, k, sk, v, sv, mask, b, h, j0, T);
        if (bits != nullptr) load_keep_words(Ws, bits, bh, blockIdx.x * ROWS, Tq, j0 / 32, T, false);
        __syncthreads();
        // Not unrolled: unrolled, ptxas spills registers in the BF16/F16 head-size-16 variants. (Warps
        // with no row below Tq compute on zeros here: skipping them made the float32 one spill.)
        #pragma unroll 1
        for (int jb = 0; jb < TILE_ROWS / 8; jb++) {
            float s[4], dp[4];
            rows_times_tile<HS>(s, qf, Ks, jb);
            rows_times_tile<HS>(dp, gf, Vs, jb);
            float ds[4];
            #pragma unroll
            for (int r = 0; r < 4; r++) {
                int key = jb * 8 + 2 * t + (r & 1);
                bool lo = r < 2;
                float pij = exp2_approx(fmaf(s[r], scale2, Ms[key] - (lo ? lse_lo : lse_hi)));
                float f = bits != nullptr ? keep_factor(Ws[lo ? w_lo : w_hi][key >> 5], key & 31, keep_scale) : 1.0f;
                ds[r] = pij * (dp[r] * f - (lo ? d_lo : d_hi)) * scale;
            }
            fragment_times_tile<HS>(dqf, ds, Ks, jb);
        }
    }
    store_rows<HS>(dq, sd, b, h, row_lo, row_hi, Tq, dqf);
}

// ---- BF16 / F16 inputs: mma.sync m16n8k16 ---------------------------------------------------------
// The same kernels for autocast's 16-bit q, k, v and dO, on the 16-bit tensor cores: each m16n8k16
// multiplies the stored values exactly and sums in float32, twice the work of a TF32 step per
// instruction, with no conversion. Tiles stay 16-bit in shared memory, in two stages: cp.async
// fills the next tile while the tensor cores work on this one. B fragments come by ldmatrix from a
// tile stored [n][k] (K for Q·Kᵀ, V for dO·Vᵀ, Q and dO for Kᵀ's and Vᵀ's products) and by
// ldmatrix.trans from one stored [k][n] (V for P·V, K for dS·K, dO and Q for dv and dk). An A
// operand made in registers (P̃ = e^{S−m}·M, dS and their transposes) is two neighbouring 16×8
// C fragments side by side: C's (row g, columns 2t, 2t+1) of blocks 2c and 2c+1 are the A
// fragment's (row g, k = 2t, 2t+1) and (row g, k = 2t+8, 2t+9) of one 16-wide k step, so every
// block's keys (queries) are summed in their own order.

#define HALF_PITCH(HS) ((HS) + 8)  // 16-bit elements a shared tile row: rows 2·HS + 16 bytes apart, an ldmatrix's 8 rows in 8 bank groups

// lo and hi rounded to nearest in In's format, as one register, lo in the low half.
template <typename In> __device__ inline uint32_t rounded_pair(float lo, float hi);
template <> __device__ inline uint32_t rounded_pair<__nv_bfloat16>(float lo, float hi) { return pack_bf16x2(lo, hi); }
template <> __device__ inline uint32_t rounded_pair<__half>(float lo, float hi) { return pack_f16x2(lo, hi); }

template <typename In> __device__ inline void mma16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]);
template <> __device__ inline void mma16<__nv_bfloat16>(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) { mma_bf16(d, a, b); }
template <> __device__ inline void mma16<__half>(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) { mma_f16(d, a, b); }

// Whether every row of a [B, NH, n, HS] 16-bit operand starts on a 16-byte boundary (cp.async's 16-byte copies).
__device__ inline bool rows_of_16_bytes(const void *x, HeadStrides s) {
    return ((uintptr_t) x & 15) == 0 && s.batch % 8 == 0 && s.head % 8 == 0 && s.token % 8 == 0;
}

// Queues the copy of rows first .. first+63 of two 16-bit [B, NH, n, HS] operands of head pair
// (b, h) into shared tiles, zeros past row n: 16 bytes a cp.async where `wide`, else element by
// element through registers (done when this returns).
template <int HS, typename In>
__device__ inline void load_half_tiles(uint16_t (*x_s)[HALF_PITCH(HS)], const In *x, HeadStrides sx,
                                       uint16_t (*y_s)[HALF_PITCH(HS)], const In *y, HeadStrides sy, int b, int h,
                                       int first, int n, bool wide) {
    for (int c = threadIdx.x; c < TILE_ROWS * HS / 8; c += blockDim.x) {
        int r = c / (HS / 8), d = c % (HS / 8) * 8, row = min(first + r, n - 1);
        bool in = first + r < n;
        const uint16_t *xr = (const uint16_t *) head_row(x, sx, b, h, row) + d;
        const uint16_t *yr = (const uint16_t *) head_row(y, sy, b, h, row) + d;
        if (wide) {  // cp.async moves bytes: the float pointers only carry the addresses
            cp_async_16((float *) &x_s[r][d], (const float *) xr, in);
            cp_async_16((float *) &y_s[r][d], (const float *) yr, in);
        } else {
            for (int e = 0; e < 8; e++) {
                x_s[r][d + e] = in ? xr[e] : 0;
                y_s[r][d + e] = in ? yr[e] : 0;
            }
        }
    }
}

// A fragments (k steps of 16 features) of the 16 rows a warp owns (lane rows lo and hi) of a
// 16-bit operand of n rows; zeros past row n.
template <int HS, typename In>
__device__ inline void load_half_rows(uint32_t (&f)[HS / 16][4], const In *x, HeadStrides sx, int b, int h, int lo, int hi, int n) {
    const int t = threadIdx.x & 3;
    const uint16_t *x_lo = (const uint16_t *) head_row(x, sx, b, h, min(lo, n - 1));
    const uint16_t *x_hi = (const uint16_t *) head_row(x, sx, b, h, min(hi, n - 1));
    auto pair = [](const uint16_t *p) { return p[0] | (uint32_t) p[1] << 16; };
    #pragma unroll
    for (int kk = 0; kk < HS / 16; kk++) {
        f[kk][0] = lo < n ? pair(x_lo + kk * 16 + 2 * t) : 0;
        f[kk][1] = hi < n ? pair(x_hi + kk * 16 + 2 * t) : 0;
        f[kk][2] = lo < n ? pair(x_lo + kk * 16 + 2 * t + 8) : 0;
        f[kk][3] = hi < n ? pair(x_hi + kk * 16 + 2 * t + 8) : 0;
    }
}

// c0, c1 (16 × 8 each) = rows · tile[16·pr .. 16·pr + 7]ᵀ and rows · tile[16·pr + 8 .. 16·pr + 15]ᵀ
// over HS features, the tile stored [n][k]: one ldmatrix.x4 gives both blocks' B fragments of a k step.
template <int HS, typename In>
__device__ inline void rows_times_half_tile(float (&c0)[4], float (&c1)[4], const uint32_t (&rows)[HS / 16][4],
                                            const uint16_t (*tile)[HALF_PITCH(HS)], int pr) {
    const int lane = threadIdx.x & 31, q = lane >> 3, row8 = lane & 7;  // the matrix this lane addresses, and its row
    #pragma unroll
    for (int r = 0; r < 4; r++) c0[r] = c1[r] = 0.0f;
    #pragma unroll
    for (int kk = 0; kk < HS / 16; kk++) {  // matrix q: block 2pr + (q >> 1), features kk·16 + 8·(q & 1)
        uint32_t m[4];
        ldmatrix_x4(m, &tile[16 * pr + 8 * (q >> 1) + row8][16 * kk + 8 * (q & 1)]);
        const uint32_t b0[2] = {m[0], m[1]}, b1[2] = {m[2], m[3]};
        mma16<In>(c0, rows[kk], b0);
        mma16<In>(c1, rows[kk], b1);
    }
}

// out (16 × HS) += a · tile[16·kb .. 16·kb + 15], a an A fragment over those 16 tile rows, the
// tile stored [k][n]: one ldmatrix.x4.trans gives two feature blocks' B fragments.
template <int HS, typename In>
__device__ inline void fragment_times_half_tile(float (&out)[HS / 8][4], const uint32_t (&a)[4], const uint16_t (*tile)[HALF_PITCH(HS)], int kb) {
    const int lane = threadIdx.x & 31, q = lane >> 3, row8 = lane & 7;
    #pragma unroll
    for (int np = 0; np < HS / 16; np++) {  // matrix q: rows 16kb + 8·(q & 1), features (2np + (q >> 1))·8
        uint32_t m[4];
        ldmatrix_x4_trans(m, &tile[16 * kb + 8 * (q & 1) + row8][8 * (2 * np + (q >> 1))]);
        const uint32_t b0[2] = {m[0], m[1]}, b1[2] = {m[2], m[3]};
        mma16<In>(out[2 * np], a, b0);
        mma16<In>(out[2 * np + 1], a, b1);
    }
}

// The A fragment over 16 k of two neighbouring C fragments (c0: k 0-7, c1: k 8-15), rounded to In.
template <typename In>
__device__ inline void as_a_fragment(uint32_t (&a)[4], const float (&c0)[4], const float (&c1)[4]) {
    a[0] = rounded_pair<In>(c0[0], c0[1]);  // row g, k 2t and 2t+1
    a[1] = rounded_pair<In>(c0[2], c0[3]);  // row g+8
    a[2] = rounded_pair<In>(c1[0], c1[1]);  // row g, k 2t+8 and 2t+9
    a[3] = rounded_pair<In>(c1[2], c1[3]);
}

template <int HS, typename In, typename Out>
__device__ inline void attention_forward_half_kernel(const In *q, HeadStrides sq, const In *k, HeadStrides sk,
                                                     const In *v, HeadStrides sv, const float *mask, Out *out,
                                                     HeadStrides so, float *lse, int heads, int Tq, int T, float scale,
                                                     const uint32_t *bits, float keep_scale) {
    alignas(16) __shared__ uint16_t Ks[2][TILE_ROWS][HALF_PITCH(HS)], Vs[2][TILE_ROWS][HALF_PITCH(HS)];
    __shared__ float Ms[2][TILE_ROWS];
    __shared__ uint32_t Ws[2][TILE_ROWS][2];  // keep words: the block's 64 queries × the tile's keys
    const int bh = blockIdx.y, b = bh / heads, h = bh % heads;
    const int g = (threadIdx.x & 31) >> 2;
    const int warp_row = blockIdx.x * ROWS + (threadIdx.x >> 5) * 16;
    const int row_lo = warp_row + g, row_hi = row_lo + 8;
    uint32_t qf[HS / 16][4];
    load_half_rows<HS, In>(qf, q, sq, b, h, row_lo, row_hi, Tq);
    float o[HS / 8][4];
    clear<HS>(o);
    OnlineSoftmax<HS> softmax;
    auto load = [&](int stage, int j0) {
        load_half_tiles<HS, In>(Ks[stage], k, sk, Vs[stage], v, sv, b, h, j0, T, rows_of_16_bytes(k, sk) && rows_of_16_bytes(v, sv));
        for (int r = threadIdx.x; r < TILE_ROWS; r += blockDim.x) Ms[stage][r] = mask2(mask, b, j0 + r, T);
        if (bits != nullptr) load_keep_words(Ws[stage], bits, blockIdx.y, blockIdx.x * ROWS, Tq, j0 / 32, T, true);
    };
    cp_async_ring<2, TILE_ROWS>(0, T, load, [&](int stage, int j0) {
        if (warp_row >= Tq) return;
        float s[TILE_ROWS / 8][4];  // S = Q·Kᵀ in the float32 kernel's layout, then e^{S·scale + mask − m}·M
        #pragma unroll
        for (int pr = 0; pr < TILE_ROWS / 16; pr++) rows_times_half_tile<HS, In>(s[2 * pr], s[2 * pr + 1], qf, Ks[stage], pr);
        softmax.tile(s, Ms[stage], scale * LOG2E, o);
        if (bits != nullptr) drop_out(s, Ws[stage], keep_scale);
        // O += (e^{S−m}·M)·V, 16 keys a step
        #pragma unroll
        for (int kb = 0; kb < TILE_ROWS / 16; kb++) {
            uint32_t a[4];
            as_a_fragment<In>(a, s[2 * kb], s[2 * kb + 1]);
            fragment_times_half_tile<HS, In>(o, a, Vs[stage], kb);
        }
    });
    softmax.finish(o, out, so, lse, b, h, bh, row_lo, Tq);
}

// dk, dv: as attention_backward_kv_kernel, a warp owning 16 key rows, query tiles streaming through.
template <int HS, typename In, typename Out>
__device__ inline void attention_backward_kv_half_kernel(const In *dout, HeadStrides sg, const In *q, HeadStrides sq,
                                                         const In *k, HeadStrides sk, const In *v, HeadStrides sv,
                                                         const float *mask, const float *lse, const float *dd, Out *dk,
                                                         Out *dv, HeadStrides sd, int heads, int Tq, int T, float scale,
                                                         const uint32_t *bits, float keep_scale) {
    alignas(16) __shared__ uint16_t Qs[2][TILE_ROWS][HALF_PITCH(HS)], Gs[2][TILE_ROWS][HALF_PITCH(HS)];
    __shared__ float Ls[2][TILE_ROWS], Ds[2][TILE_ROWS];
    __shared__ uint32_t Ws[2][TILE_ROWS][2];  // keep words: the tile's queries × the block's 64 keys
    const int bh = blockIdx.y, b = bh / heads, h = bh % heads;
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3, warp = threadIdx.x >> 5;
    const int warp_key = blockIdx.x * ROWS + warp * 16;
    const int bit_lo = 16 * (warp & 1) + g, bit_hi = bit_lo + 8;  // of word warp / 2
    const int key_lo = warp_key + g, key_hi = key_lo + 8;
    uint32_t kf[HS / 16][4], vf[HS / 16][4];
    load_half_rows<HS, In>(kf, k, sk, b, h, key_lo, key_hi, T);
    load_half_rows<HS, In>(vf, v, sv, b, h, key_lo, key_hi, T);
    const float mask_lo = mask2(mask, b, key_lo, T), mask_hi = mask2(mask, b, key_hi, T), scale2 = scale * LOG2E;
    float dkf[HS / 8][4], dvf[HS / 8][4];
    clear<HS>(dkf);
    clear<HS>(dvf);
    const bool wide = rows_of_16_bytes(q, sq) && rows_of_16_bytes(dout, sg);

    auto load = [&](int stage, int i0) {
        load_half_tiles<HS, In>(Qs[stage], q, sq, Gs[stage], dout, sg, b, h, i0, Tq, wide);
        for (int r = threadIdx.x; r < TILE_ROWS; r += blockDim.x) {
            bool in = i0 + r < Tq;
            Ls[stage][r] = in ? lse[(long long) bh * Tq + i0 + r] * LOG2E : INFINITY;  // queries past the end: P = 0
            Ds[stage][r] = in ? dd[(long long) bh * Tq + i0 + r] : 0.0f;
        }
        if (bits != nullptr) load_keep_words(Ws[stage], bits, bh, i0, Tq, 2 * blockIdx.x, T, true);
    };
    cp_async_ring<2, TILE_ROWS>(0, Tq, load, [&](int stage, int i0) {
        if (warp_key >= T) return;
        // pairs of 8-query blocks with a query below Tq (a [CLS] tile of one query takes one)
        #pragma unroll 1
        for (int pr = 0, pairs = min(TILE_ROWS / 16, (Tq - i0 + 15) / 16); pr < pairs; pr++) {
            float st[2][4], dpt[2][4];  // Sᵀ and dPᵀ: (key lo/hi, query 2t/2t+1) of blocks 2pr, 2pr+1
            rows_times_half_tile<HS, In>(st[0], st[1], kf, Qs[stage], pr);
            rows_times_half_tile<HS, In>(dpt[0], dpt[1], vf, Gs[stage], pr);
            float pm[2][4], ds[2][4];  // (P∘M)ᵀ and dSᵀ
            #pragma unroll
            for (int c = 0; c < 2; c++) {
                #pragma unroll
                for (int r = 0; r < 4; r++) {
                    int query = 16 * pr + 8 * c + 2 * t + (r & 1);
                    float pij = exp2_approx(fmaf(st[c][r], scale2, (r < 2 ? mask_lo : mask_hi) - Ls[stage][query]));
                    float f = bits != nullptr ? keep_factor(Ws[stage][query][warp >> 1], r < 2 ? bit_lo : bit_hi, keep_scale) : 1.0f;
                    pm[c][r] = pij * f;
                    ds[c][r] = pij * (dpt[c][r] * f - Ds[stage][query]) * scale;
                }
            }
            uint32_t a[4];
            as_a_fragment<In>(a, pm[0], pm[1]);
            fragment_times_half_tile<HS, In>(dvf, a, Gs[stage], pr);
            as_a_fragment<In>(a, ds[0], ds[1]);
            fragment_times_half_tile<HS, In>(dkf, a, Qs[stage], pr);
        }
    });
    store_rows<HS>(dk, sd, b, h, key_lo, key_hi, T, dkf);
    store_rows<HS>(dv, sd, b, h, key_lo, key_hi, T, dvf);
}

// dq: as attention_backward_q_kernel, a warp owning 16 query rows, key tiles streaming through.
template <int HS, typename In, typename Out>
__device__ inline void attention_backward_q_half_kernel(const In *dout, HeadStrides sg, const In *q, HeadStrides sq,
                                                        const In *k, HeadStrides sk, const In *v, HeadStrides sv,
                                                        const float *mask, const float *lse, const float *dd, Out *dq,
                                                        HeadStrides sd, int heads, int Tq, int T, float scale,
                                                        const uint32_t *bits, float keep_scale) {
    alignas(16) __shared__ uint16_t Ks[2][TILE_ROWS][HALF_PITCH(HS)], Vs[2][TILE_ROWS][HALF_PITCH(HS)];
    __shared__ float Ms[2][TILE_ROWS];
    __shared__ uint32_t Ws[2][TILE_ROWS][2];  // keep words: the block's 64 queries × the tile's keys
    const int bh = blockIdx.y, b = bh / heads, h = bh % heads;
    const int lane = threadIdx.x & 31, g = lane >> 2, t = lane & 3;
    const int w_lo = (threadIdx.x >> 5) * 16 + g, w_hi = w_lo + 8;  // the lane's rows of Ws
    const int warp_row = blockIdx.x * ROWS + (threadIdx.x >> 5) * 16;
    const int row_lo = warp_row + g, row_hi = row_lo + 8;
    uint32_t qf[HS / 16][4], gf[HS / 16][4];
    load_half_rows<HS, In>(qf, q, sq, b, h, row_lo, row_hi, Tq);
    load_half_rows<HS, In>(gf, dout, sg, b, h, row_lo, row_hi, Tq);
    const long long first = (long long) bh * Tq;
    const float lse_lo = lse[first + min(row_lo, Tq - 1)] * LOG2E, lse_hi = lse[first + min(row_hi, Tq - 1)] * LOG2E;
    const float scale2 = scale * LOG2E;
    const float d_lo = dd[first + min(row_lo, Tq - 1)], d_hi = dd[first + min(row_hi, Tq - 1)];
    float dqf[HS / 8][4];
    clear<HS>(dqf);
    auto load = [&](int stage, int j0) {
        load_half_tiles<HS, In>(Ks[stage], k, sk, Vs[stage], v, sv, b, h, j0, T, rows_of_16_bytes(k, sk) && rows_of_16_bytes(v, sv));
        for (int r = threadIdx.x; r < TILE_ROWS; r += blockDim.x) Ms[stage][r] = mask2(mask, b, j0 + r, T);
        if (bits != nullptr) load_keep_words(Ws[stage], bits, blockIdx.y, blockIdx.x * ROWS, Tq, j0 / 32, T, true);
    };
    cp_async_ring<2, TILE_ROWS>(0, T, load, [&](int stage, int j0) {
        if (warp_row >= Tq) return;
        #pragma unroll 1
        for (int pr = 0; pr < TILE_ROWS / 16; pr++) {
            float s[2][4], dp[2][4];  // S and dP: (query lo/hi, key 2t/2t+1) of blocks 2pr, 2pr+1
            rows_times_half_tile<HS, In>(s[0], s[1], qf, Ks[stage], pr);
            rows_times_half_tile<HS, In>(dp[0], dp[1], gf, Vs[stage], pr);
            float ds[2][4];
            #pragma unroll
            for (int c = 0; c < 2; c++) {
                #pragma unroll
                for (int r = 0; r < 4; r++) {
                    int key = 16 * pr + 8 * c + 2 * t + (r & 1);
                    bool lo = r < 2;
                    float pij = exp2_approx(fmaf(s[c][r], scale2, Ms[stage][key] - (lo ? lse_lo : lse_hi)));
                    float f = bits != nullptr ? keep_factor(Ws[stage][lo ? w_lo : w_hi][key >> 5], key & 31, keep_scale) : 1.0f;
                    ds[c][r] = pij * (dp[c][r] * f - (lo ? d_lo : d_hi)) * scale;
                }
            }
            uint32_t a[4];
            as_a_fragment<In>(a, ds[0], ds[1]);
            fragment_times_half_tile<HS, In>(dqf, a, Ks[stage], pr);
        }
    });
    store_rows<HS>(dq, sd, b, h, row_lo, row_hi, Tq, dqf);
}

// Kernels for head size HS, inputs In and outputs Out (out, dq, dk, dv; `written` names a half one):
// attention_forward_hs64 (float32), attention_forward_bf16_hs64 (BF16 in, float32 out), attention_forward_bf16_hs64_bf16, ...;
// impl picks the TF32 kernels (empty) or the 16-bit ones (_half).
// Blocks an SM each forward is compiled for (0: as ptxas chooses): the 16-bit ones for four (up
// to 128 registers, 16 warps an SM). Left to itself, ptxas aimed at five for head size 32 on sm_80
// and spilled, and gave head size 64 139 registers on sm_90, three blocks an SM; held to four,
// head size 64 spills on sm_80, which is left to choose there.
#define FORWARD_BLOCKS(HS) 0
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
#define FORWARD_BLOCKS_half(HS) ((HS) <= 32 ? 4 : 0)
#else
#define FORWARD_BLOCKS_half(HS) 4
#endif
#define ATTENTION_KERNELS(HS, In, format, Out, written, impl)                                                                \
    extern "C" __global__ void __launch_bounds__(BLOCK_THREADS, FORWARD_BLOCKS##impl(HS)) attention_forward##format##_hs##HS##written( \
        const In *q, HeadStrides sq, const In *k, HeadStrides sk, const In *v, HeadStrides sv,                         \
        const float *mask, Out *out, HeadStrides so, float *lse, int heads, int Tq, int T, float scale,                \
        const uint32_t *bits, float keep_scale) {                                                                      \
        attention_forward##impl##_kernel<HS, In, Out>(q, sq, k, sk, v, sv, mask, out, so, lse, heads, Tq, T, scale, bits,  \
                                                      keep_scale);                                                     \
    }                                                                                                                  \
    extern "C" __global__ void __launch_bounds__(BLOCK_THREADS) attention_backward_kv##format##_hs##HS##written(       \
        const In *dout, HeadStrides sg, const In *q, HeadStrides sq, const In *k, HeadStrides sk,                      \
        const In *v, HeadStrides sv, const float *mask, const float *lse, const float *dd, Out *dk, Out *dv,           \
        HeadStrides sd, int heads, int Tq, int T, float scale, const uint32_t *bits, float keep_scale) {               \
        attention_backward_kv##impl##_kernel<HS, In, Out>(dout, sg, q, sq, k, sk, v, sv, mask, lse, dd, dk, dv, sd, heads, Tq, T, \
                                             scale, bits, keep_scale);                                                 \
    }                                                                                                                  \
    extern "C" __global__ void __launch_bounds__(BLOCK_THREADS) attention_backward_q##format##_hs##HS##written(        \
        const In *dout, HeadStrides sg, const In *q, HeadStrides sq, const In *k, HeadStrides sk,                      \
        const In *v, HeadStrides sv, const float *mask, const float *lse, const float *dd, Out *dq,                    \
        HeadStrides sd, int heads, int Tq, int T, float scale, const uint32_t *bits, float keep_scale) {               \
        attention_backward_q##impl##_kernel<HS, In, Out>(dout, sg, q, sq, k, sk, v, sv, mask, lse, dd, dq, sd, heads, Tq, T,   \
                                            scale, bits, keep_scale);                                                  \
    }

#define ATTENTION_FORMAT(In, format, Out, written, impl)                                                                     \
    extern "C" __global__ void attention_backward_dot##format##written(const In *dout, HeadStrides sg, const Out *out, \
                                                              HeadStrides so, float *dd, int heads, int Tq,            \
                                                              long long rows, int hs) {                                \
        attention_backward_dot_kernel<In, Out>(dout, sg, out, so, dd, heads, Tq, rows, hs);                            \
    }                                                                                                                  \
    ATTENTION_KERNELS(16, In, format, Out, written, impl)                                                                    \
    ATTENTION_KERNELS(32, In, format, Out, written, impl)                                                                    \
    ATTENTION_KERNELS(64, In, format, Out, written, impl)

ATTENTION_FORMAT(float, , float, , )
ATTENTION_FORMAT(__nv_bfloat16, _bf16, float, , _half)
ATTENTION_FORMAT(__nv_bfloat16, _bf16, __nv_bfloat16, _bf16, _half)
ATTENTION_FORMAT(__half, _f16, float, , _half)
ATTENTION_FORMAT(__half, _f16, __half, _f16, _half)
