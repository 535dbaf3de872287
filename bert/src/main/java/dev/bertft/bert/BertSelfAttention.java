package dev.bertft.bert;

import dev.bertft.autograd.Var;
import dev.bertft.nn.Dropout;
import dev.bertft.nn.Linear;
import dev.bertft.nn.Module;
import dev.bertft.nn.Rng;

/**
 * Multi-head scaled dot-product self-attention (transformers' eager BertSelfAttention):
 * per head, probs = softmax(q·kᵀ / √HS + mask), context = dropout(probs)·v; the heads are
 * concatenated back to H = NH·HS features.
 */
final class BertSelfAttention implements Module {
    final Linear query;  // [H, H]
    final Linear key;    // [H, H]
    final Linear value;  // [H, H]
    final Dropout dropout;
    private final int numHeads, headSize;

    BertSelfAttention(BertConfig c, Params p, Rng rng) {
        numHeads = c.numAttentionHeads();
        headSize = c.headSize();
        query = p.linear("query", c.hiddenSize(), c.hiddenSize());
        key = p.linear("key", c.hiddenSize(), c.hiddenSize());
        value = p.linear("value", c.hiddenSize(), c.hiddenSize());
        dropout = new Dropout(c.attentionProbsDropoutProb(), rng);
    }

    /**
     * x: [B, T, H]; extendedMask: [B, 1, 1, T], 0 where a key may be attended to and
     * float32-min where it is padding, so those keys get probability 0 after the softmax.
     */
    Var forward(Var x, Var extendedMask) {
        int b = x.size(0), t = x.size(1);
        Var q = heads(query.forward(x), b, t);   // [B, NH, T, HS]
        Var k = heads(key.forward(x), b, t);     // [B, NH, T, HS]
        Var v = heads(value.forward(x), b, t);   // [B, NH, T, HS]

        Var scores = q.matmul(k.transpose(-1, -2))     // [B, NH, T, T]
                .mul(1.0 / Math.sqrt(headSize))
                .add(extendedMask);                      // broadcast over heads and queries
        Var probs = dropout.forward(scores.softmax());   // [B, NH, T, T]
        Var context = probs.matmul(v);                   // [B, NH, T, HS]
        return context.permute(0, 2, 1, 3).reshape(b, t, numHeads * headSize); // [B, T, H]
    }

    /** [B, T, H] → [B, NH, T, HS]. */
    private Var heads(Var x, int b, int t) {
        return x.reshape(b, t, numHeads, headSize).permute(0, 2, 1, 3);
    }

    @Override
    public void visit(Visitor v) {
        v.child("query", query);
        v.child("key", key);
        v.child("value", value);
        v.child("dropout", dropout);
    }
}
