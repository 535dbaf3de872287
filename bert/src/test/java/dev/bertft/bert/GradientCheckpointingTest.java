package dev.bertft.bert;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.autograd.Var;
import dev.bertft.tensor.Backend;
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
 * Gradient checkpointing recomputes each encoder layer in the backward pass from its input, with the
 * dropout stream rewound: a training step with dropout on padded batches must give the logits, the loss,
 * every parameter's gradient and the stream's end position of the step that keeps its activations, bit
 * for bit, with each step in a memory scope as the Trainer runs it (the CPU's scopes reuse arrays, so a
 * tensor freed too early fails or corrupts the result). Twice in a row, so the second step's gradients add
 * to the first's, as gradient accumulation adds them.
 */
class GradientCheckpointingTest {
    private static final CpuBackend CPU = ClsRowsTest.CPU;

    @ParameterizedTest
    @CsvSource({"1, 1", "3, 5", "2, 40", "8, 33"})
    void recomputedLayersGiveTheBitsOfKeptOnes(int b, int t) {
        BertForSequenceClassification model = BertForSequenceClassification.init(config(), CPU, 7);
        model.setTraining(true);
        Tensor[] batch = ClsRowsTest.batch(b, t, 13L * b + t);
        Tensor labels = Tensor.of(CPU, new Random(b).ints(b, 0, 3).toArray(), b);
        long start = model.rng().offset();

        Step kept = twoSteps(model, batch, labels);
        long keptEnd = model.rng().offset();
        model.rng().seek(start);
        model.setGradientCheckpointing(true);
        Step recomputed = twoSteps(model, batch, labels);
        model.setGradientCheckpointing(false);

        String at = b + " x " + t;
        assertArrayEquals(kept.logits, recomputed.logits, at + ": logits");
        assertEquals(kept.loss, recomputed.loss, at + ": loss");
        assertEquals(keptEnd, model.rng().offset(), at + ": the dropout stream's position");
        assertEquals(kept.grads.keySet(), recomputed.grads.keySet());
        kept.grads.forEach((name, g) -> assertArrayEquals(g, recomputed.grads.get(name), at + ": gradient of " + name));
    }

    /** Three layers, three heads of 16, dropout 0.1 on hidden states and probabilities. */
    private static BertConfig config() {
        ObjectNode j = JsonNodeFactory.instance.objectNode();
        Map.of("hidden_size", 48, "num_hidden_layers", 3, "num_attention_heads", 3, "intermediate_size", 96, "vocab_size", 60,
                "max_position_embeddings", 128, "num_labels", 3).forEach(j::put);
        return BertConfig.fromJson(j);
    }

    private record Step(int[] logits, int loss, Map<String, int[]> grads) {}

    /** Two forward and backward passes, each in a memory scope; the second's logits and loss, the summed gradients, cleared after. */
    private static Step twoSteps(BertForSequenceClassification model, Tensor[] batch, Tensor labels) {
        int[] logits = null;
        int loss = 0;
        for (int i = 0; i < 2; i++) {
            try (Backend.Scope scope = CPU.openScope()) {
                Var out = model.logits(batch[0], batch[1], batch[2]);
                Var l = model.loss(out, labels);
                l.backward();
                for (Var p : model.trainableParameters().values()) scope.keep(p.grad());
                logits = ClsRowsTest.bits(out.value());
                loss = Float.floatToRawIntBits(l.value().toFloatArray()[0]);
            }
        }
        Map<String, int[]> grads = new LinkedHashMap<>();
        model.trainableParameters().forEach((name, p) -> {
            grads.put(name, ClsRowsTest.bits(p.grad()));
            p.zeroGrad();
        });
        return new Step(logits, loss, grads);
    }
}
