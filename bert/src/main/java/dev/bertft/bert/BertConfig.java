package dev.bertft.bert;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.bertft.classifier.ProblemType;
import dev.bertft.io.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The {@code config.json} of a Hugging Face BERT model, as transformers' BertConfig reads and
 * writes it. Every field is checked when the config is built, so a bad file fails with one line
 * naming the field; fields this class does not know are kept in {@code extra} and written back
 * unchanged. Immutable: {@link #set} and {@link #withLabels} return a new config.
 *
 * <p>Only what bert-ft computes is accepted: hidden_act "gelu" (the exact erf form) and
 * position_embedding_type "absolute"; anything else is rejected rather than silently computed
 * differently from PyTorch.
 *
 * @param id2label   class index → name, indices 0..numLabels−1 (written with string keys, as HF does)
 * @param classifierDropout null means "use hiddenDropoutProb"
 * @param problemType null when config.json has none; {@link #resolvedProblemType} is then what transformers assumes
 * @param extra      unknown fields, in file order
 */
public record BertConfig(
        int vocabSize,
        int hiddenSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int intermediateSize,
        String hiddenAct,
        double hiddenDropoutProb,
        double attentionProbsDropoutProb,
        int maxPositionEmbeddings,
        int typeVocabSize,
        double initializerRange,
        double layerNormEps,
        int padTokenId,
        String positionEmbeddingType,
        Double classifierDropout,
        Map<Integer, String> id2label,
        ProblemType problemType,
        List<String> architectures,
        Map<String, JsonNode> extra) {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * The transformers release whose config.json format bert-ft writes, saved as
     * {@code transformers_version} as transformers saves its own version there.
     */
    public static final String TRANSFORMERS_VERSION = "4.46.0";

    public BertConfig {
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("intermediate_size", intermediateSize);
        positive("max_position_embeddings", maxPositionEmbeddings);
        positive("type_vocab_size", typeVocabSize);
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("config: hidden_size " + hiddenSize + " is not a multiple of num_attention_heads "
                    + numAttentionHeads);
        }
        if (!"gelu".equals(hiddenAct)) {
            throw new IllegalArgumentException("config: hidden_act \"" + hiddenAct + "\" is not supported (only \"gelu\", the exact erf GELU)");
        }
        if (!"absolute".equals(positionEmbeddingType)) {
            throw new IllegalArgumentException("config: position_embedding_type \"" + positionEmbeddingType
                    + "\" is not supported (only \"absolute\")");
        }
        probability("hidden_dropout_prob", hiddenDropoutProb);
        probability("attention_probs_dropout_prob", attentionProbsDropoutProb);
        if (classifierDropout != null) probability("classifier_dropout", classifierDropout);
        if (!(layerNormEps > 0)) throw new IllegalArgumentException("config: layer_norm_eps must be > 0, got " + layerNormEps);
        if (!(initializerRange >= 0)) throw new IllegalArgumentException("config: initializer_range must be >= 0, got " + initializerRange);
        id2label = java.util.Collections.unmodifiableMap(new TreeMap<>(id2label));
        if (id2label.isEmpty()) throw new IllegalArgumentException("config: id2label is empty; a classifier needs at least one label");
        int expect = 0;
        for (Map.Entry<Integer, String> e : id2label.entrySet()) {
            if (e.getKey() != expect++) {
                throw new IllegalArgumentException("config: id2label keys must be 0.." + (id2label.size() - 1) + ", got " + id2label.keySet());
            }
            if (e.getValue() == null) throw new IllegalArgumentException("config: id2label[" + e.getKey() + "] is null");
        }
        if (new java.util.HashSet<>(id2label.values()).size() != id2label.size()) {
            throw new IllegalArgumentException("config: id2label has repeated names " + id2label.values());
        }
        architectures = architectures == null ? null : List.copyOf(architectures);
        extra = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(extra));
    }

    private static void positive(String name, int v) {
        if (v <= 0) throw new IllegalArgumentException("config: " + name + " must be > 0, got " + v);
    }

    private static void probability(String name, double p) {
        if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("config: " + name + " must be in [0, 1), got " + p);
    }

    public int numLabels() {
        return id2label.size();
    }

    /** problem_type, or when it is unset transformers' guess from num_labels (1: regression, else single-label). */
    public ProblemType resolvedProblemType() {
        return problemType != null ? problemType : ProblemType.ofUnsetConfig(numLabels());
    }

    /** HEAD size HS = H / NH. */
    public int headSize() {
        return hiddenSize / numAttentionHeads;
    }

    /** The dropout before the classifier: classifier_dropout, or hidden_dropout_prob when that is null. */
    public double effectiveClassifierDropout() {
        return classifierDropout != null ? classifierDropout : hiddenDropoutProb;
    }

    /** name → index, the inverse of id2label (what HF writes as label2id). */
    public Map<String, Integer> label2id() {
        Map<String, Integer> out = new LinkedHashMap<>();
        id2label.forEach((i, name) -> out.put(name, i));
        return out;
    }

    /** LABEL_0 .. LABEL_{n−1}, HF's default names. */
    public static Map<Integer, String> defaultLabels(int n) {
        if (n <= 0) throw new IllegalArgumentException("number of labels must be > 0, got " + n);
        Map<Integer, String> out = new TreeMap<>();
        for (int i = 0; i < n; i++) out.put(i, "LABEL_" + i);
        return out;
    }

    public BertConfig withLabels(Map<Integer, String> labels) {
        return new BertConfig(vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads, intermediateSize, hiddenAct,
                hiddenDropoutProb, attentionProbsDropoutProb, maxPositionEmbeddings, typeVocabSize, initializerRange,
                layerNormEps, padTokenId, positionEmbeddingType, classifierDropout, labels, problemType, architectures, extra);
    }

    public BertConfig withProblemType(ProblemType type) {
        return new BertConfig(vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads, intermediateSize, hiddenAct,
                hiddenDropoutProb, attentionProbsDropoutProb, maxPositionEmbeddings, typeVocabSize, initializerRange,
                layerNormEps, padTokenId, positionEmbeddingType, classifierDropout, id2label, type, architectures, extra);
    }

    public BertConfig withArchitectures(List<String> names) {
        return new BertConfig(vocabSize, hiddenSize, numHiddenLayers, numAttentionHeads, intermediateSize, hiddenAct,
                hiddenDropoutProb, attentionProbsDropoutProb, maxPositionEmbeddings, typeVocabSize, initializerRange,
                layerNormEps, padTokenId, positionEmbeddingType, classifierDropout, id2label, problemType, names, extra);
    }

    /**
     * One override, as the trainer's {@code --set key=value}: the value is read as JSON when it
     * parses (0.0, 12, null, true, {"0":"neg"}), otherwise as a string (gelu). The result is
     * validated like a loaded file; an unknown key lands in {@code extra}.
     */
    public BertConfig set(String key, String value) {
        JsonNode parsed;
        try {
            parsed = JSON.readTree(value);
            if (parsed == null || parsed.isMissingNode()) parsed = TextNode.valueOf(value);
        } catch (JsonProcessingException e) {
            parsed = TextNode.valueOf(value);
        }
        ObjectNode tree = toJson();
        tree.set(key, parsed);
        if (key.equals("id2label")) tree.remove("label2id");
        try {
            return fromJson(tree);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--set " + key + "=" + value + ": " + e.getMessage(), e);
        }
    }

    /** Applies overrides in order. */
    public BertConfig set(Map<String, String> overrides) {
        BertConfig c = this;
        for (Map.Entry<String, String> e : overrides.entrySet()) c = c.set(e.getKey(), e.getValue());
        return c;
    }

    // ---- JSON -------------------------------------------------------------------------------

    private static final List<String> KNOWN = List.of("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
            "intermediate_size", "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob",
            "max_position_embeddings", "type_vocab_size", "initializer_range", "layer_norm_eps", "pad_token_id",
            "position_embedding_type", "classifier_dropout", "id2label", "label2id", "num_labels", "problem_type",
            "architectures", "model_type", "transformers_version");

    /** Reads {@code dir/config.json} (or the file itself). */
    public static BertConfig read(Path file) throws IOException {
        if (Files.isDirectory(file)) file = file.resolve("config.json");
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, "config.json not found");
        } catch (JsonProcessingException e) {
            throw new IOException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (!(root instanceof ObjectNode obj)) throw new IOException(file + ": expected a JSON object");
        try {
            return fromJson(obj);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Builds a config from HF's JSON, with BertConfig's defaults for absent fields. id2label wins
     * over num_labels; with neither there are two labels, LABEL_0 and LABEL_1, as in transformers.
     */
    public static BertConfig fromJson(ObjectNode j) {
        String modelType = string(j, "model_type", "bert");
        if (!modelType.equals("bert")) {
            throw new IllegalArgumentException("config: model_type \"" + modelType + "\" is not BERT");
        }
        Map<Integer, String> labels;
        if (j.hasNonNull("id2label")) {
            labels = new TreeMap<>();
            JsonNode m = j.get("id2label");
            if (!m.isObject()) throw new IllegalArgumentException("config: id2label must be an object, got " + m);
            for (Map.Entry<String, JsonNode> e : m.properties()) {
                int id;
                try {
                    id = Integer.parseInt(e.getKey().trim());
                } catch (NumberFormatException ex) {
                    throw new IllegalArgumentException("config: id2label key \"" + e.getKey() + "\" is not an integer");
                }
                if (!e.getValue().isTextual()) throw new IllegalArgumentException("config: id2label[" + id + "] must be a string");
                labels.put(id, e.getValue().asText());
            }
        } else {
            labels = defaultLabels(j.has("num_labels") ? integer(j, "num_labels", 2) : 2);
        }
        List<String> arch = null;
        if (j.hasNonNull("architectures")) {
            JsonNode a = j.get("architectures");
            if (!a.isArray()) throw new IllegalArgumentException("config: architectures must be a list, got " + a);
            arch = new ArrayList<>();
            for (JsonNode n : a) arch.add(n.asText());
        }
        Map<String, JsonNode> extra = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : j.properties()) {
            if (!KNOWN.contains(e.getKey())) extra.put(e.getKey(), e.getValue());
        }
        return new BertConfig(
                integer(j, "vocab_size", 30522),
                integer(j, "hidden_size", 768),
                integer(j, "num_hidden_layers", 12),
                integer(j, "num_attention_heads", 12),
                integer(j, "intermediate_size", 3072),
                string(j, "hidden_act", "gelu"),
                number(j, "hidden_dropout_prob", 0.1),
                number(j, "attention_probs_dropout_prob", 0.1),
                integer(j, "max_position_embeddings", 512),
                integer(j, "type_vocab_size", 2),
                number(j, "initializer_range", 0.02),
                number(j, "layer_norm_eps", 1e-12),
                integer(j, "pad_token_id", 0),
                string(j, "position_embedding_type", "absolute"),
                j.hasNonNull("classifier_dropout") ? number(j, "classifier_dropout", 0) : null,
                labels,
                j.hasNonNull("problem_type") ? problemType(string(j, "problem_type", null)) : null,
                arch,
                extra);
    }

    /** The config as HF writes it: known fields (nulls included), label maps with string keys, then the extras. */
    public ObjectNode toJson() {
        ObjectNode j = JsonNodeFactory.instance.objectNode();
        if (architectures != null) {
            var a = j.putArray("architectures");
            architectures.forEach(a::add);
        }
        j.put("model_type", "bert");
        j.put("vocab_size", vocabSize);
        j.put("hidden_size", hiddenSize);
        j.put("num_hidden_layers", numHiddenLayers);
        j.put("num_attention_heads", numAttentionHeads);
        j.put("intermediate_size", intermediateSize);
        j.put("hidden_act", hiddenAct);
        j.put("hidden_dropout_prob", hiddenDropoutProb);
        j.put("attention_probs_dropout_prob", attentionProbsDropoutProb);
        j.put("max_position_embeddings", maxPositionEmbeddings);
        j.put("type_vocab_size", typeVocabSize);
        j.put("initializer_range", initializerRange);
        j.put("layer_norm_eps", layerNormEps);
        j.put("pad_token_id", padTokenId);
        j.put("position_embedding_type", positionEmbeddingType);
        if (classifierDropout == null) j.putNull("classifier_dropout");
        else j.put("classifier_dropout", classifierDropout);
        ObjectNode ids = j.putObject("id2label");
        id2label.forEach((i, name) -> ids.put(Integer.toString(i), name));
        ObjectNode names = j.putObject("label2id");
        label2id().forEach(names::put);
        if (problemType == null) j.putNull("problem_type");
        else j.put("problem_type", problemType.hfName());
        j.put("transformers_version", TRANSFORMERS_VERSION);
        extra.forEach(j::set);
        return j;
    }

    /** Writes config.json whole or not at all. */
    public void write(Path file) throws IOException {
        AtomicFiles.write(file, JSON.writeValueAsBytes(toJson()));
    }

    /** {@link #write(Path)} with {@code torch_dtype} naming the type the weights beside it are stored in ("float32", "bfloat16", ...). */
    public void write(Path file, String torchDtype) throws IOException {
        ObjectNode json = toJson();
        json.put("torch_dtype", torchDtype);
        AtomicFiles.write(file, JSON.writeValueAsBytes(json));
    }

    private static ProblemType problemType(String name) {
        try {
            return ProblemType.parse(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("config: problem_type: " + e.getMessage());
        }
    }

    private static int integer(ObjectNode j, String key, int dflt) {
        JsonNode n = j.get(key);
        if (n == null || n.isNull()) return dflt;
        if (!n.isIntegralNumber() && !(n.isNumber() && n.asDouble() == Math.rint(n.asDouble())) || !n.canConvertToInt()) {
            throw new IllegalArgumentException("config: " + key + " must be an integer, got " + n);
        }
        return n.asInt();
    }

    private static double number(ObjectNode j, String key, double dflt) {
        JsonNode n = j.get(key);
        if (n == null || n.isNull()) return dflt;
        if (!n.isNumber()) throw new IllegalArgumentException("config: " + key + " must be a number, got " + n);
        return n.asDouble();
    }

    private static String string(ObjectNode j, String key, String dflt) {
        JsonNode n = j.get(key);
        if (n == null || n.isNull()) return dflt;
        if (!n.isTextual()) throw new IllegalArgumentException("config: " + key + " must be a string, got " + n);
        return n.asText();
    }
}
