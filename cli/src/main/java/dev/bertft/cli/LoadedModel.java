package dev.bertft.cli;

import dev.bertft.autograd.Precision;
import dev.bertft.bert.BertConfig;
import dev.bertft.bert.BertForSequenceClassification;
import dev.bertft.classifier.ProblemType;
import dev.bertft.tensor.Backend;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A fine-tuned BERT classifier loaded for a command. */
record LoadedModel(BertForSequenceClassification model) {

    /**
     * A fine-tuned folder whose problem type and labels must be the data set's, the labels in the same order,
     * loaded for prediction at {@code precision}: a bf16/fp16 checkpoint evaluated under that autocast keeps
     * its Linear weights as stored, as {@code predict} does, instead of a float32 copy of each.
     */
    static LoadedModel fineTuned(Path dir, Backend backend, List<String> labelNames, ProblemType problemType,
                                 Precision precision) throws IOException {
        BertForSequenceClassification m = BertForSequenceClassification.forPrediction(dir, backend,
                BertForSequenceClassification.LoadOptions.seed(0), precision);
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
        return new LoadedModel(m);
    }

    int maxPositions() {
        return model.config().maxPositionEmbeddings();
    }

    static int maxPositions(Path dir) throws IOException {
        return BertConfig.read(dir.resolve("config.json")).maxPositionEmbeddings();
    }
}
