package dev.bertft.bert;

import dev.bertft.autograd.Var;
import dev.bertft.safetensors.SafetensorsFile;
import dev.bertft.safetensors.SafetensorsWriter;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import dev.bertft.train.ProblemType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static dev.bertft.bert.Fixtures.assertClose;
import static dev.bertft.bert.Fixtures.assertCloseToScale;
import static dev.bertft.bert.Fixtures.doubles;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The tiny BERT's regression and multi-label heads against make_problem_type_fixtures.py: the training
 * loss of transformers' BertForSequenceClassification for each problem_type (MSE of the squeezed logits,
 * BCE with logits) and every parameter's gradient, in training mode with dropout off.
 */
class ProblemTypeParityTest {
    static final Backend CPU = new CpuBackend();

    @TempDir
    Path tmp;

    @Test
    void regressionLossAndEveryGradientMatchPyTorch() throws IOException {
        try (SafetensorsFile expected = SafetensorsFile.open(Fixtures.RESOURCES.resolve("tiny_regression_expected.safetensors"))) {
            // The tiny folder with the fixture's one-output head in place of its three-label one.
            Path folder = Files.createDirectory(tmp.resolve("tiny-regression"));
            Files.copy(Fixtures.tinyModel().resolve("config.json"), folder.resolve("config.json"));
            SafetensorsWriter weights = new SafetensorsWriter();
            try (SafetensorsFile tiny = SafetensorsFile.open(Fixtures.tinyModel().resolve("model.safetensors"))) {
                for (String name : tiny.names()) {
                    SafetensorsFile from = name.startsWith("classifier.") ? expected : tiny;
                    weights.add(name, from.info(name).shape(), from.readF32(name));
                }
            }
            weights.write(folder.resolve("model.safetensors"));
            // [B] scores as a [B, 1] column, the shape of a regression batch's labels
            checkLossAndGradients(load(folder, 1, ProblemType.REGRESSION), Fixtures.readTensor(expected, "labels", CPU).reshape(3, 1),
                    expected);
        }
    }

    @Test
    void multiLabelLossAndEveryGradientMatchPyTorch() throws IOException {
        try (SafetensorsFile expected = SafetensorsFile.open(Fixtures.RESOURCES.resolve("tiny_multilabel_expected.safetensors"))) {
            checkLossAndGradients(load(Fixtures.tinyModel(), 3, ProblemType.MULTI_LABEL_CLASSIFICATION),
                    Fixtures.readTensor(expected, "labels", CPU), expected);
        }
    }

    private static BertForSequenceClassification load(Path folder, int numLabels, ProblemType type) throws IOException {
        Map<String, String> overrides = new LinkedHashMap<>();
        overrides.put("hidden_dropout_prob", "0");
        overrides.put("attention_probs_dropout_prob", "0");
        overrides.put("problem_type", type.hfName());
        BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(folder, CPU,
                new BertForSequenceClassification.LoadOptions(numLabels, null, 1, overrides));
        assertEquals(type, model.problemType());
        model.setTraining(true);
        return model;
    }

    private static void checkLossAndGradients(BertForSequenceClassification model, Tensor labels, SafetensorsFile expected)
            throws IOException {
        try (SafetensorsFile batch = SafetensorsFile.open(Fixtures.RESOURCES.resolve("tiny_expected.safetensors"))) {
            Var logits = model.logits(Fixtures.readTensor(batch, "input_ids", CPU), Fixtures.readTensor(batch, "token_type_ids", CPU),
                    Fixtures.readTensor(batch, "attention_mask", CPU));
            assertClose("logits", expected.readF64("logits"), doubles(logits.value()), 1e-5, 1e-6);
            Var loss = model.loss(logits, labels);
            assertClose("loss", expected.readF64("loss"), doubles(loss.value()), 1e-5, 1e-6);
            loss.backward();
        }
        int checked = 0;
        for (Map.Entry<String, Var> e : model.namedParameters().entrySet()) {
            assertNotNull(e.getValue().grad(), "no gradient reached " + e.getKey());
            // as TinyBertParityTest: 1e-4 of each tensor's scale, the key biases' exact-zero gradient within 1e-7
            assertCloseToScale("grad of " + e.getKey(), expected.readF64("grad." + e.getKey()), doubles(e.getValue().grad()), 1e-4, 1e-7);
            checked++;
        }
        assertEquals(expected.names().stream().filter(n -> n.startsWith("grad.")).count(), checked);
    }
}
