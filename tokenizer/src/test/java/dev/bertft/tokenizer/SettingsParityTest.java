package dev.bertft.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The other BertNormalizer settings and tokenizer.json shapes, each written into a copy of
 * all-MiniLM's tokenizer.json and compared with HF on the same file: a cased model (no
 * lowercasing, no accent stripping), lowercasing that keeps accents, no CJK splitting, no text
 * cleaning, the older BertProcessing post-processor, and no decoder.
 */
class SettingsParityTest {
    @ParameterizedTest
    @ValueSource(strings = {"cased", "lowercase-keep-accents", "strip-without-lowercase", "no-cjk-split", "no-clean-text",
            "bert-processing", "no-decoder"})
    void variantMatchesHuggingFace(String variant) throws Exception {
        Path src = SharedData.miniLm().resolve("tokenizer.json");
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = (ObjectNode) json.readTree(src.toFile());
        ObjectNode norm = (ObjectNode) root.get("normalizer");
        switch (variant) {
            case "cased" -> norm.put("lowercase", false).putNull("strip_accents");
            case "lowercase-keep-accents" -> norm.put("strip_accents", false);
            case "strip-without-lowercase" -> norm.put("lowercase", false).put("strip_accents", true);
            case "no-cjk-split" -> norm.put("handle_chinese_chars", false);
            case "no-clean-text" -> norm.put("clean_text", false);
            case "bert-processing" -> {
                ObjectNode pp = json.createObjectNode().put("type", "BertProcessing");
                pp.set("sep", ((ArrayNode) json.createArrayNode().add("[SEP]")).add(102));
                pp.set("cls", ((ArrayNode) json.createArrayNode().add("[CLS]")).add(101));
                root.set("post_processor", pp);
            }
            case "no-decoder" -> root.putNull("decoder");
            default -> throw new IllegalArgumentException(variant);
        }
        Path dir = Files.createTempDirectory("tok-" + variant);
        json.writeValue(dir.resolve("tokenizer.json").toFile(), root);
        WordPieceTokenizer ours = WordPieceTokenizer.load(dir);
        List<String> texts = HostileCorpus.texts(1500, 11);
        List<String> a = texts.subList(0, 700), b = texts.subList(700, 1400);
        try (HfOracle hf = new HfOracle(dir.resolve("tokenizer.json"))) {
            List<String> bad = new ArrayList<>(HfParityTest.compare(hf.encode(texts), ours.encodeBatch(texts, null, EncodeOptions.of(0)), texts, null));
            bad.addAll(HfParityTest.compare(hf.encodePairs(a, b), ours.encodeBatch(a, b, EncodeOptions.of(0)), a, b));
            for (String t : texts.subList(0, 300)) {
                int[] ids = ours.encode(t).ids();
                for (boolean skip : new boolean[] {false, true}) {
                    String want = hf.hf.decode(Arrays.stream(ids).asLongStream().toArray(), skip), got = ours.decode(ids, skip);
                    if (!want.equals(got)) bad.add("decode(" + skip + ") " + HfParityTest.quote(want) + " vs " + HfParityTest.quote(got));
                }
            }
            HfParityTest.assertNoMismatch(bad);
        }
    }
}
