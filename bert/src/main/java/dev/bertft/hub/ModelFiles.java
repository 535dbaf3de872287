package dev.bertft.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Which files a BERT model folder needs, and which of them a folder lacks. */
public final class ModelFiles {
    public static final String CONFIG = "config.json";
    public static final String WEIGHTS = "model.safetensors";
    public static final String WEIGHTS_INDEX = "model.safetensors.index.json";
    /** PyTorch weights, used when a folder or hub repository has no safetensors. */
    public static final String PYTORCH_WEIGHTS = "pytorch_model.bin";
    public static final String VOCAB = "vocab.txt";
    public static final String TOKENIZER = "tokenizer.json";
    /** Fetched when the hub has them, fine to lack. */
    public static final List<String> OPTIONAL = List.of("tokenizer_config.json", "special_tokens_map.json");

    /** What a command reads from the model folder. */
    public enum Needs {
        /** config.json, the weights and the tokenizer: every command that runs the model. */
        MODEL,
        /** config.json and the weights, for a model whose tokenizer comes from elsewhere (HF's tokenizer_name). */
        WEIGHTS,
        /** The tokenizer alone ({@code tokenize}). */
        TOKENIZER
    }

    private ModelFiles() {
    }

    /** {@link #missing(Path, Needs)} for a whole model. */
    public static List<String> missing(Path folder) throws IOException {
        return missing(folder, Needs.MODEL);
    }

    /**
     * The files {@code folder} lacks for {@code needs}, empty when it has them all: vocab.txt or tokenizer.json
     * for the tokenizer; for a model also (for its weights alone only) config.json, and model.safetensors, the
     * sharded index with every shard it names, or pytorch_model.bin.
     */
    public static List<String> missing(Path folder, Needs needs) throws IOException {
        List<String> missing = new ArrayList<>();
        if (needs != Needs.TOKENIZER) {
            if (!Files.isRegularFile(folder.resolve(CONFIG))) missing.add(CONFIG);
            missing.addAll(missingWeights(folder));
        }
        if (needs != Needs.WEIGHTS && !Files.isRegularFile(folder.resolve(VOCAB)) && !Files.isRegularFile(folder.resolve(TOKENIZER))) {
            missing.add(VOCAB + " (or " + TOKENIZER + ")");
        }
        return missing;
    }

    /** In the order the model loads them: model.safetensors, else the index's shards, else pytorch_model.bin. */
    private static List<String> missingWeights(Path folder) throws IOException {
        if (Files.isRegularFile(folder.resolve(WEIGHTS))) return List.of();
        if (Files.isRegularFile(folder.resolve(WEIGHTS_INDEX))) {
            List<String> absent = new ArrayList<>();
            for (String shard : shards(folder.resolve(WEIGHTS_INDEX))) {
                if (!Files.isRegularFile(folder.resolve(shard))) absent.add(shard);
            }
            return absent;
        }
        return Files.isRegularFile(folder.resolve(PYTORCH_WEIGHTS)) ? List.of() : List.of(WEIGHTS + " (or " + PYTORCH_WEIGHTS + ")");
    }

    /** The shard file names of a model.safetensors.index.json, in first-mentioned order. */
    public static List<String> shards(Path index) throws IOException {
        JsonNode map;
        try {
            map = new ObjectMapper().readTree(index.toFile()).path("weight_map");
        } catch (IOException e) {
            throw new HubException("cannot read " + index + ": " + e.getMessage(), e);
        }
        if (!map.isObject()) throw new HubException(index + " has no \"weight_map\" object");
        Set<String> shards = new LinkedHashSet<>();
        for (Iterator<JsonNode> it = map.elements(); it.hasNext(); ) {
            String shard = it.next().asText();
            // a shard name is a plain file next to the index: refuse paths that would leave the folder
            if (shard.isEmpty() || shard.contains("/") || shard.contains("\\") || shard.startsWith(".")) {
                throw new HubException(index + " names an invalid shard file '" + shard + "'");
            }
            shards.add(shard);
        }
        return new ArrayList<>(shards);
    }
}
