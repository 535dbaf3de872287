package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;

import static dev.bertft.cuda.Launches.THREADS;

/**
 * The launches of attention.cu's fused attention: a block of {@link #BLOCK_THREADS} threads (4 warps
 * of 16 rows on tensor cores) per {@link #ROWS} query (or key) rows of one (batch, head) pair, the
 * pairs along grid y. {@link #ROWS} and {@link #BLOCK_THREADS} are the kernel's {@code #define}s of
 * the same names, which {@code KernelGeometryTest} reads back. Operands are [B, NH, T, HS] views
 * with a unit-stride feature axis, q, out and their gradients with the first Tq ≤ T query rows
 * ([B, NH, Tq, HS]); the kernels take their other strides as a HeadStrides argument.
 */
final class AttentionKernels {
    static final int ROWS = 64, BLOCK_THREADS = 128;

    private final Launches l;

    AttentionKernels(Launches launches) {
        this.l = launches;
    }

    /**
     * The fused kernels exist for float32 (TF32 products, so only while {@code tf32} is on) and
     * BF16/F16 heads of 16, 32 or 64 features; other cases compose plain ops.
     */
    static boolean fits(Tensor q, boolean tf32) {
        int hs = q.size(3);
        return (q.dtype() == DType.F32 ? tf32 : q.dtype().isHalf()) && (hs == 16 || hs == 32 || hs == 64) && (long) q.size(0) * q.size(1) <= 65535;
    }

    /** The kernels' name part for q's format: "" for float32, "_bf16", "_f16". */
    private static String format(Tensor q) {
        return q.dtype() == DType.F32 ? "" : "_" + Launches.suffix(q.dtype());
    }

    /** The kernels' name part for the format they write {@code x} (out or a gradient) in: "" for float32, "_bf16", "_f16". */
    private static String written(Tensor x) {
        return x.dtype() == DType.F32 ? "" : "_" + Launches.suffix(x.dtype());
    }

    /** The HeadStrides kernel parameter: element strides along B, NH and T. */
    private static int[] headStrides(Tensor x) {
        return new int[] {x.stride(0), x.stride(1), x.stride(2)};
    }

    /**
     * out (float32, or q's half format) and the rows' log-sum-exp {@code lse} [B, NH, Tq] of
     * softmax(q·kᵀ·scale + mask) (dropped out) · v; with dropout (p &gt; 0) the kept elements are
     * {@code bits}' ({@link RandomKernels#attentionKeepBits}), else bits is null.
     */
    void forward(Tensor qs, Tensor ks, Tensor vs, Tensor mask, Tensor out, Tensor lse, double scale, double dropoutP, Tensor bits) {
        int b = qs.size(0), nh = qs.size(1), tq = qs.size(2), hs = qs.size(3), t = ks.size(2);
        l.ops.launch("attention_forward" + format(qs) + "_hs" + hs + written(out), (tq + ROWS - 1) / ROWS, b * nh, 1, BLOCK_THREADS, 1,
                l.ptr(qs), headStrides(qs), l.ptr(ks), headStrides(ks), l.ptr(vs), headStrides(vs), l.ptr(mask), l.ptr(out), headStrides(out),
                l.ptr(lse), nh, tq, t, (float) scale, l.ptrOrNull(bits), (float) (1 / (1 - dropoutP)));
    }

    /**
     * dq, dk and dv from the output gradient {@code g}: first dd = rowsum(g ⊙ out) [B, NH, Tq], then
     * one pass over key tiles for dk and dv and one over query tiles for dq, the probabilities
     * recomputed from {@code lse} and the dropout factors read from the forward's {@code bits}
     * (null without dropout). out as the forward wrote it; dq, dk and dv in one format, float32 or
     * q's half one.
     */
    void backward(Tensor g, Tensor qs, Tensor ks, Tensor vs, Tensor mask, Tensor out, Tensor lse, Tensor dd, Tensor dq, Tensor dk, Tensor dv,
                  double scale, double dropoutP, Tensor bits) {
        int b = qs.size(0), nh = qs.size(1), tq = qs.size(2), hs = qs.size(3), t = ks.size(2);
        long rows = (long) b * nh * tq;
        l.ops.launch("attention_backward_dot" + format(qs) + written(out), l.grid(rows * Math.min(32, hs)), 1, 1, THREADS, 1, l.ptr(g), headStrides(g), l.ptr(out),
                headStrides(out), l.ptr(dd), nh, tq, rows, hs);
        float keep = (float) (1 / (1 - dropoutP)), sc = (float) scale;
        l.ops.launch("attention_backward_kv" + format(qs) + "_hs" + hs + written(dk), (t + ROWS - 1) / ROWS, b * nh, 1, BLOCK_THREADS, 1, l.ptr(g), headStrides(g),
                l.ptr(qs), headStrides(qs), l.ptr(ks), headStrides(ks), l.ptr(vs), headStrides(vs), l.ptr(mask), l.ptr(lse), l.ptr(dd), l.ptr(dk),
                l.ptr(dv), headStrides(dk), nh, tq, t, sc, l.ptrOrNull(bits), keep);
        l.ops.launch("attention_backward_q" + format(qs) + "_hs" + hs + written(dq), (tq + ROWS - 1) / ROWS, b * nh, 1, BLOCK_THREADS, 1, l.ptr(g), headStrides(g),
                l.ptr(qs), headStrides(qs), l.ptr(ks), headStrides(ks), l.ptr(vs), headStrides(vs), l.ptr(mask), l.ptr(lse), l.ptr(dd), l.ptr(dq),
                headStrides(dq), nh, tq, t, sc, l.ptrOrNull(bits), keep);
    }
}
