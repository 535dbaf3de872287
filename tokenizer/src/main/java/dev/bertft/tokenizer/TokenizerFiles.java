package dev.bertft.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.io.AtomicFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reading and writing the tokenizer files of a Hugging Face model folder. {@code tokenizer.json}
 * wins over {@code vocab.txt} when both exist, as in {@code transformers}. Anything that is not
 * a BERT WordPiece setup is refused with the file and the unsupported part named.
 */
final class TokenizerFiles {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String VOCAB = "vocab.txt", CONFIG = "tokenizer_config.json", TOKENIZER = "tokenizer.json",
            SPECIAL_MAP = "special_tokens_map.json";
    /** The special-token roles of tokenizer_config.json, with BERT's defaults. */
    private static final Map<String, String> ROLES = Map.of("unk_token", "[UNK]", "sep_token", "[SEP]",
            "pad_token", "[PAD]", "cls_token", "[CLS]", "mask_token", "[MASK]");

    private TokenizerFiles() {}

    /** What saveTo needs to write the folder back: the roles' tokens, the length, tokenizer.json's bytes. */
    record Source(Map<String, String> roles, int modelMaxLength, byte[] tokenizerJson) {}

    static WordPieceTokenizer load(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new NoSuchFileException(dir + " (not a model folder)");
        Path config = dir.resolve(CONFIG);
        JsonNode cfg = Files.exists(config) ? readJson(config, Files.readAllBytes(config)) : JSON.createObjectNode();
        if (!cfg.isObject()) throw new IOException(config + ": expected a JSON object");
        Map<String, String> roles = roles(cfg);
        int modelMaxLength = modelMaxLength(cfg);
        Path tokenizerJson = dir.resolve(TOKENIZER);
        if (Files.exists(tokenizerJson)) return fromTokenizerJson(tokenizerJson, roles, modelMaxLength);
        Path vocabFile = dir.resolve(VOCAB);
        if (!Files.exists(vocabFile)) {
            throw new NoSuchFileException(dir + ": neither " + TOKENIZER + " nor " + VOCAB + " found");
        }
        return fromVocabTxt(vocabFile, cfg, config, roles, modelMaxLength);
    }

    private static WordPieceTokenizer fromVocabTxt(Path file, JsonNode cfg, Path config, Map<String, String> roles,
                                                   int modelMaxLength) throws IOException {
        List<String> tokens = readVocab(file);
        boolean lowercase = bool(cfg, "do_lower_case", true, config);
        JsonNode strip = cfg.get("strip_accents");
        boolean stripAccents = strip == null || strip.isNull() ? lowercase : bool(cfg, "strip_accents", lowercase, config);
        NormalizerSettings settings = new NormalizerSettings(true,
                bool(cfg, "tokenize_chinese_chars", true, config), stripAccents, lowercase);
        Vocabulary vocab = new Vocabulary(tokens, "##");
        List<SpecialTokens.Token> added = new ArrayList<>();
        for (String role : List.of("pad_token", "unk_token", "cls_token", "sep_token", "mask_token")) {
            String t = roles.get(role);
            int id = vocab.id(t);
            if (id >= 0) added.add(new SpecialTokens.Token(t, id, true));
            else if (!role.equals("pad_token") && !role.equals("mask_token")) {
                throw new IOException(file + ": the " + role + " '" + t + "' is not in the vocabulary");
            }
        }
        SpecialTokens specials = new SpecialTokens(added);
        Template template = Template.bert(roles.get("cls_token"), vocab.id(roles.get("cls_token")),
                roles.get("sep_token"), vocab.id(roles.get("sep_token")));
        String pad = vocab.id(roles.get("pad_token")) >= 0 ? roles.get("pad_token") : null;
        return new WordPieceTokenizer(vocab, settings, roles.get("unk_token"), "##", 100, specials, template,
                WordPieceTokenizer.Decoder.WORDPIECE_CLEANUP,
                pad, modelMaxLength, new Source(roles, modelMaxLength, null));
    }

    /** vocab.txt: one token per line, its id the line number from 0; strict UTF-8. */
    static List<String> readVocab(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult r = dec.decode(in, out, true);
        if (r.isError()) {
            int line = 1;
            for (int i = 0; i < in.position(); i++) if (bytes[i] == '\n') line++;
            throw new IOException(file + ":" + line + ": invalid UTF-8");
        }
        dec.flush(out);
        String text = out.flip().toString();
        List<String> tokens = new ArrayList<>();
        int from = 0;
        while (from < text.length()) {
            int nl = text.indexOf('\n', from);
            int to = nl < 0 ? text.length() : nl;
            tokens.add(text.substring(from, to > from && text.charAt(to - 1) == '\r' ? to - 1 : to));
            from = to + 1;
        }
        if (tokens.isEmpty()) throw new IOException(file + ": empty vocabulary");
        return tokens;
    }

    private static WordPieceTokenizer fromTokenizerJson(Path file, Map<String, String> roles, int modelMaxLength)
            throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        JsonNode root = readJson(file, bytes);
        JsonNode model = require(root, "model", file);
        expectType(model, "WordPiece", "model", file);
        JsonNode vocabNode = require(model, "vocab", file);
        if (!vocabNode.isObject() || vocabNode.isEmpty()) throw new IOException(file + ": model.vocab must be a non-empty object");
        String[] byId = new String[vocabNode.size()];
        for (Iterator<Map.Entry<String, JsonNode>> it = vocabNode.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int id = e.getValue().isInt() ? e.getValue().intValue() : -1;
            if (id < 0 || id >= byId.length || byId[id] != null) {
                throw new IOException(file + ": model.vocab id " + e.getValue() + " of '" + e.getKey()
                        + "' is not a unique id in 0.." + (byId.length - 1));
            }
            byId[id] = e.getKey();
        }
        String prefix = text(model, "continuing_subword_prefix", "##", file);
        Vocabulary vocab = new Vocabulary(List.of(byId), prefix);
        String unk = text(model, "unk_token", "[UNK]", file);
        if (vocab.id(unk) < 0) throw new IOException(file + ": model.unk_token '" + unk + "' is not in model.vocab");
        JsonNode maxChars = model.get("max_input_chars_per_word");
        int maxInputChars = maxChars == null || maxChars.isNull() ? 100 : maxChars.intValue();
        if (maxChars != null && !maxChars.isNull() && (!maxChars.canConvertToInt() || maxInputChars < 1)) {
            throw new IOException(file + ": model.max_input_chars_per_word must be a positive integer, got " + maxChars);
        }

        JsonNode norm = root.get("normalizer");
        if (norm == null || norm.isNull()) throw new IOException(file + ": normalizer is missing (need BertNormalizer)");
        expectType(norm, "BertNormalizer", "normalizer", file);
        boolean lowercase = bool(norm, "lowercase", true, file);
        JsonNode strip = norm.get("strip_accents");
        NormalizerSettings settings = new NormalizerSettings(bool(norm, "clean_text", true, file),
                bool(norm, "handle_chinese_chars", true, file),
                strip == null || strip.isNull() ? lowercase : bool(norm, "strip_accents", lowercase, file), lowercase);

        JsonNode pre = root.get("pre_tokenizer");
        if (pre == null || pre.isNull()) throw new IOException(file + ": pre_tokenizer is missing (need BertPreTokenizer)");
        expectType(pre, "BertPreTokenizer", "pre_tokenizer", file);

        List<SpecialTokens.Token> added = new ArrayList<>();
        JsonNode addedNode = root.get("added_tokens");
        if (addedNode != null && !addedNode.isNull()) {
            for (JsonNode t : addedNode) {
                String content = text(t, "content", null, file);
                int id = t.path("id").asInt(-1);
                if (content == null || id < 0 || id >= vocab.size()) {
                    throw new IOException(file + ": added token " + t + " must have a content and an id in model.vocab");
                }
                for (String flag : List.of("lstrip", "rstrip", "single_word", "normalized")) {
                    if (t.path(flag).asBoolean(false)) {
                        throw new IOException(file + ": added token '" + content + "' with " + flag
                                + "=true is not supported");
                    }
                }
                added.add(new SpecialTokens.Token(content, id, t.path("special").asBoolean(false)));
            }
        }
        SpecialTokens specials = new SpecialTokens(added);

        Template template = template(root.get("post_processor"), vocab, file);
        JsonNode decoderNode = root.get("decoder");
        WordPieceTokenizer.Decoder decoder = WordPieceTokenizer.Decoder.NONE;
        if (decoderNode != null && !decoderNode.isNull()) {
            expectType(decoderNode, "WordPiece", "decoder", file);
            if (!prefix.equals(text(decoderNode, "prefix", "##", file))) {
                throw new IOException(file + ": decoder.prefix differs from model.continuing_subword_prefix");
            }
            decoder = bool(decoderNode, "cleanup", true, file)
                    ? WordPieceTokenizer.Decoder.WORDPIECE_CLEANUP : WordPieceTokenizer.Decoder.WORDPIECE;
        }
        Map<String, String> named = new LinkedHashMap<>(roles);
        named.put("unk_token", unk);
        JsonNode padding = root.get("padding");
        if (padding != null && padding.hasNonNull("pad_token")) named.put("pad_token", padding.get("pad_token").asText());
        String pad = vocab.id(named.get("pad_token")) >= 0 ? named.get("pad_token") : null;
        return new WordPieceTokenizer(vocab, settings, unk, prefix, maxInputChars, specials, template, decoder, pad,
                modelMaxLength, new Source(named, modelMaxLength, bytes));
    }

    /** TemplateProcessing, the older BertProcessing, or none (no special tokens). */
    private static Template template(JsonNode pp, Vocabulary vocab, Path file) throws IOException {
        if (pp == null || pp.isNull()) {
            Template.Part a = new Template.Part(null, null, 0, 0), b = new Template.Part(null, null, 1, 1);
            return new Template(List.of(a), List.of(a, b));
        }
        String type = pp.path("type").asText("");
        if (type.equals("BertProcessing")) {
            JsonNode cls = pp.path("cls"), sep = pp.path("sep");
            if (cls.size() != 2 || sep.size() != 2) throw new IOException(file + ": post_processor.cls/sep must be [token, id]");
            return Template.bert(cls.get(0).asText(), cls.get(1).asInt(), sep.get(0).asText(), sep.get(1).asInt());
        }
        if (!type.equals("TemplateProcessing")) {
            throw new IOException(file + ": post_processor type '" + type + "' is not supported (need TemplateProcessing or BertProcessing)");
        }
        Map<String, int[]> specialIds = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = pp.path("special_tokens").fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode ids = e.getValue().path("ids");
            int[] arr = new int[ids.size()];
            for (int i = 0; i < arr.length; i++) {
                arr[i] = ids.get(i).asInt(-1);
                if (arr[i] < 0 || arr[i] >= vocab.size()) {
                    throw new IOException(file + ": post_processor special token '" + e.getKey() + "' has an id outside model.vocab");
                }
            }
            specialIds.put(e.getKey(), arr);
        }
        return new Template(parts(pp.path("single"), specialIds, file, "single"), parts(pp.path("pair"), specialIds, file, "pair"));
    }

    private static List<Template.Part> parts(JsonNode list, Map<String, int[]> specialIds, Path file, String which)
            throws IOException {
        if (!list.isArray() || list.isEmpty()) throw new IOException(file + ": post_processor." + which + " must be a non-empty list");
        List<Template.Part> parts = new ArrayList<>();
        for (JsonNode p : list) {
            if (p.has("SpecialToken")) {
                String id = p.get("SpecialToken").path("id").asText();
                int[] ids = specialIds.get(id);
                if (ids == null) throw new IOException(file + ": post_processor." + which + " names '" + id + "', absent from special_tokens");
                parts.add(new Template.Part(id, ids, -1, p.get("SpecialToken").path("type_id").asInt(0)));
            } else if (p.has("Sequence")) {
                String id = p.get("Sequence").path("id").asText();
                if (!id.equals("A") && !id.equals("B")) throw new IOException(file + ": post_processor." + which + " has sequence '" + id + "'");
                parts.add(new Template.Part(null, null, id.equals("A") ? 0 : 1, p.get("Sequence").path("type_id").asInt(0)));
            } else {
                throw new IOException(file + ": post_processor." + which + " has an unknown piece " + p);
            }
        }
        return parts;
    }

    private static JsonNode readJson(Path file, byte[] bytes) throws IOException {
        try {
            JsonNode n = JSON.readTree(bytes);
            if (n == null || n.isMissingNode()) throw new IOException(file + ": empty file");
            return n;
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            String where = loc == null ? "" : ":" + loc.getLineNr() + ":" + loc.getColumnNr();
            throw new IOException(file + where + ": malformed JSON (" + e.getOriginalMessage() + ")");
        }
    }

    private static JsonNode require(JsonNode node, String field, Path file) throws IOException {
        JsonNode n = node.get(field);
        if (n == null || n.isNull()) throw new IOException(file + ": '" + field + "' is missing");
        return n;
    }

    private static void expectType(JsonNode node, String expected, String what, Path file) throws IOException {
        String type = node.path("type").asText("");
        if (!type.equals(expected)) {
            throw new IOException(file + ": " + what + " type '" + type + "' is not supported (need " + expected + ")");
        }
    }

    private static boolean bool(JsonNode node, String field, boolean dflt, Path file) throws IOException {
        JsonNode n = node.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isBoolean()) throw new IOException(file + ": '" + field + "' must be true or false, got " + n);
        return n.booleanValue();
    }

    private static String text(JsonNode node, String field, String dflt, Path file) throws IOException {
        JsonNode n = node.get(field);
        if (n == null || n.isNull()) return dflt;
        if (!n.isTextual()) throw new IOException(file + ": '" + field + "' must be a string, got " + n);
        return n.textValue();
    }

    /** Special-token roles from tokenizer_config.json: a string or {"content": ...}; BERT's when absent. */
    private static Map<String, String> roles(JsonNode cfg) {
        Map<String, String> roles = new LinkedHashMap<>();
        for (String role : List.of("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")) {
            JsonNode n = cfg.get(role);
            String t = n == null || n.isNull() ? null : n.isTextual() ? n.textValue() : n.path("content").asText(null);
            roles.put(role, t == null ? ROLES.get(role) : t);
        }
        return roles;
    }

    /** model_max_length, or 0 when absent or a "very large" placeholder. */
    private static int modelMaxLength(JsonNode cfg) {
        JsonNode n = cfg.get("model_max_length");
        if (n == null || !n.isNumber() || n.doubleValue() < 1 || n.doubleValue() > 1e7) return 0;
        return n.intValue();
    }

    static void save(Path dir, WordPieceTokenizer tok, Vocabulary vocab, Source source)
            throws IOException {
        Files.createDirectories(dir);
        StringBuilder sb = new StringBuilder();
        for (int id = 0; id < vocab.size(); id++) sb.append(vocab.token(id)).append('\n');
        AtomicFiles.write(dir.resolve(VOCAB), sb.toString().getBytes(StandardCharsets.UTF_8));

        NormalizerSettings s = tok.normalizerSettings();
        ObjectNode cfg = JSON.createObjectNode();
        cfg.put("tokenizer_class", "BertTokenizer");
        cfg.put("do_lower_case", s.lowercase());
        cfg.put("strip_accents", s.stripAccents());
        cfg.put("tokenize_chinese_chars", s.handleChineseChars());
        if (source.modelMaxLength() > 0) cfg.put("model_max_length", source.modelMaxLength());
        ObjectNode map = JSON.createObjectNode();
        for (Map.Entry<String, String> e : source.roles().entrySet()) {
            if (vocab.id(e.getValue()) < 0) continue;
            cfg.put(e.getKey(), e.getValue());
            map.put(e.getKey(), e.getValue());
        }
        AtomicFiles.write(dir.resolve(CONFIG), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(cfg));
        AtomicFiles.write(dir.resolve(SPECIAL_MAP), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(map));
        if (source.tokenizerJson() != null) AtomicFiles.write(dir.resolve(TOKENIZER), source.tokenizerJson());
    }
}
