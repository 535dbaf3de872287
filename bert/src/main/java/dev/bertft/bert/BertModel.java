package dev.bertft.bert;

import dev.bertft.autograd.Var;
import dev.bertft.nn.Module;
import dev.bertft.nn.Rng;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Ops;
import dev.bertft.tensor.Tensor;

import java.util.Arrays;

/** The BERT encoder: embeddings, num_hidden_layers transformer blocks, and the [CLS] pooler. */
public final class BertModel implements Module {
    /** torch.finfo(torch.float32).min, what transformers adds to the scores of padding keys. */
    static final double FLOAT32_MIN = -3.4028234663852886e38;

    final BertEmbeddings embeddings;
    final BertEncoder encoder;
    final BertPooler pooler;

    /** The encoder's output per token [B, T, H] and the pooled [CLS] vector [B, H]. */
    public record Output(Var lastHiddenState, Var pooled) {}

    BertModel(BertConfig c, Params p, Rng rng) {
        embeddings = new BertEmbeddings(c, p.child("embeddings"), rng);
        encoder = new BertEncoder(c, p.child("encoder"), rng);
        pooler = new BertPooler(c, p.child("pooler"));
    }

    /**
     * inputIds: I32 [B, T]; tokenTypeIds: I32 [B, T] or null (all segment 0); attentionMask:
     * I32 or F32 [B, T], 1 = a real token, 0 = padding, or null (nothing padded).
     */
    public Output forward(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask) {
        Embedded in = embed(inputIds, tokenTypeIds, attentionMask);
        Var hidden = encoder.forward(in.x(), in.keyMask());  // [B, T, H]
        return new Output(hidden, pooler.forward(hidden));   // [B, H]
    }

    /**
     * The pooled [CLS] vector [B, H] alone, forward(...).pooled() bit for bit (and so every
     * gradient), for a head that reads nothing else: the last layer's output projection and
     * feed-forward network run for the [CLS] rows only ({@link BertEncoder#forwardCls}). Whatever
     * needs the other tokens' hidden states calls {@link #forward}.
     */
    public Var pooled(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask) {
        Embedded in = embed(inputIds, tokenTypeIds, attentionMask);
        return pooler.forwardCls(encoder.forwardCls(in.x(), in.keyMask()));  // [B, H]
    }

    /** The embedded tokens [B, T, H] and the additive key mask [B, T] the encoder takes. */
    private record Embedded(Var x, Tensor keyMask) {}

    private Embedded embed(Tensor inputIds, Tensor tokenTypeIds, Tensor attentionMask) {
        if (inputIds.dim() != 2 || inputIds.dtype() != DType.I32) {
            throw new IllegalArgumentException("input_ids must be I32 [batch, length], got " + inputIds);
        }
        int[] bt = inputIds.shape();
        if (tokenTypeIds == null) tokenTypeIds = inputIds.backend().zeros(DType.I32, bt);
        requireShape("token_type_ids", tokenTypeIds, bt);
        if (tokenTypeIds.dtype() != DType.I32) throw new IllegalArgumentException("token_type_ids must be I32, got " + tokenTypeIds);
        Tensor keyMask = additiveKeyMask(attentionMask, bt, inputIds);  // [B, T]

        return new Embedded(embeddings.forward(inputIds, tokenTypeIds), keyMask);  // [B, T, H]
    }

    /**
     * As transformers' get_extended_attention_mask: [B, T] of 1/0 → (1 − mask) · float32-min,
     * added to every head's scores for every query (HF holds it as [B, 1, 1, T]; the fused
     * attention op takes the [B, T] it broadcasts from).
     */
    static Tensor additiveKeyMask(Tensor attentionMask, int[] bt, Tensor like) {
        if (attentionMask == null) return like.backend().zeros(DType.F32, bt);
        requireShape("attention_mask", attentionMask, bt);
        return attentionMask.cast(DType.F32).scalarOp(Ops.Scalar.RSUB, 1.0).mul(FLOAT32_MIN).contiguous();
    }

    private static void requireShape(String name, Tensor t, int[] shape) {
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(name + " has shape " + Arrays.toString(t.shape()) + " but input_ids has "
                    + Arrays.toString(shape));
        }
    }

    @Override
    public void visit(Visitor v) {
        v.child("embeddings", embeddings);
        v.child("encoder", encoder);
        v.child("pooler", pooler);
    }
}
