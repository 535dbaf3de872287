package dev.bertft.cuda;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import jcuda.driver.CUdeviceptr;

import static dev.bertft.cuda.Launches.THREADS;

/**
 * The launches of adamw.cu: one parameter per launch (adamw_f32, adamw_f64), or float32
 * parameters 48 to a launch (adamw_list_f32) with the same arithmetic; the bias corrections are
 * computed on the host once per step (for the list kernel, written to device memory, see
 * {@link #stepList}).
 */
final class AdamWKernels {
    private final Launches l;

    AdamWKernels(Launches launches) {
        this.l = launches;
    }

    void step(Tensor param, Tensor g, Tensor m, Tensor v, Backend.AdamWStep st) {
        long n = param.numel();
        if (n == 0) return;
        if (param.dtype() == DType.F32) {
            float[] terms = terms(st, null);
            l.ops.launch("adamw_f32", l.grid(n), 1, 1, THREADS, 1, l.ptr(param), l.ptr(g), l.ptr(m), l.ptr(v), n,
                    terms[0], (float) st.beta1(), (float) st.beta2(), (float) st.eps(), terms[1], terms[2]);
        } else {
            double bc1 = 1 - Math.pow(st.beta1(), st.step()), bc2 = 1 - Math.pow(st.beta2(), st.step());
            l.ops.launch("adamw_f64", l.grid(n), 1, 1, THREADS, 1, l.ptr(param), l.ptr(g), l.ptr(m), l.ptr(v), n,
                    st.lr(), st.weightDecay(), st.beta1(), st.beta2(), st.eps(), bc1, bc2);
        }
    }

    /**
     * A list of float32 (param, grad, m, v) entries, each updated by one step of {@code st}: the
     * kernel reads {@link #terms} at {@code hyper} (three floats), multiplies each gradient by the
     * clipping coefficient, the double at {@code clip} ({@link Launches#NULL}: none), and skips the
     * update when the double at {@code skip} is not zero.
     */
    TensorList stepList(Backend.AdamWStep st, CUdeviceptr hyper, CUdeviceptr clip, CUdeviceptr skip) {
        return new TensorList(l::ptr, list -> l.ops.launch("adamw_list_f32", list.blocks(), 1, 1, THREADS, 1, list.parameter(), hyper, clip, skip,
                (float) st.beta1(), (float) st.beta2(), (float) st.eps()));
    }

    /** adamw_f32's {decay, step size, √(1 − β2^t)} for {@code st}, or for the learning rate and step of {@code step} when given. */
    static float[] terms(Backend.AdamWStep st, Backend.StepValues step) {
        double lr = step == null ? st.lr() : step.lr();
        long t = step == null ? st.step() : step.optimizerStep();
        double bc1 = 1 - Math.pow(st.beta1(), t), bc2 = 1 - Math.pow(st.beta2(), t);
        return new float[] {(float) (1 - lr * st.weightDecay()), (float) (lr / bc1), (float) Math.sqrt(bc2)};
    }
}
