package dev.bertft.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.bert.BertConfig;
import dev.bertft.classifier.ProblemType;
import dev.bertft.data.Dataset;
import dev.bertft.hub.ModelResolver;
import dev.bertft.tokenizer.WordPieceTokenizer;
import dev.bertft.train.Batches;
import dev.bertft.train.Tokenization;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code bert-ft prepare}: the tokenized train and eval examples exactly as {@code train} would
 * see them (same subsets, truncation and ids), as JSONL, so another framework can be run on
 * the very same data.
 */
@Command(name = "prepare", mixinStandardHelpOptions = true, sortOptions = false, modelTransformer = HyperparameterOptions.class,
        description = "Write the tokenized train/eval examples train would use, as train.jsonl and eval.jsonl.")
final class PrepareCommand implements Callable<Integer> {
    @Mixin
    DataArgs source;

    @Option(names = "--output", required = true, description = "Folder for train.jsonl and eval.jsonl.")
    Path output;

    @Option(names = "--verbose", description = "Print stack traces on errors.")
    boolean verbose;

    @Override
    public Integer call() throws IOException {
        ModelResolver.ModelAndTokenizer folders = source.resolveModel();
        Path modelDir = folders.model();
        WordPieceTokenizer tokenizer = WordPieceTokenizer.load(folders.tokenizer());
        Dataset data = source.loadData(BertConfig.read(modelDir).problemType());
        int maxLength = source.maxLength(tokenizer, LoadedModel.maxPositions(modelDir));
        Files.createDirectories(output);
        boolean regression = data.problemType() == ProblemType.REGRESSION;
        write(output.resolve("train.jsonl"), Tokenization.tokenize(tokenizer, data.train(), maxLength), regression);
        write(output.resolve("eval.jsonl"), Tokenization.tokenize(tokenizer, data.eval(), maxLength), regression);
        System.err.println("wrote " + data.train().size() + " train and " + data.eval().size() + " eval examples to " + output);
        return 0;
    }

    /** One line per example: input_ids and the label as HF's data collator takes it (a class id, a score, or "labels": a multi-hot row). */
    private static void write(Path file, List<Batches.Tokenized> rows, boolean regression) throws IOException {
        ObjectMapper json = new ObjectMapper();
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (Batches.Tokenized t : rows) {
                ObjectNode o = json.createObjectNode();
                var ids = o.putArray("input_ids");
                for (int id : t.ids()) ids.add(id);
                var types = o.putArray("token_type_ids");   // a sentence pair's second text is segment 1
                for (int type : t.typeIds()) types.add(type);
                if (t.targets() == null) {
                    o.put("label", t.label());
                } else if (regression) {
                    o.put("label", t.targets()[0]);
                } else {
                    var labels = o.putArray("labels");
                    for (float v : t.targets()) labels.add(v);
                }
                w.write(json.writeValueAsString(o));
                w.newLine();
            }
        }
    }
}
