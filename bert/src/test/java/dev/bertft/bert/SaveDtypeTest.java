package dev.bertft.bert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.autograd.Var;
import dev.bertft.tensor.Float16;
import dev.bertft.safetensors.SafetensorsFile;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** --save-dtype: the weights rounded once to the asked type, as torch's .to(dtype) rounds (to nearest, ties to even), and torch_dtype naming it. */
class SaveDtypeTest {
    @TempDir
    Path tmp;

    /** A one-layer BERT of hidden size 32, 2 heads, 50 tokens, 2 labels. */
    static BertConfig tiny() {
        ObjectNode j = JsonNodeFactory.instance.objectNode();
        Map.of("hidden_size", 32, "num_hidden_layers", 1, "num_attention_heads", 2, "intermediate_size", 64, "vocab_size", 50,
                "max_position_embeddings", 16).forEach(j::put);
        return BertConfig.fromJson(j);
    }

    /** bfloat16 of a finite float: its top 16 bits, rounded to nearest with ties to even on the 17th. */
    private static short bf16(float x) {
        int bits = Float.floatToRawIntBits(x);
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    @Test
    void weightsAreSavedInTheAskedTypeAndConfigSaysWhich() throws Exception {
        BertForSequenceClassification model = BertForSequenceClassification.init(tiny(), new CpuBackend(1), 3);
        String[] names = {"float32", "bfloat16", "float16"};
        DType[] types = {DType.F32, DType.BF16, DType.F16};
        for (int i = 0; i < types.length; i++) {
            Path dir = tmp.resolve(names[i]);
            model.save(dir, types[i]);
            JsonNode config = new ObjectMapper().readTree(dir.resolve("config.json").toFile());
            assertEquals(names[i], config.get("torch_dtype").asText());
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
                for (Map.Entry<String, Var> e : model.namedParameters().entrySet()) {
                    float[] w = e.getValue().value().toFloatArray();
                    assertEquals(types[i].name(), f.info(e.getKey()).dtype().name(), e.getKey());
                    if (types[i] == DType.F32) {
                        assertArrayEquals(w, f.readF32(e.getKey()), e.getKey());
                        continue;
                    }
                    short[] expected = new short[w.length];
                    for (int k = 0; k < w.length; k++) expected[k] = types[i] == DType.BF16 ? bf16(w[k]) : Float16.floatToF16(w[k]);
                    assertArrayEquals(expected, f.readHalf(e.getKey()), e.getKey());
                }
            }
            // the half-precision folder loads back, widened exactly
            BertForSequenceClassification.fromPretrained(dir, new CpuBackend(1), BertForSequenceClassification.LoadOptions.seed(0));
        }
    }
}
