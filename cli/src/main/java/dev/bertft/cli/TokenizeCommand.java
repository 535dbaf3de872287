package dev.bertft.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bertft.hub.ModelFiles;
import dev.bertft.tokenizer.EncodeOptions;
import dev.bertft.tokenizer.Encoding;
import dev.bertft.tokenizer.WordPieceTokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Tokenizes text the way the model will see it: one input per line (plain text, or a JSON object
 * with "text" and optionally "text_pair"), one JSON object per line out, with special tokens,
 * unpadded, cut longest-first only when --max-length is given. Invalid UTF-8 is read as U+FFFD.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Tokenize lines of text (or JSONL with \"text\"/\"text_pair\") into input_ids, token_type_ids, attention_mask.")
final class TokenizeCommand implements Callable<Integer> {
    /** Lines encoded together in parallel; output order is input order. */
    private static final int BATCH = 2048;

    @Option(names = "--model", required = true, paramLabel = "DIR|HUB_ID",
            description = "A folder with tokenizer.json or vocab.txt (+ tokenizer_config.json), or a hub id found in (or downloaded to) the Hugging Face cache.")
    String model;

    @Mixin
    HubArgs hub;

    @Option(names = "--max-length", paramLabel = "N", defaultValue = "0",
            description = "Cut each input (longest-first) to N tokens, special tokens included. Default: no cut.")
    int maxLength;

    @Option(names = "--input", paramLabel = "FILE", description = "Read from FILE instead of standard input.")
    Path input;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    private final ObjectMapper json = new ObjectMapper();

    @Override
    public Integer call() throws IOException {
        if (maxLength < 0) throw new IllegalArgumentException("--max-length must be >= 0, got " + maxLength);
        WordPieceTokenizer tokenizer = WordPieceTokenizer.load(hub.resolve(model, ModelFiles.Needs.TOKENIZER));
        EncodeOptions options = EncodeOptions.of(maxLength);
        if (input != null && !Files.isRegularFile(input)) throw new IOException(input + ": no such file");
        try (InputStream in = input == null ? System.in : Files.newInputStream(input);
             BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8.newDecoder()
                     .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE)), 1 << 16)) {
            Writer out = new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), 1 << 16);
            List<String> texts = new ArrayList<>(BATCH), pairs = new ArrayList<>(BATCH);
            long lineNo = 0;
            for (String line; (line = reader.readLine()) != null; ) {
                lineNo++;
                String[] tp = parse(line, lineNo);
                texts.add(tp[0]);
                pairs.add(tp[1]);
                if (texts.size() == BATCH) write(tokenizer, texts, pairs, options, out);
            }
            write(tokenizer, texts, pairs, options, out);
            out.flush();
        }
        return 0;
    }

    /** A plain line is the text; a line holding a JSON object with a string "text" is JSONL. */
    private String[] parse(String line, long lineNo) throws IOException {
        if (!line.startsWith("{")) return new String[] {line, null};
        JsonNode node;
        try {
            node = json.readTree(line);
        } catch (IOException notJson) {
            return new String[] {line, null};
        }
        if (node == null || !node.isObject() || !node.path("text").isTextual()) return new String[] {line, null};
        JsonNode pair = node.get("text_pair");
        if (pair != null && !pair.isNull() && !pair.isTextual()) {
            throw new IOException((input == null ? "stdin" : input.toString()) + ":" + lineNo + ": \"text_pair\" must be a string");
        }
        return new String[] {node.get("text").textValue(), pair == null || pair.isNull() ? null : pair.textValue()};
    }

    /** Encodes a batch (a null pair is a single text) and writes it as JSON lines, in order. */
    private static void write(WordPieceTokenizer tokenizer, List<String> texts, List<String> pairs,
                              EncodeOptions options, Writer out) throws IOException {
        if (texts.isEmpty()) return;
        List<Encoding> encodings = tokenizer.encodeBatch(texts, pairs, options);
        StringBuilder sb = new StringBuilder(4096);
        for (Encoding e : encodings) {
            sb.setLength(0);
            sb.append("{\"input_ids\":");
            array(sb, e.ids());
            sb.append(",\"token_type_ids\":");
            array(sb, e.typeIds());
            sb.append(",\"attention_mask\":");
            array(sb, e.attentionMask());
            sb.append("}\n");
            out.append(sb);
        }
        texts.clear();
        pairs.clear();
    }

    private static void array(StringBuilder sb, int[] v) {
        sb.append('[');
        for (int i = 0; i < v.length; i++) {
            if (i > 0) sb.append(',');
            sb.append(v[i]);
        }
        sb.append(']');
    }
}
