package dev.bertft.cuda;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.bert.BertConfig;
import dev.bertft.bert.BertForSequenceClassification;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The classifier computes the last encoder layer's feed-forward network for the [CLS] rows only,
 * in training and in prediction: counted on the rows of the products the CUDA backend launches,
 * recorded instead of run (DryRunTest's recorder), so a classifier that silently went back to
 * the full layer fails here, although its results would be the same.
 */
class ClsRowsDryRunTest {
    private static final int B = 2, T = 16, H = 32, I = 80, LAYERS = 3;  // I apart from 2H and 3H, so the products tell apart

    /** DryRunTest's recorder, which also notes the rows of every float32 tensor-core product X·Wᵀ. */
    private static final class ProductRows extends DryRunTest.Recorder {
        /** Rows (M) of each product of the feed-forward network: the expansion (N = I, K = H) and the contraction (N = H, K = I). */
        final List<Integer> expansion = new ArrayList<>(), contraction = new ArrayList<>();
        /** Rows of each product with K = H: of the fused Q/K/V weight (N = 3H), of its K/V rows alone (N = 2H), and N = H ones. */
        final List<Integer> qkv = new ArrayList<>(), kv = new ArrayList<>(), square = new ArrayList<>();
        /** The query rows (Tq) of each launch of the fused attention forward. */
        final List<Integer> attentionForwards = new ArrayList<>();

        ProductRows() throws IOException {}

        @Override
        public void launchShared(String kernel, int sharedBytes, int gridX, int gridY, int gridZ, int blockX, int blockY, Object... args) {
            super.launchShared(kernel, sharedBytes, gridX, gridY, gridZ, blockX, blockY, args);
            if (kernel.startsWith("attention_forward")) attentionForwards.add((Integer) args[11]);
            if (!kernel.startsWith("sgemm_tf32_nt")) return;
            int m = (Integer) args[0], n = (Integer) args[1], k = (Integer) args[2];
            if (n == I && k == H) expansion.add(m);
            if (n == H && k == I) contraction.add(m);
            if (k == H) (n == 3 * H ? qkv : n == 2 * H ? kv : n == H ? square : new ArrayList<Integer>()).add(m);
        }
    }

    /** A LAYERS-layer classifier on a dry backend that notes its products in {@code rows}, and a batch of B × T tokens, none padding. */
    private record Dry(ProductRows rows, BertForSequenceClassification model, Tensor ids, Tensor types, Tensor mask) {
        static Dry create() throws IOException {
            ProductRows rows = new ProductRows();
            CudaBackend gpu = DryRunTest.dryBackend(rows);
            ObjectNode shape = JsonNodeFactory.instance.objectNode();
            shape.put("hidden_size", H).put("num_hidden_layers", LAYERS).put("num_attention_heads", 2).put("intermediate_size", I);
            return new Dry(rows, BertForSequenceClassification.init(BertConfig.fromJson(shape), gpu, 42), gpu.zeros(DType.I32, B, T),
                    gpu.zeros(DType.I32, B, T), gpu.full(DType.I32, new int[] {B, T}, 1));
        }

        /** The classifier's logits: training's (dropout on) or prediction's. */
        void run(boolean training) {
            model.setTraining(training);
            if (training) model.logits(ids, types, mask);
            else model.predictLogits(ids, types, mask);
        }
    }

    @Test
    void onlyTheClsRowsGoThroughTheLastFeedForward() throws IOException {
        Dry dry = Dry.create();
        ProductRows rows = dry.rows;
        List<Integer> expected = List.of(B * T, B * T, B);

        dry.run(true);
        assertEquals(expected, rows.expansion, "training: rows of the feed-forward expansion, layer by layer");
        assertEquals(expected, rows.contraction, "training: rows of the feed-forward contraction, layer by layer");

        rows.expansion.clear();
        rows.contraction.clear();
        dry.run(false);
        assertEquals(expected, rows.expansion, "prediction: rows of the feed-forward expansion");
        assertEquals(expected, rows.contraction, "prediction: rows of the feed-forward contraction");
        assertEquals(List.of(), rows.problems);
    }

    /**
     * The last layer projects keys and values for every token but the query for the [CLS] rows
     * alone, and its fused attention takes the [CLS] query rows alone: the rows of the Q/K/V products
     * and of the H×H ones (attention output, the last layer's query, the pooler) and the query rows of
     * each fused attention launch, training and prediction.
     */
    @Test
    void onlyTheClsQueryRowsGoThroughTheLastAttention() throws IOException {
        Dry dry = Dry.create();
        ProductRows rows = dry.rows;
        for (boolean training : new boolean[] {true, false}) {
            rows.qkv.clear();
            rows.kv.clear();
            rows.square.clear();
            rows.attentionForwards.clear();
            dry.run(training);
            String mode = training ? "training" : "prediction";
            assertEquals(List.of(B * T, B * T), rows.qkv, mode + ": rows of the fused Q/K/V products, layer by layer");
            assertEquals(List.of(B * T), rows.kv, mode + ": rows of the last layer's K/V product");
            assertEquals(List.of(B * T, B * T, B, B, B), rows.square, mode + ": rows of the H×H products: 2 attention outputs, then the last query, output and pooler");
            assertEquals(List.of(T, T, 1), rows.attentionForwards, mode + ": query rows of the fused attention launches, layer by layer");
        }
        assertEquals(List.of(), rows.problems);
    }
}
