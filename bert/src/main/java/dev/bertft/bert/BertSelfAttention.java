package dev.bertft.bert;

import dev.bertft.autograd.Var;
import dev.bertft.nn.Linear;
import dev.bertft.nn.Module;
import dev.bertft.nn.Rng;
import dev.bertft.tensor.Tensor;

import java.util.List;

/**
 * Multi-head scaled dot-product self-attention (transformers' eager BertSelfAttention):
 * per head, probs = softmax(q·kᵀ / √HS + mask), context = dropout(probs)·v; the heads are
 * concatenated back to H = NH·HS features. The softmax, dropout and product run as one fused op
 * ({@link Var#attention}) that recomputes the probabilities in the backward instead of keeping
 * the [B, NH, T, T] tensor; its dropout mask is the one a separate dropout would draw.
 *
 * <p>Q, K and V come from one [3·H, H] product: the three weights and biases are concatenated for
 * each forward pass (a copy of 3·H² floats, small beside the product), so one GEMM reads x
 * instead of three, and the backward is one GEMM each for dx and dW. The parameters themselves
 * stay HF's separate {@code query}, {@code key} and {@code value} tensors, which is what
 * checkpoints save and load.
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
        Var w = Var.concat(List.of(query.weight, key.weight, value.weight), 0);   // [3H, H]
        Var bias = Var.concat(List.of(query.bias, key.bias, value.bias), 0);      // [3H]
        boolean drop = training && dropoutP > 0;
        Var context = Var.packedAttention(x.linearOperand(w, bias), numHeads, keyMask, 1.0 / Math.sqrt(headSize), dropoutP, drop,
                rng.seed(), drop ? rng.next() : 0);                                  // [B, NH, T, HS]
        return context.permute(0, 2, 1, 3).reshape(b, t, numHeads * headSize);      // [B, T, H]
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
