// Fused AdamW, one parameter a launch or up to 48 (adamw_list_f32), torch.optim.AdamW semantics
// as CpuBackend.adamW:
//   p ← p·(1 − lr·wd)
//   m ← β1·m + (1−β1)·g,   v ← β2·v + (1−β2)·g²
//   p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + ε)
// The host folds the step-dependent scalars: decay = 1 − lr·wd, step_size = lr/(1−β1^t),
// sqrt_bc2 = √(1−β2^t). The float kernel uses float arithmetic in the CPU's order.
#include "common.cuh"
#include <math.h>

__device__ inline void adamw_element(float *p, const float *g, float *m, float *v, long long i, float decay, float beta1,
                                     float beta2, float eps, float step_size, float sqrt_bc2) {
    float gi = g[i];
    float mi = beta1 * m[i] + (1 - beta1) * gi;
    float vi = beta2 * v[i] + (1 - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - step_size * mi / (sqrtf(vi) / sqrt_bc2 + eps);
}

extern "C" __global__ void adamw_f32(float *p, const float *g, float *m, float *v, long long n, float decay,
                                     float beta1, float beta2, float eps, float step_size, float sqrt_bc2) {
    FOR_EACH(i, n) adamw_element(p, g, m, v, i, decay, beta1, beta2, eps, step_size, sqrt_bc2);
}

// The same update over a list of parameters of one group: ptr[0..3] = p, g, m, v. What changes
// from step to step is read from device memory, so a replayed step sees its own values: hyper =
// {decay, step_size, sqrt_bc2} as the host computed them, and skip ≠ 0 (a non-finite loss or
// gradient norm, see update_guard) leaves everything as it was.
extern "C" __global__ void adamw_list_f32(TensorList l, const float *hyper, const double *skip, float beta1, float beta2,
                                          float eps) {
    if (*skip != 0) return;
    float decay = hyper[0], step_size = hyper[1], sqrt_bc2 = hyper[2];
    long long first, end;
    int e = list_entry(l, blockIdx.x, first, end);
    float *p = (float *) l.ptr[0][e], *m = (float *) l.ptr[2][e], *v = (float *) l.ptr[3][e];
    const float *g = (const float *) l.ptr[1][e];
    for (long long i = first + threadIdx.x; i < end; i += blockDim.x) {
        adamw_element(p, g, m, v, i, decay, beta1, beta2, eps, step_size, sqrt_bc2);
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
