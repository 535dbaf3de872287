package dev.bertft.cli;

import dev.bertft.bert.BertConfig;
import dev.bertft.bert.BertForSequenceClassification;
import dev.bertft.tensor.Backend;
import dev.bertft.train.ProblemType;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A BERT classifier loaded for a command, with what loading did in words. */
record LoadedModel(BertForSequenceClassification model, List<String> report) {

    /** A pretrained folder with a head for the data set's labels and problem type (fresh when the folder has none). */
    static LoadedModel fromPretrained(Path dir, Backend backend, List<String> labelNames, ProblemType problemType, long seed,
                                      Map<String, String> overrides) throws IOException {
        Map<Integer, String> id2label = new LinkedHashMap<>();
        for (int i = 0; i < labelNames.size(); i++) id2label.put(i, labelNames.get(i));
        // As transformers' from_pretrained(..., problem_type=...): a config value given at load time.
        Map<String, String> config = new LinkedHashMap<>(overrides);
        config.put("problem_type", problemType.hfName());
        BertForSequenceClassification m = BertForSequenceClassification.fromPretrained(dir, backend,
                new BertForSequenceClassification.LoadOptions(labelNames.size(), id2label, seed, config));
        List<String> report = new ArrayList<>();
        var r = m.loadReport();
        if (!r.newlyInitialized().isEmpty()) {
            report.add("newly initialized (train them before use): " + String.join(", ", r.newlyInitialized()));
        }
        if (!r.ignored().isEmpty()) report.add("not used from the checkpoint: " + String.join(", ", r.ignored()));
        return new LoadedModel(m, report);
    }

    /** A fine-tuned folder whose problem type and labels must be the data set's, the labels in the same order. */
    static LoadedModel fineTuned(Path dir, Backend backend, List<String> labelNames, ProblemType problemType) throws IOException {
        BertForSequenceClassification m = BertForSequenceClassification.fromPretrained(dir, backend,
                BertForSequenceClassification.LoadOptions.seed(0));
        if (m.problemType() != problemType) {
            throw new IllegalArgumentException(dir.resolve("config.json") + ": the model's problem_type " + m.problemType().hfName()
                    + " is not the data's " + problemType.hfName());
        }
        List<String> modelLabels = new ArrayList<>(m.config().id2label().values());
        if (!modelLabels.equals(labelNames)) {
            throw new IllegalArgumentException(dir.resolve("config.json") + ": the model's labels " + modelLabels
                    + " are not the data's labels " + labelNames);
        }
        if (!m.loadReport().newlyInitialized().isEmpty()) {
            throw new IllegalArgumentException(dir + ": not a fine-tuned classifier (no weights for "
                    + String.join(", ", m.loadReport().newlyInitialized()) + ")");
        }
        return new LoadedModel(m, List.of());
    }

    int maxPositions() {
        return model.config().maxPositionEmbeddings();
    }

    static int maxPositions(Path dir) throws IOException {
        return BertConfig.read(dir.resolve("config.json")).maxPositionEmbeddings();
    }
}
