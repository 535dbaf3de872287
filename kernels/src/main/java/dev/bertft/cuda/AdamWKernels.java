package dev.bertft.cuda;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;

import static dev.bertft.cuda.Launches.THREADS;

/**
 * The launches of adamw.cu: one parameter per launch (adamw_f32, adamw_f64), or float32
 * parameters 48 to a launch (adamw_list_f32) with the same arithmetic; the bias corrections are
 * computed here once per step.
 */
final class AdamWKernels {
    private final Launches l;

    AdamWKernels(Launches launches) {
        this.l = launches;
    }

    void step(Tensor param, Tensor g, Tensor m, Tensor v, Backend.AdamWStep st) {
        long n = param.numel();
        if (n == 0) return;
        double bc1 = 1 - Math.pow(st.beta1(), st.step()), bc2 = 1 - Math.pow(st.beta2(), st.step());
        if (param.dtype() == DType.F32) {
            l.ops.launch("adamw_f32", l.grid(n), 1, 1, THREADS, 1, l.ptr(param), l.ptr(g), l.ptr(m), l.ptr(v), n,
                    (float) (1 - st.lr() * st.weightDecay()), (float) st.beta1(), (float) st.beta2(), (float) st.eps(),
                    (float) (st.lr() / bc1), (float) Math.sqrt(bc2));
        } else {
            l.ops.launch("adamw_f64", l.grid(n), 1, 1, THREADS, 1, l.ptr(param), l.ptr(g), l.ptr(m), l.ptr(v), n,
                    st.lr(), st.weightDecay(), st.beta1(), st.beta2(), st.eps(), bc1, bc2);
        }
    }

    /** A list of float32 (param, grad, m, v) entries, each updated by one step of {@code st}. */
    TensorList stepList(Backend.AdamWStep st) {
        double bc1 = 1 - Math.pow(st.beta1(), st.step()), bc2 = 1 - Math.pow(st.beta2(), st.step());
        float decay = (float) (1 - st.lr() * st.weightDecay()), stepSize = (float) (st.lr() / bc1), sqrtBc2 = (float) Math.sqrt(bc2);
        return new TensorList(l::ptr, list -> l.ops.launch("adamw_list_f32", list.blocks(), 1, 1, THREADS, 1, list.parameter(), decay,
                (float) st.beta1(), (float) st.beta2(), (float) st.eps(), stepSize, sqrtBc2));
    }
}
