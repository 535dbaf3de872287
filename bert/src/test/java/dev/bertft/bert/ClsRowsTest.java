package dev.bertft.bert;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.autograd.GradMode;
import dev.bertft.autograd.Var;
import dev.bertft.classifier.ProblemType;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The classifier's logits run the last encoder layer for the [CLS] rows only
 * ({@link BertModel#pooled}); the full layer ({@code forward(...).pooled()}, what the head read
 * before) is the reference. Training with dropout on, padded batches: the logits, the loss and
 * every parameter's gradient must be the same bits, as must the dropout stream's position after
 * the step; and prediction's logits in eval mode.
 */
class ClsRowsTest {
    static final CpuBackend CPU = new CpuBackend(2);

    /**
     * Batches of b sequences of t tokens, padded to random lengths (at least 1 token). At 3 × 5 and
     * 8 × 5 several [CLS] rows share a LayerNorm gradient block (32 rows) of the full layer; at
     * 8 × 100 the weight gradients' sums over 800 rows cross the GEMM's K block (768); H = 48 and
     * I = 96 leave vector tails; B = 1 and T = 1 are the edges.
     */
    @ParameterizedTest
    @CsvSource({"1, 1", "1, 7", "3, 5", "8, 5", "2, 40", "8, 100"})
    void prunedStepHasTheBitsOfTheFullStep(int b, int t) {
        for (ProblemType problem : new ProblemType[] {ProblemType.SINGLE_LABEL_CLASSIFICATION, ProblemType.REGRESSION}) {
            BertForSequenceClassification model = BertForSequenceClassification.init(config(problem), CPU, 7);
            Tensor[] batch = batch(b, t, 11L * b + t);
            Tensor labels = problem == ProblemType.REGRESSION ? CPU.normal(DType.F32, new int[] {b, 1}, 0, 1, 3, 0)
                    : Tensor.of(CPU, new Random(b).ints(b, 0, 3).toArray(), b);
            long start = model.rng().offset();

            Step full = step(model, full(model, batch), labels, problem);
            long fullEnd = model.rng().offset();
            model.rng().seek(start);
            Step pruned = step(model, model.logits(batch[0], batch[1], batch[2]), labels, problem);

            String at = problem.hfName() + " " + b + " x " + t;
            assertArrayEquals(bits(full.logits), bits(pruned.logits), at + ": logits");
            assertEquals(Float.floatToRawIntBits(full.loss), Float.floatToRawIntBits(pruned.loss), at + ": loss");
            assertEquals(fullEnd, model.rng().offset(), at + ": the dropout stream's position");
            assertEquals(full.grads.keySet(), pruned.grads.keySet());
            full.grads.forEach((name, g) -> assertArrayEquals(g, pruned.grads.get(name), at + ": gradient of " + name));
        }
    }

    @ParameterizedTest
    @CsvSource({"1, 9", "4, 33"})
    void predictionHasTheBitsOfTheFullLayer(int b, int t) {
        BertForSequenceClassification model = BertForSequenceClassification.init(config(ProblemType.SINGLE_LABEL_CLASSIFICATION), CPU, 5);
        model.setTraining(false);
        Tensor[] batch = batch(b, t, t);
        try (GradMode off = GradMode.off()) {
            assertArrayEquals(bits(full(model, batch).value()), bits(model.predictLogits(batch[0], batch[1], batch[2])));
        }
    }

    /** Two layers (the pruned one reads a layer's output), three heads of 16, dropout 0.1 on hidden states and probabilities. */
    private static BertConfig config(ProblemType problem) {
        ObjectNode j = JsonNodeFactory.instance.objectNode();
        Map.of("hidden_size", 48, "num_hidden_layers", 2, "num_attention_heads", 3, "intermediate_size", 96, "vocab_size", 60,
                "max_position_embeddings", 128, "num_labels", problem == ProblemType.REGRESSION ? 1 : 3).forEach(j::put);
        j.put("problem_type", problem.hfName());
        return BertConfig.fromJson(j);
    }

    /** The head on the full last layer, as the classifier read it before. */
    private static Var full(BertForSequenceClassification model, Tensor[] batch) {
        Var pooled = model.bert.forward(batch[0], batch[1], batch[2]).pooled();
        return model.classifier.forward(model.dropout.forward(pooled));
    }

    /** input_ids, token_type_ids (a second segment after the middle) and attention_mask with random lengths. */
    static Tensor[] batch(int b, int t, long seed) {
        Random r = new Random(seed);
        int[] ids = new int[b * t], types = new int[b * t], mask = new int[b * t];
        for (int i = 0; i < b; i++) {
            int len = 1 + r.nextInt(t);
            for (int j = 0; j < t; j++) {
                ids[i * t + j] = j < len ? r.nextInt(60) : 0;
                types[i * t + j] = j < len && j > len / 2 ? 1 : 0;
                mask[i * t + j] = j < len ? 1 : 0;
            }
        }
        return new Tensor[] {Tensor.of(CPU, ids, b, t), Tensor.of(CPU, types, b, t), Tensor.of(CPU, mask, b, t)};
    }

    private record Step(Tensor logits, float loss, Map<String, int[]> grads) {}

    /** The loss's backward from these logits: the gradients' bits, each parameter's gradient cleared after. */
    private static Step step(BertForSequenceClassification model, Var logits, Tensor labels, ProblemType problem) {
        Var loss = problem.loss(logits, labels);
        loss.backward();
        Map<String, int[]> grads = new LinkedHashMap<>();
        model.trainableParameters().forEach((name, p) -> {
            grads.put(name, bits(p.grad()));
            p.zeroGrad();
        });
        return new Step(logits.value(), loss.value().toFloatArray()[0], grads);
    }

    static int[] bits(Tensor t) {
        float[] v = t.toFloatArray();
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) out[i] = Float.floatToRawIntBits(v[i]);
        return out;
    }
}
