package dev.bertft.bert;

import dev.bertft.autograd.Var;
import dev.bertft.nn.Linear;
import dev.bertft.nn.Module;
import dev.bertft.nn.Rng;
import dev.bertft.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Multi-head scaled dot-product self-attention (transformers' eager BertSelfAttention):
 * per head, probs = softmax(q·kᵀ / √HS + mask), context = dropout(probs)·v; the heads are
 * concatenated back to H = NH·HS features. The softmax, dropout and product run as one fused op
 * ({@link Var#attention}) that recomputes the probabilities in the backward instead of keeping
 * the [B, NH, T, T] tensor; its dropout mask is the one a separate dropout would draw.
 *
 * <p>Q, K and V come from one [3·H, H] product, so one GEMM reads x instead of three and the
 * backward is one GEMM each for dx and dW. Its weight and bias are the parameters the optimizer
 * updates (one tensor each, their AdamW moments too), held fused from loading on: no copy per
 * step. Checkpoints keep HF's separate {@code query}, {@code key} and {@code value} tensors,
 * which are row views of the fused ones ({@link Module.Visitor#fusedChild}).
 */
final class BertSelfAttention implements Module {
    /** HF's names of the three, in the order of their rows in {@link #qkv}. */
    private static final List<String> PARTS = List.of("query", "key", "value");
    final Linear qkv;    // [3H, H]: query, key, value rows in that order
    /** The [H, H] query, key and value Linears as views of qkv's rows: what checkpoints hold. */
    private final Map<String, Module> stored = new LinkedHashMap<>();
    private final int numHeads, headSize;
    private final double dropoutP;
    private final Rng rng;
    private boolean training = true;

    BertSelfAttention(BertConfig c, Params p, Rng rng) {
        numHeads = c.numAttentionHeads();
        headSize = c.headSize();
        int h = c.hiddenSize();
        qkv = p.fusedLinear(PARTS, h, h);
        for (int i = 0; i < PARTS.size(); i++) stored.put(PARTS.get(i), qkv.rows(i * h, h));
        dropoutP = c.attentionProbsDropoutProb();
        this.rng = rng;
    }

    /**
     * x: [B, T, H]; keyMask: F32 [B, T], 0 where a key may be attended to and float32-min where it
     * is padding, so those keys get probability 0 after the softmax.
     */
    Var forward(Var x, Tensor keyMask) {
        int b = x.size(0), t = x.size(1);
        Var context = attend(qkv.forwardOperand(x), t, keyMask);                    // [B, NH, T, HS]
        return context.permute(0, 2, 1, 3).reshape(b, t, numHeads * headSize);      // [B, T, H]
    }

    /**
     * x: [B, T, H] → [B, H], forward(x, keyMask)[:, 0] bit for bit, gradients included: keys and
     * values for every position, the query projection and the attention for the [CLS] query rows
     * alone ({@link Var#linearFirstQuery}); the dropout draws the full attention's bits there.
     */
    Var forwardCls(Var x, Tensor keyMask) {
        Var context = attend(x.linearFirstQuery(qkv.weight, qkv.bias, numHeads * headSize), 1, keyMask);  // [B, NH, 1, HS]
        return context.permute(0, 2, 1, 3).reshape(x.size(0), numHeads * headSize);                       // [B, H]
    }

    /** Attention of the first {@code queryRows} positions over all of the packed [B, T, 3H] heads. */
    private Var attend(Var packed, int queryRows, Tensor keyMask) {
        boolean drop = training && dropoutP > 0;
        return Var.packedAttention(packed, numHeads, queryRows, keyMask, 1.0 / Math.sqrt(headSize), dropoutP, drop, rng.seed(),
                drop ? rng.next() : 0);
    }

    @Override
    public void setTraining(boolean training) {
        this.training = training;
    }

    @Override
    public void visit(Visitor v) {
        v.fusedChild("qkv", qkv, stored);
    }
}
