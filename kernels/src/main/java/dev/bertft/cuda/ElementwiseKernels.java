package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import dev.bertft.tensor.Float16;
import dev.bertft.tensor.Ops;
import dev.bertft.tensor.Tensor;
import jcuda.driver.CUdeviceptr;

import static dev.bertft.cuda.Launches.THREADS;
import static dev.bertft.cuda.Launches.suffix;

/**
 * The launches of elementwise.cu: one thread per element in grid-stride loops of
 * {@link Launches#THREADS}; strided operands carry a {@link StridedLayout}. Empty tensors launch nothing.
 */
final class ElementwiseKernels {
    private final Launches l;

    ElementwiseKernels(Launches launches) {
        this.l = launches;
    }

    /** dst ← src for two views of the same shape and dtype, either of them strided. */
    void copyStrided(Tensor src, Tensor dst) {
        int n = src.numel();
        if (n == 0) return;
        int[] layout = StridedLayout.of(src.shape(), src.strides(), new int[src.dim()], dst.strides());
        String kernel = "copy_strided_" + src.dtype().bytes();
        l.ops.launch(kernel, l.grid(n), 1, 1, THREADS, 1, layout, l.ptr(src), l.ptr(dst), (long) n);
    }

    void cast(Tensor src, Tensor out) {
        long n = out.numel();
        if (n > 0) l.ops.launch("cast_" + suffix(src.dtype()) + "_" + suffix(out.dtype()), l.grid(n), 1, 1, THREADS, 1, l.ptr(src), l.ptr(out), n);
    }

    void fill(Tensor out, double value) {
        long n = out.numel();
        if (n == 0) return;
        switch (out.dtype()) {
            case F32 -> l.ops.launch("fill_4", l.grid(n), 1, 1, THREADS, 1, l.ptr(out), Float.floatToRawIntBits((float) value), n);
            case I32 -> l.ops.launch("fill_4", l.grid(n), 1, 1, THREADS, 1, l.ptr(out), (int) value, n);
            case F64 -> l.ops.launch("fill_8", l.grid(n), 1, 1, THREADS, 1, l.ptr(out), Double.doubleToRawLongBits(value), n);
            case BF16 -> l.ops.launch("fill_2", l.grid(n), 1, 1, THREADS, 1, l.ptr(out), Float16.floatToBf16((float) value) & 0xFFFF, n);
            case F16 -> l.ops.launch("fill_2", l.grid(n), 1, 1, THREADS, 1, l.ptr(out), Float16.floatToF16((float) value) & 0xFFFF, n);
        }
    }

    void unary(Ops.Unary op, Tensor in, Tensor out) {
        long n = out.numel();
        if (n > 0) l.ops.launch("unary_" + suffix(in.dtype()), l.grid(n), 1, 1, THREADS, 1, op.ordinal(), l.ptr(in), l.ptr(out), n);
    }

    /** GELU of float32 {@code in} into {@code out} and its BF16/F16 copy {@code half}. */
    void geluCopy(Tensor in, Tensor out, Tensor half) {
        long n = out.numel();
        if (n > 0) l.ops.launch("gelu_f32_copy_" + suffix(half.dtype()), l.grid(n), 1, 1, THREADS, 1, l.ptr(in), l.ptr(out), l.ptr(half), n);
    }

    /** GELU of BF16/F16 {@code in}, in float32, rounded into {@code out} of the same format. */
    void geluHalf(Tensor in, Tensor out) {
        long n = out.numel();
        if (n > 0) l.ops.launch("gelu_" + suffix(in.dtype()), l.grid(n), 1, 1, THREADS, 1, l.ptr(in), l.ptr(out), n);
    }

    void scalar(Ops.Scalar op, Tensor in, Tensor out, double s) {
        long n = out.numel();
        if (n > 0) l.ops.launch("scalar_" + suffix(in.dtype()), l.grid(n), 1, 1, THREADS, 1, op.ordinal(), l.ptr(in), l.ptr(out), s, n);
    }

    /** out ← a op b, with {@code a} and {@code b} already expanded to out's shape. */
    void binary(Ops.Binary op, Tensor a, Tensor b, Tensor out) {
        long n = out.numel();
        if (n == 0) return;
        int[] layout = StridedLayout.of(out.shape(), a.strides(), b.strides(), out.strides());
        l.ops.launch("binary_" + suffix(a.dtype()), l.grid(n), 1, 1, THREADS, 1, op.ordinal(), layout, l.ptr(a), l.ptr(b), l.ptr(out), n);
    }

    /** out ← a ⊙ b of dense float32 {@code a} and {@code b}, and out rounded into {@code half}. */
    void mulCopy(Tensor a, Tensor b, Tensor out, Tensor half) {
        long n = out.numel();
        if (n > 0) l.ops.launch("mul_f32_copy_" + suffix(half.dtype()), l.grid(n), 1, 1, THREADS, 1, l.ptr(a), l.ptr(b), l.ptr(out), l.ptr(half), n);
    }

    /** dx = dy · GELU'(x) into {@code out}: all of x's type, or (BF16/F16 x) float32 dy and out in x's format. */
    void geluBackward(Tensor x, Tensor dy, Tensor out) {
        long n = out.numel();
        if (n > 0) l.ops.launch("gelu_backward_" + suffix(x.dtype()), l.grid(n), 1, 1, THREADS, 1, l.ptr(x), l.ptr(dy), l.ptr(out), n);
    }

    void biasGelu(Tensor x, Tensor bias, Tensor out) {
        long n = out.numel();
        if (n > 0) l.ops.launch("bias_gelu_" + suffix(x.dtype()), l.grid(n), 1, 1, THREADS, 1, l.ptr(x), l.ptr(bias), l.ptr(out), n, x.size(-1));
    }

    void biasGeluBackward(Tensor x, Tensor bias, Tensor dy, Tensor out) {
        long n = out.numel();
        if (n > 0) {
            l.ops.launch("bias_gelu_backward_" + suffix(x.dtype()), l.grid(n), 1, 1, THREADS, 1, l.ptr(x), l.ptr(bias), l.ptr(dy), l.ptr(out), n,
                    x.size(-1));
        }
    }

    void addInPlace(Tensor dst, Tensor src, double alpha) {
        long n = dst.numel();
        if (n == 0) return;
        Object a = dst.dtype() == DType.F32 ? (Object) (float) alpha : (Object) alpha;
        l.ops.launch("add_inplace_" + suffix(dst.dtype()), l.grid(n), 1, 1, THREADS, 1, l.ptr(dst), l.ptr(src), a, n);
    }

    void scaleInPlace(Tensor t, double s) {
        long n = t.numel();
        if (n > 0) l.ops.launch("scale_inplace_" + suffix(t.dtype()), l.grid(n), 1, 1, THREADS, 1, l.ptr(t), s, n);
    }

    /** A list of float32 (x, y) pairs, each y ← s·x, launched 48 pairs at a time. */
    TensorList scaleList(double s) {
        return new TensorList(l::ptr, list -> l.ops.launch("scale_list_f32", list.blocks(), 1, 1, THREADS, 1, list.parameter(), s));
    }

    /** A list of (float32 x, y) pairs, each y ← x rounded to {@code to} (BF16 or F16) as {@link #cast} rounds it, 48 pairs at a time. */
    TensorList castList(DType to) {
        return new TensorList(l::ptr, list -> l.ops.launch("cast_list_f32_" + suffix(to), list.blocks(), 1, 1, THREADS, 1, list.parameter()));
    }
}
