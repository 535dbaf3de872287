// Fused AdamW, one parameter a launch or up to 48 (adamw_list_f32), torch.optim.AdamW semantics
// as CpuBackend.adamW:
//   p ← p·(1 − lr·wd)
//   m ← β1·m + (1−β1)·g,   v ← β2·v + (1−β2)·g²
//   p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + ε)
// The host folds the step-dependent scalars: decay = 1 − lr·wd, step_size = lr/(1−β1^t),
// sqrt_bc2 = √(1−β2^t). The float kernel uses float arithmetic in the CPU's order.
#include "common.cuh"
#include <math.h>

// One element's update, its gradient g already loaded (and clipped).
__device__ inline void adamw_update(float &p, float g, float &m, float &v, float decay, float beta1, float beta2, float eps,
                                    float step_size, float sqrt_bc2) {
    float mi = beta1 * m + (1 - beta1) * g;
    float vi = beta2 * v + (1 - beta2) * g * g;
    m = mi;
    v = vi;
    p = p * decay - step_size * mi / (sqrtf(vi) / sqrt_bc2 + eps);
}

extern "C" __global__ void adamw_f32(float *p, const float *g, float *m, float *v, long long n, float decay,
                                     float beta1, float beta2, float eps, float step_size, float sqrt_bc2) {
    FOR_EACH(i, n) adamw_update(p[i], g[i], m[i], v[i], decay, beta1, beta2, eps, step_size, sqrt_bc2);
}

// The same update over a list of parameters of one group: ptr[0..3] = p, g, m, v. What changes
// from step to step is read from device memory, so a replayed step sees its own values: hyper =
// {decay, step_size, sqrt_bc2} as the host computed them, the clipping coefficient at clip
// (update_guard's, a float32 value; none: 1) and skip ≠ 0 (a non-finite loss or gradient norm, see
// update_guard), which leaves everything as it was. Each gradient is clipped as it is read, g·c in
// float32 as torch's clip_grad_norm_ writes it, so clipping costs no pass over the gradients.
// Four elements an access where the four tensors allow 16-byte ones; the same arithmetic either way.
extern "C" __global__ void adamw_list_f32(TensorList l, const float *hyper, const double *clip, const double *skip, float beta1,
                                          float beta2, float eps) {
    if (*skip != 0) return;
    float decay = hyper[0], step_size = hyper[1], sqrt_bc2 = hyper[2], c = clip == nullptr ? 1.0f : (float) *clip;
    long long first, end;
    int e = list_entry(l, blockIdx.x, first, end);
    float *p = (float *) l.ptr[0][e], *m = (float *) l.ptr[2][e], *v = (float *) l.ptr[3][e];
    const float *g = (const float *) l.ptr[1][e];
    long long end4 = aligned16(p, g, m, v) ? first + (end - first) / 4 * 4 : first;  // first is a multiple of LIST_CHUNK
    for (long long i = first + 4 * threadIdx.x; i < end4; i += 4 * blockDim.x) {
        float4 pi = *(float4 *) (p + i), gi = *(const float4 *) (g + i), mi = *(float4 *) (m + i), vi = *(float4 *) (v + i);
        adamw_update(pi.x, gi.x * c, mi.x, vi.x, decay, beta1, beta2, eps, step_size, sqrt_bc2);
        adamw_update(pi.y, gi.y * c, mi.y, vi.y, decay, beta1, beta2, eps, step_size, sqrt_bc2);
        adamw_update(pi.z, gi.z * c, mi.z, vi.z, decay, beta1, beta2, eps, step_size, sqrt_bc2);
        adamw_update(pi.w, gi.w * c, mi.w, vi.w, decay, beta1, beta2, eps, step_size, sqrt_bc2);
        *(float4 *) (p + i) = pi;
        *(float4 *) (m + i) = mi;
        *(float4 *) (v + i) = vi;
    }
    for (long long i = end4 + threadIdx.x; i < end; i += blockDim.x) {
        adamw_update(p[i], g[i] * c, m[i], v[i], decay, beta1, beta2, eps, step_size, sqrt_bc2);
    }
}

extern "C" __global__ void adamw_f64(double *p, const double *g, double *m, double *v, long long n, double lr,
                                     double weight_decay, double beta1, double beta2, double eps, double bc1, double bc2) {
    FOR_EACH(i, n) {
        double gi = g[i];
        double mi = beta1 * m[i] + (1 - beta1) * gi;
        double vi = beta2 * v[i] + (1 - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        double pi = p[i] * (1 - lr * weight_decay);
        p[i] = pi - lr / bc1 * mi / (sqrt(vi) / sqrt(bc2) + eps);
    }
}
