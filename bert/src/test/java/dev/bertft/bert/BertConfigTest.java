package dev.bertft.bert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.train.ProblemType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BertConfigTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void readsMiniLmStyleConfigWithHfDefaults() throws IOException {
        Path f = tmp.resolve("config.json");
        Files.writeString(f, """
                {"architectures": ["BertModel"], "model_type": "bert", "vocab_size": 30522, "hidden_size": 384,
                 "num_hidden_layers": 6, "num_attention_heads": 12, "intermediate_size": 1536, "hidden_act": "gelu",
                 "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512,
                 "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
                 "position_embedding_type": "absolute", "gradient_checkpointing": false, "transformers_version": "4.8.2"}
                """);
        BertConfig c = BertConfig.read(f);
        assertEquals(384, c.hiddenSize());
        assertEquals(32, c.headSize());
        assertEquals(Map.of(0, "LABEL_0", 1, "LABEL_1"), c.id2label(), "two labels when the file has none, as transformers");
        assertNull(c.classifierDropout());
        assertEquals(0.1, c.effectiveClassifierDropout());
        assertEquals(1e-12, c.layerNormEps());
    }

    @Test
    void unknownFieldsAndLabelsRoundTripWithStringKeys() throws IOException {
        ObjectNode in = (ObjectNode) JSON.readTree("""
                {"hidden_size": 64, "num_attention_heads": 4, "id2label": {"1": "pos", "0": "neg"},
                 "label2id": {"neg": 0, "pos": 1}, "classifier_dropout": 0.3, "problem_type": "single_label_classification",
                 "custom_thing": {"nested": [1, 2]}, "torch_dtype": "float32"}
                """);
        BertConfig c = BertConfig.fromJson(in);
        assertEquals(Map.of(0, "neg", 1, "pos"), c.id2label());
        assertEquals(0.3, c.effectiveClassifierDropout());
        Path f = tmp.resolve("out.json");
        c.write(f);
        JsonNode out = JSON.readTree(f.toFile());
        assertEquals("neg", out.get("id2label").get("0").asText());
        assertEquals(1, out.get("label2id").get("pos").asInt());
        assertEquals(JSON.readTree("{\"nested\": [1, 2]}"), out.get("custom_thing"));
        assertEquals("float32", out.get("torch_dtype").asText());
        assertEquals("bert", out.get("model_type").asText());
        assertEquals(c, BertConfig.read(f));
    }

    /** transformers writes problem_type and its own version; a loaded transformers_version is replaced by the format bert-ft writes. */
    @Test
    void problemTypeAndTransformersVersionRoundTrip() throws IOException {
        for (ProblemType type : ProblemType.values()) {
            BertConfig c = BertConfig.fromJson((ObjectNode) JSON.readTree("{\"transformers_version\": \"4.8.2\", \"problem_type\": \""
                    + type.hfName() + "\"}"));
            assertEquals(type, c.problemType());
            Path f = tmp.resolve(type.hfName() + ".json");
            c.write(f);
            JsonNode out = JSON.readTree(f.toFile());
            assertEquals(type.hfName(), out.get("problem_type").asText());
            assertEquals("4.46.0", out.get("transformers_version").asText());
            assertEquals(c, BertConfig.read(f));
        }
        BertConfig unset = BertConfig.fromJson(JSON.createObjectNode());
        assertNull(unset.problemType());
        assertTrue(unset.toJson().get("problem_type").isNull(), "written as null, as transformers does");
        assertEquals(ProblemType.SINGLE_LABEL_CLASSIFICATION, unset.resolvedProblemType());
        assertEquals(ProblemType.REGRESSION, unset.withLabels(BertConfig.defaultLabels(1)).resolvedProblemType());
        assertEquals(ProblemType.MULTI_LABEL_CLASSIFICATION, unset.set("problem_type", "multi_label_classification").problemType());
    }

    @Test
    void setOverridesParseValuesAndRevalidate() {
        BertConfig c = BertConfig.fromJson(JSON.createObjectNode());
        BertConfig d = c.set("hidden_dropout_prob", "0").set("hidden_act", "gelu").set("classifier_dropout", "null")
                .set("my_flag", "true");
        assertEquals(0.0, d.hiddenDropoutProb());
        assertEquals(0.1, c.hiddenDropoutProb(), "the original is unchanged");
        assertEquals(JSON.getNodeFactory().booleanNode(true), d.extra().get("my_flag"));
        assertEquals(Map.of(0, "a", 1, "b", 2, "c"), c.set("id2label", "{\"0\":\"a\",\"1\":\"b\",\"2\":\"c\"}").id2label());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.set("hidden_size", "abc"));
        assertTrue(e.getMessage().contains("--set hidden_size=abc") && e.getMessage().contains("must be an integer"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> c.set("hidden_dropout_prob", "1.5"));
        assertTrue(e.getMessage().contains("hidden_dropout_prob must be in [0, 1)"), e.getMessage());
    }

    @Test
    void unsupportedVariantsAreRejectedClearly() {
        for (String[] bad : new String[][] {
                {"{\"hidden_act\": \"relu\"}", "hidden_act \"relu\" is not supported"},
                {"{\"hidden_act\": \"gelu_new\"}", "hidden_act \"gelu_new\" is not supported"},
                {"{\"position_embedding_type\": \"relative_key\"}", "position_embedding_type \"relative_key\" is not supported"},
                {"{\"model_type\": \"roberta\"}", "model_type \"roberta\" is not BERT"},
                {"{\"hidden_size\": 100, \"num_attention_heads\": 12}", "not a multiple of num_attention_heads"},
                {"{\"id2label\": {\"0\": \"a\", \"2\": \"b\"}}", "id2label keys must be 0..1"},
                {"{\"problem_type\": \"ordinal\"}", "problem_type: problem type 'ordinal' is not one of single_label_classification, regression, multi_label_classification"},
                {"{\"vocab_size\": \"many\"}", "vocab_size must be an integer"}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BertConfig.fromJson((ObjectNode) JSON.readTree(bad[0])), bad[0]);
            assertTrue(e.getMessage().contains(bad[1]), e.getMessage());
        }
    }

    @Test
    void malformedFileNamesTheFile() throws IOException {
        Path f = tmp.resolve("config.json");
        Files.writeString(f, "{\"hidden_size\": 12,");
        IOException e = assertThrows(IOException.class, () -> BertConfig.read(f));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("not valid JSON"), e.getMessage());
        Files.writeString(f, "[1, 2]");
        e = assertThrows(IOException.class, () -> BertConfig.read(f));
        assertTrue(e.getMessage().contains("expected a JSON object"), e.getMessage());
    }
}
