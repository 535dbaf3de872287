package dev.bertft.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.util.PairList;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face's Rust tokenizer through DJL (its jar bundles the linux-x86_64 library, so no
 * download happens), as the reference for parity tests. The model folder's own truncation and
 * padding (all-MiniLM embeds 128) are switched off unless a test asks for some.
 */
final class HfOracle implements AutoCloseable {
    final HuggingFaceTokenizer hf;

    HfOracle(Path tokenizerJson, Map<String, String> options) throws IOException {
        Map<String, String> o = new HashMap<>(Map.of("truncation", "false", "padding", "false"));
        o.putAll(options);
        hf = HuggingFaceTokenizer.newInstance(tokenizerJson, o);
    }

    HfOracle(Path tokenizerJson) throws IOException {
        this(tokenizerJson, Map.of());
    }

    ai.djl.huggingface.tokenizers.Encoding[] encode(List<String> texts) {
        return hf.batchEncode(texts);
    }

    ai.djl.huggingface.tokenizers.Encoding[] encodePairs(List<String> a, List<String> b) {
        PairList<String, String> pairs = new PairList<>(a, b);
        return hf.batchEncode(pairs);
    }

    static int[] ints(long[] v) {
        int[] r = new int[v.length];
        for (int i = 0; i < v.length; i++) r[i] = Math.toIntExact(v[i]);
        return r;
    }

    @Override
    public void close() {
        hf.close();
    }
}
