package dev.bertft.bert;

import dev.bertft.autograd.Var;
import dev.bertft.safetensors.SafetensorsFile;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.bertft.bert.Fixtures.assertClose;
import static dev.bertft.bert.Fixtures.assertCloseToScale;
import static dev.bertft.bert.Fixtures.doubles;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The tiny random BERT of make_bert_fixtures.py against its plain-PyTorch forward: a padded
 * batch's eval logits and hidden states, and the loss and every parameter's gradient in training
 * mode with dropout off.
 */
class TinyBertParityTest {
    static final Backend CPU = new CpuBackend();
    static SafetensorsFile expected;
    static Tensor inputIds, tokenTypeIds, attentionMask, labels;

    @BeforeAll
    static void readFixture() throws IOException {
        expected = SafetensorsFile.open(Fixtures.RESOURCES.resolve("tiny_expected.safetensors"));
        inputIds = Fixtures.readTensor(expected, "input_ids", CPU);
        tokenTypeIds = Fixtures.readTensor(expected, "token_type_ids", CPU);
        attentionMask = Fixtures.readTensor(expected, "attention_mask", CPU);
        labels = Fixtures.readTensor(expected, "labels", CPU);
    }

    @AfterAll
    static void close() throws IOException {
        expected.close();
    }

    @Test
    void parameterNamesAreTheCheckpointsInOrder() throws IOException {
        BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(Fixtures.tinyModel(), CPU,
                BertForSequenceClassification.LoadOptions.seed(1));
        try (SafetensorsFile weights = SafetensorsFile.open(Fixtures.tinyModel().resolve("model.safetensors"))) {
            assertEquals(weights.names(), new ArrayList<>(model.namedParameters().keySet()));
        }
        assertEquals(List.of(), model.loadReport().newlyInitialized());
        assertEquals(List.of(), model.loadReport().ignored());
        assertEquals(Map.of(0, "neg", 1, "neu", 2, "pos"), model.config().id2label());
    }

    @Test
    void evalLogitsMatchPyTorch() throws IOException {
        assertEvalMatches(expected, Map.of());
    }

    @Test
    void trainingLossAndEveryGradientMatchPyTorch() throws IOException {
        assertTrainingMatches(expected, Map.of());
    }

    /**
     * BERT's epsilon of 1e-12 is invisible next to the tiny model's activations, so a LayerNorm that
     * ignored the config's value would pass the tests above: with 0.25 every LayerNorm's output and
     * gradient moves well past the tolerances.
     */
    @Test
    void everyLayerNormUsesTheConfigsEpsilon() throws IOException {
        try (SafetensorsFile eps = SafetensorsFile.open(Fixtures.RESOURCES.resolve("tiny_eps_expected.safetensors"))) {
            assertEvalMatches(eps, Map.of("layer_norm_eps", "0.25"));
            assertTrainingMatches(eps, Map.of("layer_norm_eps", "0.25"));
        }
    }

    private static void assertEvalMatches(SafetensorsFile want, Map<String, String> overrides) throws IOException {
        BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(Fixtures.tinyModel(), CPU,
                new BertForSequenceClassification.LoadOptions(null, null, 1, overrides));
        model.setTraining(false);
        BertModel.Output out = model.bert().forward(inputIds, tokenTypeIds, attentionMask);
        // Hidden states pass through 2 LayerNorms per layer; float32 rounding differs in summation order only.
        assertClose("last_hidden_state", want.readF64("last_hidden_state"), doubles(out.lastHiddenState().value()),
                1e-5, 1e-5);
        Var logits = model.logits(inputIds, tokenTypeIds, attentionMask);
        assertClose("logits", want.readF64("logits"), doubles(logits.value()), 1e-5, 1e-6);
    }

    private static void assertTrainingMatches(SafetensorsFile want, Map<String, String> overrides) throws IOException {
        Map<String, String> config = new HashMap<>(overrides);
        config.put("hidden_dropout_prob", "0");
        config.put("attention_probs_dropout_prob", "0");
        BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(Fixtures.tinyModel(), CPU,
                new BertForSequenceClassification.LoadOptions(null, null, 1, config));
        model.setTraining(true);
        Var loss = model.loss(model.logits(inputIds, tokenTypeIds, attentionMask), labels);
        assertClose("loss", want.readF64("loss"), doubles(loss.value()), 1e-5, 1e-6);
        loss.backward();
        int checked = 0;
        for (Map.Entry<String, Var> e : model.namedParameters().entrySet()) {
            Tensor grad = e.getValue().grad();
            assertNotNull(grad, "no gradient reached " + e.getKey());
            // float32 gradients through two layers: 1e-4 of each tensor's largest entry. The key
            // biases' gradient is exactly zero in exact arithmetic (softmax ignores a shift shared by
            // all keys), so both sides hold only rounding noise near 1e-8: hence the 1e-7 floor.
            assertCloseToScale("grad of " + e.getKey(), want.readF64("grad." + e.getKey()), doubles(grad), 1e-4, 1e-7);
            checked++;
        }
        assertEquals(want.names().stream().filter(n -> n.startsWith("grad.")).count(), checked);
        assertTrue(checked > 30);
    }
}
