package dev.bertft.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.CharSpan;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
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
    private final boolean addSpecialTokens;

    HfOracle(Path tokenizerJson, Map<String, String> options) throws IOException {
        Map<String, String> o = new HashMap<>(Map.of("truncation", "false", "padding", "false"));
        o.putAll(options);
        hf = HuggingFaceTokenizer.newInstance(tokenizerJson, o);
        addSpecialTokens = Boolean.parseBoolean(o.getOrDefault("addSpecialTokens", "true"));
    }

    HfOracle(Path tokenizerJson) throws IOException {
        this(tokenizerJson, Map.of());
    }

    /** What HF made of one input; spans are code-point offsets, null for template tokens. */
    record Expected(int[] ids, int[] typeIds, int[] attentionMask, int[] specialTokensMask, CharSpan[] spans) {}

    /**
     * Straight through DJL's JNI layer: its HuggingFaceTokenizer.batchEncode also builds every
     * token's String and more, ten times slower than the Rust tokenizer itself.
     */
    List<Expected> encode(List<String> texts) {
        return collect(TokenizersLibrary.LIB.batchEncode(hf.getHandle(), texts.toArray(new String[0]), addSpecialTokens));
    }

    List<Expected> encodePairs(List<String> a, List<String> b) {
        return collect(TokenizersLibrary.LIB.batchEncodePair(hf.getHandle(), a.toArray(new String[0]),
                b.toArray(new String[0]), addSpecialTokens));
    }

    private static List<Expected> collect(long[] handles) {
        TokenizersLibrary lib = TokenizersLibrary.LIB;
        List<Expected> out = new ArrayList<>(handles.length);
        for (long h : handles) {
            out.add(new Expected(ints(lib.getTokenIds(h)), ints(lib.getTypeIds(h)), ints(lib.getAttentionMask(h)),
                    ints(lib.getSpecialTokenMask(h)), lib.getTokenCharSpans(h)));
            lib.deleteEncoding(h);
        }
        return out;
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
