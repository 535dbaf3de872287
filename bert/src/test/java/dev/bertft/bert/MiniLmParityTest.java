package dev.bertft.bert;

import dev.bertft.autograd.Var;
import dev.bertft.safetensors.SafetensorsFile;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static dev.bertft.bert.Fixtures.assertClose;
import static dev.bertft.bert.Fixtures.doubles;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The real all-MiniLM-L6-v2 checkpoint (read from ../shared) against a float64 PyTorch forward of
 * the same weights (make_bert_fixtures.py): four sentences of different lengths padded into one
 * batch. That checkpoint is a bare BertModel, so names load without the bert. prefix and the
 * pooler is new; the pooled output is checked with the formula pooler both sides compute.
 */
class MiniLmParityTest {
    static final Backend CPU = new CpuBackend();

    @Test
    void hiddenStatesAndPooledOutputMatchFloat64PyTorch() throws IOException {
        Path dir = Fixtures.sharedModel("all-MiniLM-L6-v2");
        assumeTrue(dir != null, "../shared/models/all-MiniLM-L6-v2 is not present: skipping the MiniLM parity check");

        BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(dir, CPU,
                BertForSequenceClassification.LoadOptions.seed(3));
        assertEquals(List.of("bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"),
                model.loadReport().newlyInitialized());
        assertEquals(List.of("embeddings.position_ids"), model.loadReport().ignored());

        int h = model.config().hiddenSize();
        model.namedParameters().get("bert.pooler.dense.weight").setValue(Tensor.of(CPU, formulaPoolerWeight(h), h, h));
        model.namedParameters().get("bert.pooler.dense.bias").setValue(Tensor.of(CPU, formulaPoolerBias(h), h));
        model.setTraining(false);

        try (SafetensorsFile expected = SafetensorsFile.open(Fixtures.RESOURCES.resolve("minilm_expected.safetensors"))) {
            Tensor ids = Fixtures.readTensor(expected, "input_ids", CPU);
            Tensor types = Fixtures.readTensor(expected, "token_type_ids", CPU);
            Tensor mask = Fixtures.readTensor(expected, "attention_mask", CPU);
            BertModel.Output out = model.bert().forward(ids, types, mask);
            // A float32 model against float64 PyTorch: 6 layers of float32 rounding stay well inside 1e-4.
            assertClose("last_hidden_state", expected.readF64("last_hidden_state"), doubles(out.lastHiddenState().value()), 0, 1e-4);
            assertClose("pooled", expected.readF64("pooled"), doubles(out.pooled().value()), 0, 1e-4);
            Var logits = model.logits(ids, types, mask);
            assertEquals(List.of(ids.size(0), 2), List.of(logits.size(0), logits.size(1)));
        }
    }

    /** W[o, i] = 0.05 sin(0.37 o + 0.73 i + 0.1), as formula_pooler in make_bert_fixtures.py. */
    static float[] formulaPoolerWeight(int h) {
        float[] w = new float[h * h];
        for (int o = 0; o < h; o++) {
            for (int i = 0; i < h; i++) w[o * h + i] = (float) (0.05 * Math.sin(0.37 * o + 0.73 * i + 0.1));
        }
        return w;
    }

    /** b[o] = 0.05 cos(0.5 o). */
    static float[] formulaPoolerBias(int h) {
        float[] b = new float[h];
        for (int o = 0; o < h; o++) b[o] = (float) (0.05 * Math.cos(0.5 * o));
        return b;
    }
}
