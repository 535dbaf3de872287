package dev.bertft.data;

/**
 * The data options an error can be about, with the words a Java caller reads ("validation split") and
 * the command line's option name ("--validation-split"), so that {@link DataSettingException} speaks to
 * each caller in its own terms.
 */
public enum DataSetting {
    VALIDATION_SPLIT("validation split", "--validation-split"),
    EVAL_DATA("evaluation data", "--eval-data"),
    MAX_TRAIN_SAMPLES("maximum number of training examples", "--max-train-samples"),
    MAX_EVAL_SAMPLES("maximum number of evaluation examples", "--max-eval-samples"),
    PROBLEM_TYPE("problem type", "--problem-type");

    private final String words;
    private final String option;

    DataSetting(String words, String option) {
        this.words = words;
        this.option = option;
    }

    public String words() {
        return words;
    }

    public String option() {
        return option;
    }
}
