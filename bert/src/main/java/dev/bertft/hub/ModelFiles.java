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
    public static final String VOCAB = "vocab.txt";
    public static final String TOKENIZER = "tokenizer.json";
    /** Fetched when the hub has them, fine to lack. */
    public static final List<String> OPTIONAL = List.of("tokenizer_config.json", "special_tokens_map.json");

    private ModelFiles() {
    }

    /**
     * The files {@code folder} lacks, empty when it is complete: config.json; model.safetensors, or the sharded
     * index with every shard it names; and vocab.txt or tokenizer.json for the tokenizer.
     */
    public static List<String> missing(Path folder) throws IOException {
        List<String> missing = new ArrayList<>();
        if (!Files.isRegularFile(folder.resolve(CONFIG))) missing.add(CONFIG);
        if (!Files.isRegularFile(folder.resolve(WEIGHTS))) {
            if (Files.isRegularFile(folder.resolve(WEIGHTS_INDEX))) {
                for (String shard : shards(folder.resolve(WEIGHTS_INDEX))) {
                    if (!Files.isRegularFile(folder.resolve(shard))) missing.add(shard);
                }
            } else {
                missing.add(WEIGHTS);
            }
        }
        if (!Files.isRegularFile(folder.resolve(VOCAB)) && !Files.isRegularFile(folder.resolve(TOKENIZER))) {
            missing.add(VOCAB + " (or " + TOKENIZER + ")");
        }
        return missing;
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
