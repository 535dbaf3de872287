package dev.bertft.safetensors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint split over several safetensors files, read as one collection through a Hugging Face
 * index, {@code model.safetensors.index.json}:
 * <pre>
 * {"metadata": {"total_size": 1234, ...},                        (optional, any JSON values)
 *  "weight_map": {"tensor name": "model-00001-of-00002.safetensors", ...}}
 * </pre>
 * Opening checks everything up front: the index is a JSON object without repeated keys, every
 * shard named in weight_map exists inside the index's directory and is a valid safetensors file,
 * and holds every tensor mapped to it. {@link #names()} lists the weight_map's names in index
 * order; tensors a shard holds but the index does not list are not visible.
 */
public final class ShardedSafetensors implements TensorReader {

    public static final String INDEX_FILE_NAME = "model.safetensors.index.json";

    /** An index far beyond any real one (a few MB for the largest models) is refused. */
    private static final long MAX_INDEX_BYTES = 100_000_000L;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private final Path index;
    private final Map<String, SafetensorsFile> shardByName; // weight_map order
    private final List<SafetensorsFile> shards;
    private final Map<String, String> metadata;

    private ShardedSafetensors(Path index, Map<String, SafetensorsFile> shardByName, List<SafetensorsFile> shards,
                               Map<String, String> metadata) {
        this.index = index;
        this.shardByName = shardByName;
        this.shards = shards;
        this.metadata = metadata;
    }

    /** Opens a checkpoint given its index file, or the directory holding {@value #INDEX_FILE_NAME}. */
    public static ShardedSafetensors open(Path dirOrIndex) throws IOException {
        Path index = Files.isDirectory(dirOrIndex) ? dirOrIndex.resolve(INDEX_FILE_NAME) : dirOrIndex;
        if (!Files.isRegularFile(index)) throw new SafetensorsException(index, "shard index file not found");
        long size = Files.size(index);
        if (size > MAX_INDEX_BYTES) {
            throw new SafetensorsException(index, "index is " + size + " bytes, over the " + MAX_INDEX_BYTES + " limit");
        }
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(index));
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(index, "index is not valid JSON: " + SafetensorsFile.jsonProblem(e));
        }
        if (root == null || !root.isObject()) throw new SafetensorsException(index, "index is not a JSON object");
        JsonNode weightMap = root.get("weight_map");
        if (weightMap == null || !weightMap.isObject()) {
            throw new SafetensorsException(index, "index has no \"weight_map\" object");
        }
        Map<String, String> metadata = readMetadata(index, root.get("metadata"));

        Path directory = index.toAbsolutePath().getParent().normalize();
        Map<String, SafetensorsFile> openShards = new LinkedHashMap<>();
        Map<String, SafetensorsFile> shardByName = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, JsonNode> e : weightMap.properties()) {
                String name = e.getKey();
                if (!e.getValue().isTextual()) {
                    throw new SafetensorsException(index, name, "weight_map value is not a file name string");
                }
                String shardName = e.getValue().textValue();
                SafetensorsFile shard = openShards.get(shardName);
                if (shard == null) {
                    Path shardPath = directory.resolve(shardName).normalize();
                    if (!shardPath.startsWith(directory) || shardPath.equals(directory)) {
                        throw new SafetensorsException(index, name, "shard '" + shardName
                                + "' is not a file inside " + directory);
                    }
                    if (!Files.isRegularFile(shardPath)) {
                        throw new SafetensorsException(index, name, "mapped to shard '" + shardName
                                + "', which does not exist");
                    }
                    shard = SafetensorsFile.open(shardPath);
                    openShards.put(shardName, shard);
                }
                if (!shard.contains(name)) {
                    throw new SafetensorsException(index, name, "mapped to shard '" + shardName
                            + "', which does not contain it");
                }
                shardByName.put(name, shard);
            }
        } catch (IOException | RuntimeException e) {
            for (SafetensorsFile shard : openShards.values()) {
                try {
                    shard.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
        return new ShardedSafetensors(index, Collections.unmodifiableMap(shardByName),
                List.copyOf(openShards.values()), metadata);
    }

    /** The index's "metadata": strings as they are, other JSON values (e.g. total_size) as JSON text. */
    private static Map<String, String> readMetadata(Path index, JsonNode node) throws SafetensorsException {
        if (node == null || node.isNull()) return Map.of();
        if (!node.isObject()) throw new SafetensorsException(index, "index \"metadata\" is not a JSON object");
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            metadata.put(e.getKey(), e.getValue().isTextual() ? e.getValue().textValue() : e.getValue().toString());
        }
        return Collections.unmodifiableMap(metadata);
    }

    public Path indexFile() {
        return index;
    }

    @Override
    public Path source() {
        return index;
    }

    /** The shard file holding {@code name}. */
    public Path shardOf(String name) throws SafetensorsException {
        return shard(name).file();
    }

    private SafetensorsFile shard(String name) throws SafetensorsException {
        SafetensorsFile shard = shardByName.get(name);
        if (shard == null) throw new SafetensorsException(index, name, "no such tensor in weight_map");
        return shard;
    }

    @Override
    public List<String> names() {
        return List.copyOf(shardByName.keySet());
    }

    @Override
    public boolean contains(String name) {
        return shardByName.containsKey(name);
    }

    /** The tensor's entry in its shard; begin and end are relative to that shard's data buffer. */
    @Override
    public TensorInfo info(String name) throws SafetensorsException {
        return shard(name).info(name);
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public float[] readF32(String name) throws IOException {
        return shard(name).readF32(name);
    }

    @Override
    public double[] readF64(String name) throws IOException {
        return shard(name).readF64(name);
    }

    @Override
    public short[] readHalf(String name) throws IOException {
        return shard(name).readHalf(name);
    }

    @Override
    public int[] readI32(String name) throws IOException {
        return shard(name).readI32(name);
    }

    @Override
    public long[] readI64(String name) throws IOException {
        return shard(name).readI64(name);
    }

    @Override
    public byte[] readBytes(String name) throws IOException {
        return shard(name).readBytes(name);
    }

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (SafetensorsFile shard : shards) {
            try {
                shard.close();
            } catch (IOException e) {
                if (first == null) first = e;
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }
}
