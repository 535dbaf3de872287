package dev.bertft.tensor;

/**
 * Attention over BF16/F16 q, k, v [B, NH, T, HS] with autocast's semantics, composed from plain
 * ops for every backend without a fused half-precision kernel, and the reference such a kernel
 * is held to: both products (Q·Kᵀ, P·V) take half-precision operands and sum in float32; the
 * scores, softmax statistics, dropout and the log-sum-exp are float32; the probabilities are
 * rounded to the operands' type only as the second product's operand. The output and every
 * gradient are float32. The dropout mask is {@link Backend#attentionDropoutMask}'s, as in float32 attention.
 */
public final class HalfAttention {
    private HalfAttention() {}

    public static Backend.AttentionOut forward(Tensor q, Tensor k, Tensor v, Tensor mask, double scale, double p, long seed, long offset) {
        Tensor scores = scores(q, k, mask, scale);                                   // [B, NH, T, T] float32
        Tensor max = scores.reduce(Ops.Reduce.MAX, true, -1);
        Tensor lse = scores.sub(max).exp().reduce(Ops.Reduce.SUM, true, -1).log().add(max).squeeze(-1);
        Tensor probs = dropped(scores.softmax(), p, seed, offset);
        return new Backend.AttentionOut(probs.cast(q.dtype()).matmul(v, DType.F32), lse);
    }

    /** dV = P̃ᵀ·dO, dP = dO·Vᵀ (times the mask), dS = P ⊙ (dP − Σ dP⊙P)·scale, dQ = dS·K, dK = dSᵀ·Q; every product of half operands. */
    public static Backend.AttentionGrads backward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor mask, double scale, double p,
                                                  long seed, long offset) {
        DType h = q.dtype();
        Backend be = q.backend();
        Tensor probs = scores(q, k, mask, scale).softmax();
        Tensor dOutH = dOut.cast(h);
        Tensor dv = dropped(probs, p, seed, offset).cast(h).transpose(-1, -2).matmul(dOutH, DType.F32);
        Tensor dp = dropped(dOutH.matmul(v.transpose(-1, -2), DType.F32), p, seed, offset);
        Tensor ds = be.softmaxBackward(probs, dp).mul(scale).cast(h);
        return new Backend.AttentionGrads(ds.matmul(k, DType.F32), ds.transpose(-1, -2).matmul(q, DType.F32), dv);
    }

    /** q·kᵀ·scale + mask over the keys, float32. */
    private static Tensor scores(Tensor q, Tensor k, Tensor mask, double scale) {
        return q.matmul(k.transpose(-1, -2), DType.F32).mul(scale).add(mask.unsqueeze(1).unsqueeze(1));
    }

    private static Tensor dropped(Tensor x, double p, long seed, long offset) {
        return p > 0 ? x.mul(x.backend().attentionDropoutMask(DType.F32, x.shape(), p, seed, offset)) : x;
    }
}
