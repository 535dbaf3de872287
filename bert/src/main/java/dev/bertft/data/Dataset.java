package dev.bertft.data;

import dev.bertft.train.ProblemType;

import java.util.List;

/**
 * Training and evaluation examples with the label names in id order (config.json's id2label) and what
 * the labels are. {@code eval} is empty when no evaluation data was asked for or found.
 */
public record Dataset(List<Example> train, List<Example> eval, List<String> labelNames, ProblemType problemType) {
    public Dataset {
        train = List.copyOf(train);
        eval = List.copyOf(eval);
        labelNames = List.copyOf(labelNames);
    }
}
