package dev.bertft.tensor;

import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Everything a device must do for BERT training, in one narrow interface. Tensors dispatch every
 * op to the backend that owns their storage, so model code never names a device. Inputs may be
 * strided views; outputs are new contiguous tensors unless the method says "in place".
 * Shapes and dtypes are validated by {@link Tensor} before an op reaches a backend.
 */
public interface Backend {

    /** "cpu", "cuda:0", ... */
    String name();

    // ---- memory ---------------------------------------------------------------------------

    /** A contiguous tensor of zeros. */
    Tensor zeros(DType dtype, int... shape);

    /** A contiguous tensor holding a copy of {@code data} (float[], double[] or int[] matching dtype). */
    Tensor fromHost(Object data, DType dtype, int... shape);

    /** The elements of {@code t} in row-major order, as float[], double[] or int[] by dtype. */
    Object toHost(Tensor t);

    /**
     * {@link #toHost}'s values of {@code t} as they are here, in the order of the work asked of this
     * backend, read without waiting for that work: the supplier waits for what came before this call,
     * not for what the caller asks after it, and returns what {@link #toHost} would have returned now.
     * So the host can queue a training step before it reads the last one's results, and the device is
     * not left idle meanwhile. The default reads them now.
     */
    default Supplier<Object> toHostLater(Tensor t) {
        Object values = toHost(t);
        return () -> values;
    }

    /** A contiguous copy of a (possibly strided) view. */
    Tensor contiguous(Tensor t);

    Tensor cast(Tensor t, DType to);

    /** {@link #cast} of each of {@code ts}, which a backend may do in fewer launches than one a tensor. */
    default List<Tensor> castAll(List<Tensor> ts, DType to) {
        return ts.stream().map(t -> cast(t, to)).toList();
    }

    Tensor full(DType dtype, int[] shape, double value);

    /** Copies {@code t} onto this backend (from whichever backend holds it). */
    default Tensor adopt(Tensor t) {
        return t.backend() == this ? t : fromHost(t.toHost(), t.dtype(), t.shape());
    }

    /**
     * Opens a memory scope on the calling thread: closing it frees the memory of every tensor this
     * thread made on this backend since, except those passed to {@link Scope#keep}. For loops
     * whose tensors die with each iteration (a training step, a prediction batch): a GPU gets its
     * activations back at once instead of when the garbage collector finds them, which may be
     * many steps and gigabytes later; the CPU reuses the arrays for the next step's tensors instead
     * of having new ones zeroed and collected.
     */
    default Scope openScope() {
        return NO_SCOPE;
    }

    /** See {@link #openScope()}. Scopes nest; each is closed on its thread, innermost first. */
    interface Scope extends AutoCloseable {
        /** Lets {@code t}, and every view of its storage, outlive this scope (it joins the enclosing one, if any). */
        void keep(Tensor t);

        /**
         * Frees {@code t}'s storage now if this scope, or one open inside it, made it; does nothing
         * otherwise. For a tensor the caller knows nothing uses again, neither it nor any view.
         */
        void release(Tensor t);

        /** Frees the scope's tensors; using one afterwards fails with an {@link IllegalStateException}. */
        @Override
        void close();
    }

    /** The scope of a backend whose memory needs none. */
    Scope NO_SCOPE = new Scope() {
        @Override
        public void keep(Tensor t) {}

        @Override
        public void release(Tensor t) {}

        @Override
        public void close() {}
    };

    // ---- pointwise ------------------------------------------------------------------------

    Tensor unary(Ops.Unary op, Tensor x);

    /**
     * GELU of a float32 tensor, with its result also rounded once to {@code copy} (BF16 or F16):
     * the operand of the Linear it feeds, which a backend may write in the same pass. Of a BF16/F16
     * x (a product under autocast) GELU is computed in float32 all the same; a backend that reads
     * x as it is and writes only the copy gives the copy as out too.
     */
    default Copied<Tensor> gelu(Tensor x, DType copy) {
        Tensor y = unary(Ops.Unary.GELU, x.dtype().isHalf() ? x.cast(DType.F32) : x);
        return new Copied<>(y, y.cast(copy));
    }

    /** An op's result and its half-precision copy. */
    record Copied<T>(T out, Tensor copy) {}

    Tensor scalar(Ops.Scalar op, Tensor x, double s);

    /** Broadcasting binary op; the output shape is the broadcast of both input shapes. */
    Tensor binary(Ops.Binary op, Tensor a, Tensor b);

    /**
     * a ⊙ b of same-shape float32 tensors (dropout's x ⊙ mask), with the product also rounded once
     * to {@code copy} (BF16 or F16): the operand of the Linear it feeds, which a backend may write
     * in the same pass.
     */
    default Copied<Tensor> mul(Tensor a, Tensor b, DType copy) {
        Tensor y = binary(Ops.Binary.MUL, a, b);
        return new Copied<>(y, y.cast(copy));
    }

    /** dx = dy · GELU'(x), GELU'(x) = Φ(x) + x·φ(x). */
    Tensor geluBackward(Tensor x, Tensor dy);

    /**
     * {@link #geluBackward} of x in any format and a float32 dy, dx computed in float32 and written
     * rounded once to {@code out}: under autocast the dY operand of the Linear that made x, which
     * is all that reads it (the bias gradient is summed from it too, as torch.autocast's is).
     */
    default Tensor geluBackward(Tensor x, Tensor dy, DType out) {
        return geluBackward(x.cast(dy.dtype()), dy).cast(out);
    }

    /**
     * GELU(x + bias), bias [N] added along x's last axis: a Linear layer's bias and activation in
     * one pass over its product instead of two. The default runs the two ops.
     */
    default Tensor biasGelu(Tensor x, Tensor bias) {
        return unary(Ops.Unary.GELU, binary(Ops.Binary.ADD, x, bias));
    }

    /** The gradient of {@link #biasGelu} with respect to x (and to the bias, summed over rows): dy · GELU'(x + bias). */
    default Tensor biasGeluBackward(Tensor x, Tensor bias, Tensor dy) {
        return geluBackward(binary(Ops.Binary.ADD, x, bias), dy);
    }

    /**
     * A Linear layer and its GELU, y = GELU(x·wᵀ + bias): {@link #biasGelu} of the product x·wᵀ,
     * and with {@code keepForBackward} what {@link #geluBackward(GeluSaved, Tensor)} reads (false
     * in prediction, where nothing will differentiate it: y may be written over the product). A
     * backend may apply the bias and GELU to each block of the product while it is in cache.
     */
    default LinearGelu linearGelu(Tensor x, Tensor w, Tensor bias, boolean keepForBackward) {
        Tensor product = linear(x, w, null);
        return new LinearGelu(biasGelu(product, bias), GeluSaved.ofProduct(product, bias));
    }

    /** {@link #linearGelu}'s y, and what its backward reads (may be null when not kept). */
    record LinearGelu(Tensor y, GeluSaved saved) {}

    /**
     * {@link #linearGelu} as torch.autocast computes it, x, w and bias in one 16-bit format: the
     * product plus bias rounded to it (the pre-activation, which GELU's backward reads; returned
     * when kept), then GELU in float32 rounded to it, for the next Linear.
     */
    default HalfLinearGelu halfLinearGelu(Tensor x, Tensor w, Tensor bias, boolean keepPre) {
        Tensor pre = linear(x, w, bias);
        return new HalfLinearGelu(gelu(pre, x.dtype()).copy(), keepPre ? pre : null);
    }

    /** {@link #halfLinearGelu}'s y and pre-activation (null when not kept), both in the operands' format. */
    record HalfLinearGelu(Tensor y, Tensor pre) {}

    /**
     * What the backward of y = GELU(z), z = x·wᵀ + bias, reads, as the backend that computed y kept
     * it (one of the three): the product x·wᵀ and the bias, GELU'(z) to be taken again of their
     * sum; GELU'(z) itself, which a backend may take beside GELU(z) from the same exponential; or,
     * under autocast, z itself rounded to the products' 16-bit format ({@link #halfLinearGelu}'s
     * pre-activation), the gradient at z then written in that format for the products that read it.
     */
    record GeluSaved(Tensor product, Tensor bias, Tensor derivative, Tensor halfPre) {
        public static GeluSaved ofProduct(Tensor product, Tensor bias) {
            return new GeluSaved(product, bias, null, null);
        }

        public static GeluSaved ofDerivative(Tensor derivative) {
            return new GeluSaved(null, null, derivative, null);
        }

        public static GeluSaved ofHalfPre(Tensor pre) {
            return new GeluSaved(null, null, null, pre);
        }
    }

    /**
     * The gradient at GELU's input z from dy at its output: dy · GELU'(z), the saved GELU'(z) or
     * {@link #biasGeluBackward}; of a half z, from float32 dy, written in z's format.
     */
    default Tensor geluBackward(GeluSaved saved, Tensor dy) {
        if (saved.halfPre() != null) return geluBackward(saved.halfPre(), dy.dtype() == DType.F32 ? dy : dy.cast(DType.F32), saved.halfPre().dtype());
        if (saved.derivative() != null) return binary(Ops.Binary.MUL, dy, saved.derivative());
        return biasGeluBackward(saved.product(), saved.bias(), dy);
    }

    /**
     * {@link #geluBackward(GeluSaved, Tensor)} of dz·w: the gradient at the input of a GELU whose
     * output feeds a Linear layer with weight w [N, I], dz [..., N] being the gradient at that
     * layer's output. A backend may multiply each block of dz·w by GELU' while it is in cache,
     * instead of writing dz·w out and reading it back.
     */
    default Tensor matmulGeluBackward(Tensor dz, Tensor w, GeluSaved saved) {
        // autocast's half dz and w: the product's float32 sums, as every autocast product's
        return geluBackward(saved, saved.halfPre() != null ? dz.matmul(w, DType.F32) : dz.matmul(w));
    }

    /**
     * onto + a·b, the product written in onto's dtype ({@link #matmul(Tensor, Tensor, DType)}) and
     * onto of its shape: a gradient product added to the gradient its value has collected already.
     * A backend may add onto to each block of the product while it is in cache, instead of writing
     * the product out and reading both back.
     */
    default Tensor matmulAdd(Tensor a, Tensor b, Tensor onto) {
        return onto.add(matmul(a, b, onto.dtype()));
    }

    /** Elements kept with probability 1−p get 1/(1−p), the others 0; drawn from Philox(seed, offset). */
    Tensor dropoutMask(DType dtype, int[] shape, double p, long seed, long offset);

    /** Normal(mean, std) samples from Philox(seed, offset) (Box–Muller). */
    Tensor normal(DType dtype, int[] shape, double mean, double std, long seed, long offset);

    // ---- reductions -----------------------------------------------------------------------

    /** Reduces over {@code axes} (sorted, distinct, non-empty). */
    Tensor reduce(Ops.Reduce op, Tensor x, int[] axes, boolean keepDims);

    /** Index of the largest element along {@code axis} (first on ties); I32, that axis removed. */
    Tensor argmax(Tensor x, int axis);

    // ---- linear algebra -------------------------------------------------------------------

    /**
     * a[..., M, K] · b[..., K, N] → [..., M, N]. The batch dims of a and b are equal, or b is 2-D
     * and shared by every batch entry. A view whose last two dims are transposed is used in place.
     */
    Tensor matmul(Tensor a, Tensor b);

    /**
     * {@link #matmul} with the result in {@code out}: the operands' dtype, or F32 for BF16/F16
     * operands, whose products are then accumulated and kept in float32 without the final rounding.
     */
    default Tensor matmul(Tensor a, Tensor b, DType out) {
        return out == a.dtype() ? matmul(a, b) : matmul(a.cast(DType.F32), b.cast(DType.F32));
    }

    /**
     * A Linear layer, x[..., K]·wᵀ + bias with w as [N, K] and bias [N] or null; checked by
     * {@link Tensor#linear}. A backend may add the bias into the product's output in place, saving
     * a tensor the size of the output and a pass over it.
     */
    default Tensor linear(Tensor x, Tensor w, Tensor bias) {
        Tensor y = matmul(x, w.transpose(0, 1));
        return bias == null ? y : y.add(bias);
    }

    /**
     * A Linear layer's parameter gradients from dY [T, N] and its input x [T, K]: dW = dYᵀ·x
     * written as {@code out} (as {@link #matmul}), and db = dY's column sums [N] in dY's dtype,
     * but float32 for a BF16/F16 dY with a float32 dW (autocast's parameter gradients stay float32).
     * A backend may add up the columns while its product reads dY, saving a pass over dY.
     */
    default LinearGrads linearGrads(Tensor dy, Tensor x, DType out) {
        Tensor dw = dy.transpose(0, 1).matmul(x, out);
        return new LinearGrads(dw, dy.dtype().isHalf() && out == DType.F32 ? dy.cast(DType.F32).sum(0) : dy.sum(0));
    }

    record LinearGrads(Tensor weight, Tensor bias) {}

    /**
     * A promise that Linear weight w [N, K] never changes again (a model loaded for prediction): the
     * backend may keep a copy of it in the layout its {@link #linear} reads, so that no call packs
     * it again. The results of linear keep their bits. Does nothing by default.
     */
    default void holdLinearWeight(Tensor w) {}

    /**
     * {@link #linear} of BF16/F16 x and w written as float32 (the sums unrounded), plus a float32
     * bias or null: an autocast Linear. A backend may add the bias as it writes the product.
     */
    default Tensor linear(Tensor x, Tensor w, Tensor bias, DType out) {
        if (out == x.dtype()) return linear(x, w, bias);
        Tensor y = matmul(x, w.transpose(0, 1), out);
        return bias == null ? y : y.add(bias);
    }

    // ---- attention --------------------------------------------------------------------------

    /**
     * Scaled dot-product attention for q, k, v of shape [B, NH, T, HS] and an additive key mask
     * [B, T] (0 for tokens, a large negative number for padding):
     * P = softmax(q·kᵀ·scale + mask), out = dropout(P)·v. The dropout mask is the one
     * {@link #dropoutMask} draws for shape [B, NH, T, T] with the same seed and offset, so the
     * fused op equals its composition. Also returns each query row's log-sum-exp [B, NH, T], from
     * which the backward recomputes P instead of storing it.
     *
     * <p>q may hold only the first Tq ≤ T query positions ([B, NH, Tq, HS], the [CLS] rows of a
     * head that reads no other): the result is then those rows of the full one, dropout included
     * ({@link #attentionDropoutMask}), and dk, dv sum over those query rows alone.
     *
     * <p>The default composes the plain ops: what a backend runs where its fused kernels do not
     * apply (float64, other head sizes).
     */
    default AttentionOut attention(Tensor q, Tensor k, Tensor v, Tensor mask, double scale, double dropoutP, long seed, long offset) {
        if (q.dtype().isHalf()) return HalfAttention.forward(q, k, v, mask, scale, dropoutP, seed, offset);
        Tensor bias = mask.unsqueeze(1).unsqueeze(1); // (B, 1, 1, T)
        Tensor scores = q.matmul(k.transpose(-1, -2)).mul(scale).add(bias);
        Tensor max = scores.reduce(Ops.Reduce.MAX, true, -1);
        Tensor lse = scores.sub(max).exp().reduce(Ops.Reduce.SUM, true, -1).log().add(max).squeeze(-1);
        Tensor probs = scores.softmax();
        if (dropoutP > 0) probs = probs.mul(attentionDropoutMask(q.dtype(), probs.shape(), dropoutP, seed, offset));
        return new AttentionOut(probs.matmul(v), lse);
    }

    /** dq, dk, dv of {@link #attention}; the default recomputes P and the dropout mask from the plain ops. */
    default AttentionGrads attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor mask, AttentionOut forward,
                                             double scale, double dropoutP, long seed, long offset) {
        if (q.dtype().isHalf()) return HalfAttention.backward(dOut, q, k, v, mask, scale, dropoutP, seed, offset);
        Tensor bias = mask.unsqueeze(1).unsqueeze(1);
        Tensor probs = q.matmul(k.transpose(-1, -2)).mul(scale).add(bias).softmax();
        Tensor drop = dropoutP > 0 ? attentionDropoutMask(q.dtype(), probs.shape(), dropoutP, seed, offset) : null;
        Tensor dropped = drop == null ? probs : probs.mul(drop);
        Tensor dv = dropped.transpose(-1, -2).matmul(dOut);
        Tensor dp = dOut.matmul(v.transpose(-1, -2));
        if (drop != null) dp = dp.mul(drop);
        Tensor ds = softmaxBackward(probs, dp).mul(scale);
        return new AttentionGrads(ds.matmul(k), ds.transpose(-1, -2).matmul(q), dv);
    }

    /**
     * {@link #attention} of BF16/F16 q, k, v whose output the caller reads only as a product's
     * operand in q's format (torch.autocast's attention output): a backend whose kernel writes that
     * format returns the output so, rounded once from its float32 sums, and keeps no float32 copy.
     * The default returns float32, as {@link #attention}; the reader rounds it.
     */
    default AttentionOut attentionHalfOut(Tensor q, Tensor k, Tensor v, Tensor mask, double scale, double dropoutP, long seed, long offset) {
        return attention(q, k, v, mask, scale, dropoutP, seed, offset);
    }

    /**
     * {@link #attentionBackward} of BF16/F16 q, k, v whose gradients the caller reads only as
     * products' operands in q's format (the backward of autocast's Q/K/V projection): a backend
     * whose kernels write that format returns dq, dk and dv so, each rounded once from its float32
     * sum. The default returns float32, as {@link #attentionBackward}; the reader rounds them.
     */
    default AttentionGrads attentionHalfBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor mask, AttentionOut forward,
                                                 double scale, double dropoutP, long seed, long offset) {
        return attentionBackward(dOut, q, k, v, mask, forward, scale, dropoutP, seed, offset);
    }

    /**
     * The gradients of attention over heads packed in one [B, T, 3·NH·HS] product of a fused
     * Q/K/V Linear (q, k, v its views: query features first, then key, then value), as one tensor
     * in that layout, dq zero past its Tq rows: the operand of that product's backward. half: q,
     * k and v are BF16/F16 ({@link #attentionHalfBackward}). The default writes the three gradients
     * of {@link #attentionBackward} into it; a backend whose kernels can write it in place saves
     * those copies.
     */
    default Tensor packedAttentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor mask, AttentionOut forward,
                                           double scale, double dropoutP, long seed, long offset, boolean half) {
        AttentionGrads d = half ? attentionHalfBackward(dOut, q, k, v, mask, forward, scale, dropoutP, seed, offset)
                : attentionBackward(dOut, q, k, v, mask, forward, scale, dropoutP, seed, offset);
        int b = k.size(0), t = k.size(2), features = k.size(1) * k.size(3);
        return Tensor.concat(List.of(packedRows(d.dq(), t), packed(d.dk()), packed(d.dv())), 2).reshape(b, t, 3 * features);
    }

    /** {@link #packed} of the first rows' query gradient [B, NH, Tq, HS], zeros at the other of t positions. */
    private static Tensor packedRows(Tensor dq, int t) {
        if (dq.size(2) == t) return packed(dq);
        Tensor all = dq.backend().zeros(dq.dtype(), dq.size(0), t, 1, dq.size(1), dq.size(3));
        dq.backend().copyInPlace(all.narrow(1, 0, dq.size(2)), packed(dq));
        return all;
    }

    /** [B, NH, T, HS] → a [B, T, 1, NH, HS] view, one third of a packed gradient. */
    private static Tensor packed(Tensor headGrad) {
        return headGrad.permute(0, 2, 1, 3).unsqueeze(2);
    }

    /**
     * The dropout factors of attention probabilities [B, NH, Tq, T]: the first Tq query rows of the
     * mask {@link #dropoutMask} draws for [B, NH, T, T], so a head computed for its first query rows
     * drops what the full attention drops there. Only those rows' elements of the Philox stream are
     * drawn: for the [CLS] rows, B·NH·T draws instead of B·NH·T·T.
     */
    Tensor attentionDropoutMask(DType dtype, int[] probsShape, double p, long seed, long offset);

    /**
     * The attention output, each query row's log-sum-exp, and optionally the dropout mask the
     * forward drew, bit-packed in an I32 tensor (one row of ⌈T/32⌉ words per query), so a backend
     * may keep it instead of drawing it again in the backward; null when it keeps none.
     */
    record AttentionOut(Tensor out, Tensor logSumExp, Tensor dropoutBits) {
        public AttentionOut(Tensor out, Tensor logSumExp) {
            this(out, logSumExp, null);
        }
    }

    record AttentionGrads(Tensor dq, Tensor dk, Tensor dv) {}

    // ---- normalisation and losses (last axis) -------------------------------------------------

    /** softmax over the last axis, max-subtracted. */
    Tensor softmax(Tensor x);

    Tensor logSoftmax(Tensor x);

    /** dx = y ⊙ (dy − Σ dy⊙y) for y = softmax(x). */
    Tensor softmaxBackward(Tensor y, Tensor dy);

    /** dx = dy − exp(y) · Σ dy for y = logSoftmax(x). */
    Tensor logSoftmaxBackward(Tensor y, Tensor dy);

    /** LayerNorm over the last axis: y, plus the per-row mean and 1/σ the backward needs. */
    LayerNormOut layerNorm(Tensor x, Tensor gamma, Tensor beta, double eps);

    /** {@link #layerNorm} of a float32 tensor, with y also rounded once to {@code copy}, as {@link #gelu(Tensor, DType)}. */
    default Copied<LayerNormOut> layerNorm(Tensor x, Tensor gamma, Tensor beta, double eps, DType copy) {
        LayerNormOut out = layerNorm(x, gamma, beta, eps);
        return new Copied<>(out, out.y().cast(copy));
    }

    LayerNormGrads layerNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor mean, Tensor rstd);

    record LayerNormOut(Tensor y, Tensor mean, Tensor rstd) {}

    record LayerNormGrads(Tensor dx, Tensor dgamma, Tensor dbeta) {}

    /**
     * The end of a BERT residual block, LayerNorm(dropout(x) + residual) over the last axis, as one
     * op: the dropout mask is the one {@link #dropoutMask} draws for x's shape with the same seed
     * and offset (none when p = 0), so the result equals the composition, which this default runs.
     * A backend may fuse it into one pass over each row, saving the masked and summed tensors.
     */
    default ResidualNormOut dropoutAddLayerNorm(Tensor x, Tensor residual, Tensor gamma, Tensor beta, double eps, double p,
                                                long seed, long offset) {
        Tensor dropped = p > 0 ? x.mul(dropoutMask(x.dtype(), x.shape(), p, seed, offset)) : x;
        Tensor sum = dropped.add(residual);
        LayerNormOut norm = layerNorm(sum, gamma, beta, eps);
        return new ResidualNormOut(norm.y(), sum, norm.mean(), norm.rstd(), null);
    }

    /**
     * {@link #dropoutAddLayerNorm} under autocast: y also rounded once to {@code copy} (BF16 or F16),
     * as {@link #layerNorm(Tensor, Tensor, Tensor, double, DType)}, and x either float32 or already
     * in {@code copy}'s format (the Linear before it wrote its product so); the sum, the statistics
     * and y are float32 either way. This default widens x and casts y after the float32 op.
     */
    default Copied<ResidualNormOut> dropoutAddLayerNorm(Tensor x, Tensor residual, Tensor gamma, Tensor beta, double eps, double p,
                                                        long seed, long offset, DType copy) {
        ResidualNormOut out = dropoutAddLayerNorm(x.cast(DType.F32), residual, gamma, beta, eps, p, seed, offset);
        return new Copied<>(out, out.y().cast(copy));
    }

    /**
     * The gradients of {@link #dropoutAddLayerNorm}: LayerNorm's backward on the kept sum gives
     * the residual's gradient, and that times the dropout mask gives x's (the same tensor when p = 0).
     */
    default ResidualNormGrads dropoutAddLayerNormBackward(Tensor dy, ResidualNormOut forward, Tensor gamma, double p, long seed,
                                                          long offset) {
        LayerNormGrads norm = layerNormBackward(dy, forward.sum(), gamma, forward.mean(), forward.rstd());
        Tensor ds = norm.dx();
        Tensor dx = p > 0 ? ds.mul(dropoutMask(ds.dtype(), ds.shape(), p, seed, offset)) : ds;
        return new ResidualNormGrads(dx, ds, norm.dgamma(), norm.dbeta());
    }

    /**
     * The same with x's gradient written rounded once to {@code dxFormat} (BF16 or F16), the rest
     * float32: under autocast the dY operand of the products of the Linear whose output the block
     * normalised, the only reader of that gradient, which a backend may write in the same pass.
     */
    default ResidualNormGrads dropoutAddLayerNormBackward(Tensor dy, ResidualNormOut forward, Tensor gamma, double p, long seed,
                                                          long offset, DType dxFormat) {
        ResidualNormGrads d = dropoutAddLayerNormBackward(dy, forward, gamma, p, seed, offset);
        return new ResidualNormGrads(d.dx().cast(dxFormat), d.dresidual(), d.dgamma(), d.dbeta());
    }

    /**
     * The normalised output, the sum dropout(x) + residual it normalised, its per-row mean and
     * 1/σ, and optionally the dropout mask bit-packed in an I32 tensor (one row of ⌈H/32⌉ words
     * per row of x, bit j % 32 of word j / 32 set where element j was kept), so a backend may keep
     * it instead of drawing it again in the backward; null when it keeps none.
     */
    record ResidualNormOut(Tensor y, Tensor sum, Tensor mean, Tensor rstd, Tensor dropoutBits) {}

    record ResidualNormGrads(Tensor dx, Tensor dresidual, Tensor dgamma, Tensor dbeta) {}

    /**
     * Mean over the rows whose label ≠ ignoreIndex of the cross-entropy against the label smoothed by
     * ε ({@code smoothing}): lse(x) − (1 − ε)·x[label] − ε·mean(x) per row (ε = 0: −log softmax(x)[label]); a scalar.
     */
    Tensor crossEntropy(Tensor logits, Tensor labels, int ignoreIndex, double smoothing);

    /** d loss / d logits for {@link #crossEntropy}: softmax(x) − (1 − ε)·onehot − ε/C per row, times the upstream gradient over the rows counted. */
    Tensor crossEntropyBackward(Tensor logits, Tensor labels, int ignoreIndex, double smoothing, Tensor dLoss);

    // ---- indexing -------------------------------------------------------------------------

    /** weight[V, H] gathered at ids[...] → [..., H]. Ids were range-checked by the caller. */
    Tensor embedding(Tensor weight, Tensor ids);

    /** The scatter-add transpose of {@link #embedding}: [V, H] with dy rows summed per id, in a fixed order. */
    Tensor embeddingBackward(Tensor ids, Tensor dy, int vocabSize);

    /** Parts of equal shape but for {@code axis}, joined along it: each is copied into its slice of the result. */
    default Tensor concat(List<Tensor> parts, int axis) {
        int[] shape = parts.get(0).shape();
        shape[axis] = 0;
        for (Tensor t : parts) shape[axis] += t.size(axis);
        Tensor out = zeros(parts.get(0).dtype(), shape);
        int start = 0;
        for (Tensor t : parts) {
            copyInPlace(out.narrow(axis, start, t.size(axis)), t);
            start += t.size(axis);
        }
        return out;
    }

    // ---- in place: optimizer and gradient accumulation -------------------------------------

    /** dst += alpha · src (same shape, dst contiguous). */
    void addInPlace(Tensor dst, Tensor src, double alpha);

    /** t ·= s (t contiguous). */
    void scaleInPlace(Tensor t, double s);

    /** dst ← src (same shape, dst contiguous). */
    void copyInPlace(Tensor dst, Tensor src);

    /**
     * Σ t², the total in double; a float32 tensor's squares may be summed in float32 first, in runs
     * short enough that the total stays within 2⁻¹⁸ of the exact sum (the CPU's SimdSquares).
     */
    double sumOfSquares(Tensor t);

    /**
     * Σ over all the tensors of Σ t², as {@link #sumOfSquares(Tensor)}: the squared global norm of
     * a model's gradients. A device backend reads back one number for all of them instead of one each.
     */
    default double sumOfSquares(List<Tensor> ts) {
        double sum = 0;
        for (Tensor t : ts) sum += sumOfSquares(t);
        return sum;
    }

    /**
     * One AdamW update of a parameter, as torch.optim.AdamW:
     * p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
     * p ← p − lr · (m / (1−β1^t)) / (√(v / (1−β2^t)) + ε).
     */
    void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step);

    /**
     * {@link #adamW(Tensor, Tensor, Tensor, Tensor, AdamWStep)} for each parameter of a group (the
     * i-th of every list together), which a device backend may run as one launch.
     */
    default void adamW(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, AdamWStep step) {
        for (int i = 0; i < params.size(); i++) adamW(params.get(i), grads.get(i), m.get(i), v.get(i), step);
    }

    /** Each tensor times s, as new tensors ({@code t.mul(s)} each): clipped gradients in one launch on a device. */
    default List<Tensor> scaled(List<Tensor> ts, double s) {
        return ts.stream().map(t -> t.mul(s)).toList();
    }

    /** Each tensor ·= s in place, each result as {@link #scaled} rounds it: the clip the default {@link #adamW(List, List, List, List, AdamWStep, Tensor)} applies. */
    default void scaleInPlace(List<Tensor> ts, double s) {
        List<Tensor> scaled = scaled(ts, s);
        for (int i = 0; i < ts.size(); i++) copyInPlace(ts.get(i), scaled.get(i));
    }

    record AdamWStep(double lr, double beta1, double beta2, double eps, double weightDecay, long step) {}

    // ---- an update without the host in the loop ---------------------------------------------

    /**
     * What the host decides after an update's backward pass, as tensors so a device keeps it: the
     * micro-batch losses summed in double, the gradient norm ‖g‖ (as {@link #sumOfSquares(List)}),
     * the clipping coefficient ({@link #clipCoefficient}), and whether the update must be skipped
     * (a non-finite loss or norm). Returns F64 {loss, ‖g‖, coefficient, skip}, which the caller
     * reads once, after the optimizer's work is queued. The default computes it here, on the host,
     * and leaves the gradients as they are: {@link #adamW(List, List, List, List, AdamWStep, Tensor)}
     * applies the coefficient.
     */
    default Tensor updateGuard(List<Tensor> losses, List<Tensor> grads, double maxNorm) {
        return updateGuard(losses, grads, maxNorm, null);
    }

    /**
     * The same, where {@code halted} (null, or an F64 scalar of one element that the caller keeps across
     * updates, 0 at first) makes a skip final: a skipped update sets it to 1, and every update guarded by
     * it after that is skipped too, whatever its own loss and norm. So a host that queues an update before
     * it has read the last one's guard cannot apply it on top of a non-finite one: a run that stops there
     * leaves the weights as the non-finite update found them.
     */
    default Tensor updateGuard(List<Tensor> losses, List<Tensor> grads, double maxNorm, Tensor halted) {
        double loss = 0;
        for (Tensor l : losses) loss += l.item();
        double norm = grads.isEmpty() ? 0 : Math.sqrt(sumOfSquares(grads));
        boolean skip = !(Double.isFinite(loss) && Double.isFinite(norm)) || halted != null && halted.item() != 0;
        if (skip && halted != null) copyInPlace(halted, fromHost(new double[] {1}, DType.F64, halted.shape()));
        return fromHost(new double[] {loss, norm, clipCoefficient(maxNorm, norm), skip ? 1 : 0}, DType.F64, 4);
    }

    /**
     * torch.nn.utils.clip_grad_norm_'s coefficient for the gradient norm {@code norm}: max_norm /
     * (‖g‖ + 1e-6) where that is below 1 and {@code maxNorm} > 0, else 1. Rounded to float32, the
     * type torch computes it in for float32 gradients: each clipped element, {@code (float) (g · c)},
     * is then the float32 product g·c, which vector code computes without widening to double.
     */
    static double clipCoefficient(double maxNorm, double norm) {
        double coef = maxNorm / (norm + 1e-6);
        return maxNorm > 0 && coef < 1 ? (float) coef : 1;
    }

    /**
     * {@link #adamW(List, List, List, List, AdamWStep)} on the gradients times {@code guard}'s
     * clipping coefficient (of {@link #updateGuard}), each product rounded as {@link #scaled} rounds
     * it, unless the guard says skip. Afterwards the gradients may hold the clipped values or the
     * ones they had (the default clips them in place, the CPU backend clips each block in place just
     * before it updates from it, the CUDA backend's AdamW kernel clips each as it reads it):
     * nothing may read them after the update.
     */
    default void adamW(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, AdamWStep step, Tensor guard) {
        double[] decided = (double[]) guard.toHost();
        if (decided[3] != 0) return;
        if (decided[2] != 1) scaleInPlace(grads, decided[2]);
        adamW(params, grads, m, v, step);
    }

    /**
     * What changes from one update to the next and is known before it starts: where the dropout
     * stream stands, the learning rate, and the number the optimizer's step will have.
     */
    record StepValues(long rngOffset, double lr, long optimizerStep) {}

    /** An update's output, and whether it was replayed from a captured graph (then the step's Java code did not run). */
    record StepRun(Tensor output, boolean replayed) {}

    /**
     * Runs {@code step} on {@code inputs}: one update whose only result the host reads is the
     * tensor it returns. A backend may capture the device work of a {@code key} as a graph and
     * replay it while the key repeats, with new inputs copied in and {@code values} taken anew;
     * so the step must launch the same work whenever its key is the same, and read nothing back
     * inside. The default runs it.
     */
    default StepRun runStep(String key, List<Tensor> inputs, StepValues values, Function<List<Tensor>, Tensor> step) {
        return new StepRun(step.apply(inputs), false);
    }
}
