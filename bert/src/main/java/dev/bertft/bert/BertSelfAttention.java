package dev.bertft.bert;

import dev.bertft.autograd.Var;
import dev.bertft.nn.Linear;
import dev.bertft.nn.Module;
import dev.bertft.nn.Rng;
import dev.bertft.tensor.Tensor;

/**
 * Multi-head scaled dot-product self-attention (transformers' eager BertSelfAttention):
 * per head, probs = softmax(q·kᵀ / √HS + mask), context = dropout(probs)·v; the heads are
 * concatenated back to H = NH·HS features. The softmax, dropout and product run as one fused op
 * ({@link Var#attention}) that recomputes the probabilities in the backward instead of keeping
 * the [B, NH, T, T] tensor; its dropout mask is the one a separate dropout would draw.
 */
final class BertSelfAttention implements Module {
    final Linear query;  // [H, H]
    final Linear key;    // [H, H]
    final Linear value;  // [H, H]
    private final int numHeads, headSize;
    private final double dropoutP;
    private final Rng rng;
    private boolean training = true;

    BertSelfAttention(BertConfig c, Params p, Rng rng) {
        numHeads = c.numAttentionHeads();
        headSize = c.headSize();
        query = p.linear("query", c.hiddenSize(), c.hiddenSize());
        key = p.linear("key", c.hiddenSize(), c.hiddenSize());
        value = p.linear("value", c.hiddenSize(), c.hiddenSize());
        dropoutP = c.attentionProbsDropoutProb();
        this.rng = rng;
    }

    /**
     * x: [B, T, H]; keyMask: F32 [B, T], 0 where a key may be attended to and float32-min where it
     * is padding, so those keys get probability 0 after the softmax.
     */
    Var forward(Var x, Tensor keyMask) {
        int b = x.size(0), t = x.size(1);
        Var q = heads(query.forwardOperand(x), b, t);   // [B, NH, T, HS], BF16/F16 under autocast
        Var k = heads(key.forwardOperand(x), b, t);     // [B, NH, T, HS]
        Var v = heads(value.forwardOperand(x), b, t);   // [B, NH, T, HS]
        boolean drop = training && dropoutP > 0;
        Var context = Var.attention(q, k, v, keyMask, 1.0 / Math.sqrt(headSize), dropoutP, drop,
                rng.seed(), drop ? rng.next() : 0);                                  // [B, NH, T, HS]
        return context.permute(0, 2, 1, 3).reshape(b, t, numHeads * headSize);      // [B, T, H]
    }

    /** [B, T, H] → [B, NH, T, HS]. */
    private Var heads(Var x, int b, int t) {
        return x.reshape(b, t, numHeads, headSize).permute(0, 2, 1, 3);
    }

    @Override
    public void setTraining(boolean training) {
        this.training = training;
    }

    @Override
    public void visit(Visitor v) {
        v.child("query", query);
        v.child("key", key);
        v.child("value", value);
    }
}
