package dev.bertft.cli;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.autograd.Precision;
import dev.bertft.bert.BertConfig;
import dev.bertft.bert.BertForSequenceClassification;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The model {@code eval} scores: a half-precision checkpoint evaluated under its autocast is not widened. */
class LoadedModelTest {
    @TempDir
    Path tmp;

    @Test
    void aBf16CheckpointEvaluatedWithBf16KeepsItsLinearWeightsInBf16() throws Exception {
        ObjectNode j = JsonNodeFactory.instance.objectNode();
        Map.of("hidden_size", 32, "num_hidden_layers", 1, "num_attention_heads", 2, "intermediate_size", 64, "vocab_size", 50,
                "max_position_embeddings", 16).forEach(j::put);
        BertForSequenceClassification saved = BertForSequenceClassification.init(BertConfig.fromJson(j), new CpuBackend(1), 5);
        saved.save(tmp, DType.BF16);
        List<String> labels = new ArrayList<>(saved.config().id2label().values());

        LoadedModel bf16 = LoadedModel.fineTuned(tmp, new CpuBackend(1), labels, saved.problemType(), Precision.BF16);
        LoadedModel fp32 = LoadedModel.fineTuned(tmp, new CpuBackend(1), labels, saved.problemType(), Precision.FP32);

        String weight = "bert.encoder.layer.0.intermediate.dense.weight";
        assertEquals(DType.BF16, bf16.model().namedParameters().get(weight).value().dtype(), "kept as stored under bf16 autocast");
        assertEquals(DType.F32, fp32.model().namedParameters().get(weight).value().dtype(), "widened for float32 products");
        assertEquals(DType.F32, bf16.model().namedParameters().get("bert.encoder.layer.0.output.LayerNorm.weight").value().dtype(),
                "LayerNorm stays float32");
    }
}
