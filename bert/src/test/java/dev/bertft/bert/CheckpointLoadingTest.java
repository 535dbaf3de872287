package dev.bertft.bert;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bertft.autograd.Var;
import dev.bertft.classifier.ProblemType;
import dev.bertft.safetensors.SafetensorsFile;
import dev.bertft.safetensors.SafetensorsWriter;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Loading checkpoints laid out as the real ones are, and saving what transformers loads.
 * {@link #writeBertBaseLike} reproduces bert-base-uncased's model.safetensors — a
 * BertForPreTraining checkpoint: {@code bert.*} with LayerNorm gamma/beta, the pooler, the MLM
 * and NSP heads under {@code cls.*}, an int64 position_ids buffer — with the same names and dtypes
 * in a tiny configuration.
 */
class CheckpointLoadingTest {
    static final Backend CPU = new CpuBackend();
    static final int V = 50, H = 16, L = 2, I = 32, P = 20, TV = 2;

    @TempDir
    Path tmp;

    static final String CONFIG = """
            {"architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1, "gradient_checkpointing": false,
             "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 16, "initializer_range": 0.02,
             "intermediate_size": 32, "layer_norm_eps": 1e-12, "max_position_embeddings": 20, "model_type": "bert",
             "num_attention_heads": 2, "num_hidden_layers": 2, "pad_token_id": 0, "position_embedding_type": "absolute",
             "transformers_version": "4.6.0.dev0", "type_vocab_size": 2, "use_cache": true, "vocab_size": 50}
            """;

    /** Stored name → values, in bert-base-uncased's (alphabetical) order. */
    static Map<String, float[]> writeBertBaseLike(Path dir, boolean withPooler) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), CONFIG);
        Map<String, long[]> shapes = new LinkedHashMap<>();
        shapes.put("bert.embeddings.LayerNorm.beta", new long[] {H});
        shapes.put("bert.embeddings.LayerNorm.gamma", new long[] {H});
        shapes.put("bert.embeddings.position_embeddings.weight", new long[] {P, H});
        shapes.put("bert.embeddings.token_type_embeddings.weight", new long[] {TV, H});
        shapes.put("bert.embeddings.word_embeddings.weight", new long[] {V, H});
        for (int l = 0; l < L; l++) {
            String p = "bert.encoder.layer." + l + ".";
            shapes.put(p + "attention.output.LayerNorm.beta", new long[] {H});
            shapes.put(p + "attention.output.LayerNorm.gamma", new long[] {H});
            shapes.put(p + "attention.output.dense.bias", new long[] {H});
            shapes.put(p + "attention.output.dense.weight", new long[] {H, H});
            for (String n : List.of("key", "query", "value")) {
                shapes.put(p + "attention.self." + n + ".bias", new long[] {H});
                shapes.put(p + "attention.self." + n + ".weight", new long[] {H, H});
            }
            shapes.put(p + "intermediate.dense.bias", new long[] {I});
            shapes.put(p + "intermediate.dense.weight", new long[] {I, H});
            shapes.put(p + "output.LayerNorm.beta", new long[] {H});
            shapes.put(p + "output.LayerNorm.gamma", new long[] {H});
            shapes.put(p + "output.dense.bias", new long[] {H});
            shapes.put(p + "output.dense.weight", new long[] {H, I});
        }
        if (withPooler) {
            shapes.put("bert.pooler.dense.bias", new long[] {H});
            shapes.put("bert.pooler.dense.weight", new long[] {H, H});
        }
        shapes.put("cls.predictions.bias", new long[] {V});
        shapes.put("cls.predictions.decoder.weight", new long[] {V, H});
        shapes.put("cls.predictions.transform.LayerNorm.beta", new long[] {H});
        shapes.put("cls.predictions.transform.LayerNorm.gamma", new long[] {H});
        shapes.put("cls.predictions.transform.dense.bias", new long[] {H});
        shapes.put("cls.predictions.transform.dense.weight", new long[] {H, H});
        shapes.put("cls.seq_relationship.bias", new long[] {2});
        shapes.put("cls.seq_relationship.weight", new long[] {2, H});

        Random random = new Random(11);
        Map<String, float[]> values = new LinkedHashMap<>();
        SafetensorsWriter w = new SafetensorsWriter();
        long[] positionIds = new long[P];
        for (int i = 0; i < P; i++) positionIds[i] = i;
        w.add("bert.embeddings.position_ids", new long[] {1, P}, positionIds);  // I64, as older checkpoints carry it
        shapes.forEach((name, shape) -> {
            int n = 1;
            for (long d : shape) n *= (int) d;
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (float) (random.nextGaussian() * 0.2);
            values.put(name, v);
            w.add(name, shape, v);
        });
        w.write(dir.resolve("model.safetensors"));
        return values;
    }

    static Tensor ids(int... v) {
        return Tensor.of(CPU, v, 2, v.length / 2);
    }

    /**
     * The tiny fixture's classifier has 3 labels; loaded for 2, its classifier does not fit. That is an error naming
     * the way out, and with ignore_mismatched_sizes (transformers' from_pretrained flag) the classifier starts afresh
     * as a new head would, while every encoder weight is the stored one.
     */
    @Test
    void aClassifierOfAnotherLabelCountIsAnErrorOrStartsAfreshWhenMismatchesAreIgnored() throws IOException {
        Path tiny = TestResources.tinyModel();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BertForSequenceClassification.fromPretrained(tiny,
                CPU, new BertForSequenceClassification.LoadOptions(2, null, 42, Map.of())));
        assertTrue(e.getMessage().contains("classifier.weight has shape [3, 32] but the model's classifier.weight needs [2, 32]")
                && e.getMessage().contains("ignore_mismatched_sizes"), e.getMessage());

        BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(tiny, CPU,
                new BertForSequenceClassification.LoadOptions(2, null, 42, Map.of(), true));
        var report = model.loadReport();
        assertEquals(List.of("classifier.weight: [3, 32] in the checkpoint, [2, 32] in the model",
                "classifier.bias: [3] in the checkpoint, [2] in the model"), report.mismatched());
        assertEquals(List.of("classifier.weight", "classifier.bias"), report.newlyInitialized());
        assertTrue(report.ignored().stream().noneMatch(n -> n.startsWith("classifier.")), report.ignored().toString());
        assertArrayEquals(new float[2], model.namedParameters().get("classifier.bias").value().toFloatArray());
        try (SafetensorsFile stored = SafetensorsFile.open(tiny.resolve("model.safetensors"))) {
            String name = "bert.encoder.layer.0.attention.self.query.weight";
            assertArrayEquals(stored.readF32(name), model.namedParameters().get(name).value().toFloatArray());
        }
    }

    @Test
    void loadsTheBertBaseUncasedLayout() throws IOException {
        Path dir = tmp.resolve("bert-base-like");
        Map<String, float[]> stored = writeBertBaseLike(dir, true);
        BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(dir, CPU,
                new BertForSequenceClassification.LoadOptions(3, null, 42, Map.of()));

        assertEquals(List.of("classifier.weight", "classifier.bias"), model.loadReport().newlyInitialized());
        assertEquals(List.of("bert.embeddings.position_ids", "cls.predictions.bias", "cls.predictions.decoder.weight",
                "cls.predictions.transform.LayerNorm.beta", "cls.predictions.transform.LayerNorm.gamma",
                "cls.predictions.transform.dense.bias", "cls.predictions.transform.dense.weight",
                "cls.seq_relationship.bias", "cls.seq_relationship.weight"), model.loadReport().ignored());
        assertEquals(Map.of(0, "LABEL_0", 1, "LABEL_1", 2, "LABEL_2"), model.config().id2label());

        Map<String, Var> params = model.namedParameters();
        assertArrayEquals(stored.get("bert.embeddings.LayerNorm.gamma"), params.get("bert.embeddings.LayerNorm.weight").value().toFloatArray());
        assertArrayEquals(stored.get("bert.encoder.layer.1.output.LayerNorm.beta"),
                params.get("bert.encoder.layer.1.output.LayerNorm.bias").value().toFloatArray());
        assertArrayEquals(stored.get("bert.encoder.layer.0.attention.self.query.weight"),
                params.get("bert.encoder.layer.0.attention.self.query.weight").value().toFloatArray());
        assertArrayEquals(stored.get("bert.pooler.dense.weight"), params.get("bert.pooler.dense.weight").value().toFloatArray());

        // The new head as HF initialises it: weight ~ Normal(0, initializer_range), bias 0, shape [C, H].
        Tensor w = params.get("classifier.weight").value();
        assertArrayEquals(new int[] {3, H}, w.shape());
        assertArrayEquals(new float[3], params.get("classifier.bias").value().toFloatArray());
        double sq = 0;
        for (float x : w.toFloatArray()) sq += x * x;
        double std = Math.sqrt(sq / w.numel());
        assertTrue(std > 0.012 && std < 0.028, "classifier init std " + std + " is not about 0.02");

        // Same seed, same head; another seed, another head.
        BertForSequenceClassification again = BertForSequenceClassification.fromPretrained(dir, CPU,
                new BertForSequenceClassification.LoadOptions(3, null, 42, Map.of()));
        assertArrayEquals(w.toFloatArray(), again.namedParameters().get("classifier.weight").value().toFloatArray());
        BertForSequenceClassification other = BertForSequenceClassification.fromPretrained(dir, CPU,
                new BertForSequenceClassification.LoadOptions(3, null, 43, Map.of()));
        assertFalse(java.util.Arrays.equals(w.toFloatArray(), other.namedParameters().get("classifier.weight").value().toFloatArray()));
    }

    /** transformers: num_labels 1 without a problem_type is regression; one class cannot be classified. */
    @Test
    void oneLabelIsRegressionUnlessTheConfigSaysOtherwise() throws IOException {
        Path dir = tmp.resolve("one-label");
        writeBertBaseLike(dir, true);
        BertForSequenceClassification m = BertForSequenceClassification.fromPretrained(dir, CPU,
                new BertForSequenceClassification.LoadOptions(1, null, 1, Map.of()));
        assertEquals(ProblemType.REGRESSION, m.problemType());
        assertArrayEquals(new int[] {1, m.config().hiddenSize()}, m.namedParameters().get("classifier.weight").shape());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BertForSequenceClassification
                .fromPretrained(dir, CPU, new BertForSequenceClassification.LoadOptions(1, null, 1,
                        Map.of("problem_type", "single_label_classification"))));
        assertTrue(e.getMessage().contains("num_labels 1 does not suit problem_type single_label_classification"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> BertForSequenceClassification
                .fromPretrained(dir, CPU, new BertForSequenceClassification.LoadOptions(3, null, 1, Map.of("problem_type", "regression"))));
        assertTrue(e.getMessage().contains("num_labels 3 does not suit problem_type regression"), e.getMessage());
    }

    @Test
    void missingPoolerIsInitialisedAndListed() throws IOException {
        Path dir = tmp.resolve("no-pooler");
        writeBertBaseLike(dir, false);
        BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(dir, CPU,
                BertForSequenceClassification.LoadOptions.seed(1));
        assertEquals(List.of("bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"),
                model.loadReport().newlyInitialized());
    }

    @Test
    void missingEncoderWeightIsAClearError() throws IOException {
        Path dir = tmp.resolve("broken");
        Map<String, float[]> stored = writeBertBaseLike(dir, true);
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve("model.safetensors"))) {
            for (String n : stored.keySet()) {
                if (!n.equals("bert.encoder.layer.1.intermediate.dense.weight")) w.add(n, f.info(n).shape(), f.readF32(n));
            }
        }
        w.write(dir.resolve("model.safetensors"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BertForSequenceClassification
                .fromPretrained(dir, CPU, BertForSequenceClassification.LoadOptions.seed(1)));
        assertTrue(e.getMessage().contains("missing weight bert.encoder.layer.1.intermediate.dense.weight"), e.getMessage());
    }

    @Test
    void shapeMismatchNamesTheTensorAndBothShapes() throws IOException {
        Path dir = tmp.resolve("mismatch");
        writeBertBaseLike(dir, true);
        Files.writeString(dir.resolve("config.json"), CONFIG.replace("\"intermediate_size\": 32", "\"intermediate_size\": 24"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BertForSequenceClassification
                .fromPretrained(dir, CPU, BertForSequenceClassification.LoadOptions.seed(1)));
        assertTrue(e.getMessage().contains("bert.encoder.layer.0.intermediate.dense.weight has shape [32, 16]"), e.getMessage());
        assertTrue(e.getMessage().contains("needs [24, 16]"), e.getMessage());
    }

    @Test
    void missingFolderOrWeightsAreClearErrors() throws IOException {
        IOException noDir = assertThrows(IOException.class, () -> BertForSequenceClassification.fromPretrained(tmp.resolve("nope"), CPU,
                BertForSequenceClassification.LoadOptions.seed(1)));
        assertTrue(noDir.getMessage().contains("nope"), noDir.getMessage());
        Path dir = tmp.resolve("config-only");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), CONFIG);
        IOException noWeights = assertThrows(IOException.class, () -> BertForSequenceClassification.fromPretrained(dir, CPU,
                BertForSequenceClassification.LoadOptions.seed(1)));
        assertTrue(noWeights.getMessage().contains("no model.safetensors"), noWeights.getMessage());
        Files.writeString(dir.resolve("model.safetensors"), "not a safetensors file");
        IOException bad = assertThrows(IOException.class, () -> BertForSequenceClassification.fromPretrained(dir, CPU,
                BertForSequenceClassification.LoadOptions.seed(1)));
        assertTrue(bad.getMessage().contains("model.safetensors"), bad.getMessage());
    }

    @Test
    void shardedCheckpointLoadsLikeTheSingleFile() throws IOException {
        Path single = tmp.resolve("single");
        Map<String, float[]> stored = writeBertBaseLike(single, true);
        Path sharded = tmp.resolve("sharded");
        Files.createDirectories(sharded);
        Files.writeString(sharded.resolve("config.json"), CONFIG);
        List<String> names = new ArrayList<>(stored.keySet());
        SafetensorsWriter a = new SafetensorsWriter(), b = new SafetensorsWriter();
        Map<String, String> weightMap = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i), shard = i % 2 == 0 ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
            long[] shape;
            try (SafetensorsFile f = SafetensorsFile.open(single.resolve("model.safetensors"))) {
                shape = f.info(n).shape();
            }
            (i % 2 == 0 ? a : b).add(n, shape, stored.get(n));
            weightMap.put(n, shard);
        }
        a.write(sharded.resolve("model-00001-of-00002.safetensors"));
        b.write(sharded.resolve("model-00002-of-00002.safetensors"));
        Files.writeString(sharded.resolve("model.safetensors.index.json"),
                new ObjectMapper().writeValueAsString(Map.of("metadata", Map.of(), "weight_map", weightMap)));

        BertForSequenceClassification m1 = BertForSequenceClassification.fromPretrained(single, CPU, BertForSequenceClassification.LoadOptions.seed(5));
        BertForSequenceClassification m2 = BertForSequenceClassification.fromPretrained(sharded, CPU, BertForSequenceClassification.LoadOptions.seed(5));
        m1.setTraining(false);
        m2.setTraining(false);
        Tensor x = ids(2, 7, 9, 3, 2, 8, 4, 0);
        assertArrayEquals(m1.logits(x, null, null).value().toFloatArray(), m2.logits(x, null, null).value().toFloatArray());
    }

    @Test
    void saveThenLoadGivesIdenticalLogitsAndTransformersNames(@TempDir Path out) throws IOException {
        Path src = tmp.resolve("src");
        writeBertBaseLike(src, true);
        Files.writeString(src.resolve("vocab.txt"), "[PAD]\n[UNK]\n");
        Files.writeString(src.resolve("tokenizer_config.json"), "{\"do_lower_case\": true}");
        BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(src, CPU,
                new BertForSequenceClassification.LoadOptions(null, Map.of(0, "neg", 1, "pos"), 9, Map.of()));
        Path saved = out.resolve("fine-tuned");
        model.save(saved);

        try (var files = Files.list(out)) {
            assertEquals(List.of(saved), files.toList(), "no staging folder left behind");
        }
        assertEquals("[PAD]\n[UNK]\n", Files.readString(saved.resolve("vocab.txt")));
        assertTrue(Files.exists(saved.resolve("tokenizer_config.json")));
        JsonNode config = new ObjectMapper().readTree(saved.resolve("config.json").toFile());
        assertEquals("BertForSequenceClassification", config.get("architectures").get(0).asText());
        assertEquals("pos", config.get("id2label").get("1").asText());
        assertEquals(0, config.get("label2id").get("neg").asInt());
        assertEquals(true, config.get("use_cache").asBoolean(), "unknown fields are written back");

        List<String> expectedNames = new ArrayList<>();
        for (String n : List.of("word_embeddings.weight", "position_embeddings.weight", "token_type_embeddings.weight",
                "LayerNorm.weight", "LayerNorm.bias")) expectedNames.add("bert.embeddings." + n);
        for (int l = 0; l < L; l++) {
            for (String n : List.of("attention.self.query.weight", "attention.self.query.bias", "attention.self.key.weight",
                    "attention.self.key.bias", "attention.self.value.weight", "attention.self.value.bias",
                    "attention.output.dense.weight", "attention.output.dense.bias", "attention.output.LayerNorm.weight",
                    "attention.output.LayerNorm.bias", "intermediate.dense.weight", "intermediate.dense.bias",
                    "output.dense.weight", "output.dense.bias", "output.LayerNorm.weight", "output.LayerNorm.bias")) {
                expectedNames.add("bert.encoder.layer." + l + "." + n);
            }
        }
        expectedNames.addAll(List.of("bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"));
        try (SafetensorsFile f = SafetensorsFile.open(saved.resolve("model.safetensors"))) {
            assertEquals(expectedNames, f.names());
            assertArrayEquals(new long[] {2, H}, f.info("classifier.weight").shape());
            assertEquals(dev.bertft.safetensors.StoredType.F32, f.info("bert.pooler.dense.weight").dtype());
        }

        BertForSequenceClassification reloaded = BertForSequenceClassification.fromPretrained(saved, CPU,
                BertForSequenceClassification.LoadOptions.seed(123));
        assertEquals(List.of(), reloaded.loadReport().newlyInitialized());
        assertEquals(List.of(), reloaded.loadReport().ignored());
        assertEquals(model.config().id2label(), reloaded.config().id2label());
        model.setTraining(false);
        reloaded.setTraining(false);
        Tensor x = ids(2, 7, 9, 3, 2, 8, 4, 0), mask = ids(1, 1, 1, 1, 1, 1, 1, 0), types = ids(0, 0, 1, 1, 0, 0, 0, 0);
        float[] before = model.logits(x, types, mask).value().toFloatArray();
        assertArrayEquals(before, reloaded.logits(x, types, mask).value().toFloatArray());

        // Saving over an existing folder replaces the files in place.
        model.namedParameters().get("classifier.bias").setValue(Tensor.of(CPU, new float[] {1, -1}, 2));
        model.save(saved);
        BertForSequenceClassification third = BertForSequenceClassification.fromPretrained(saved, CPU,
                BertForSequenceClassification.LoadOptions.seed(1));
        third.setTraining(false);
        assertNotEquals(before[0], third.logits(x, types, mask).value().toFloatArray()[0]);
        assertArrayEquals(model.logits(x, types, mask).value().toFloatArray(), third.logits(x, types, mask).value().toFloatArray());
    }

    @Test
    void sharedRngDrivesDropoutAndCanBeRestored() throws IOException {
        BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(Fixtures.tinyModel(), CPU,
                BertForSequenceClassification.LoadOptions.seed(77));
        model.setTraining(true);
        Tensor x = ids(5, 6, 7, 8, 9, 10, 11, 12);
        long offset = model.rng().offset();
        float[] first = model.logits(x, null, null).value().toFloatArray();
        assertTrue(model.rng().offset() > offset, "dropout draws from the shared stream");
        float[] second = model.logits(x, null, null).value().toFloatArray();
        assertFalse(java.util.Arrays.equals(first, second), "fresh masks each step");
        model.rng().seek(offset);
        assertArrayEquals(first, model.logits(x, null, null).value().toFloatArray(), "restored offset replays the masks");
        model.setTraining(false);
        float[] eval1 = model.logits(x, null, null).value().toFloatArray();
        assertArrayEquals(eval1, model.logits(x, null, null).value().toFloatArray(), "eval mode is deterministic");
    }

    @Test
    void loadWeightsReplacesEveryParameterOrNone() throws IOException {
        BertForSequenceClassification saved = BertForSequenceClassification.fromPretrained(Fixtures.tinyModel(), CPU,
                BertForSequenceClassification.LoadOptions.seed(1));
        BertForSequenceClassification fresh = BertForSequenceClassification.init(saved.config(), CPU, 99);
        saved.setTraining(false);
        fresh.setTraining(false);
        Tensor x = ids(5, 6, 7, 8, 9, 10, 11, 12);
        float[] want = saved.logits(x, null, null).value().toFloatArray();
        assertFalse(java.util.Arrays.equals(want, fresh.logits(x, null, null).value().toFloatArray()));

        // A checkpoint without its classifier is refused, and nothing is replaced.
        Path partial = tmp.resolve("partial");
        Files.createDirectories(partial);
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(Fixtures.tinyModel().resolve("model.safetensors"))) {
            for (String n : f.names()) if (!n.startsWith("classifier.")) w.add(n, f.info(n).shape(), f.readF32(n));
        }
        w.write(partial.resolve("model.safetensors"));
        float[] before = fresh.logits(x, null, null).value().toFloatArray();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fresh.loadWeights(partial));
        assertTrue(e.getMessage().contains("missing weight classifier.weight"), e.getMessage());
        assertArrayEquals(before, fresh.logits(x, null, null).value().toFloatArray());

        fresh.loadWeights(Fixtures.tinyModel());
        assertArrayEquals(want, fresh.logits(x, null, null).value().toFloatArray());
    }
}
