package dev.bertft.train;

import java.util.List;
import java.util.function.Function;

/**
 * A setting, or a combination of settings, that a run cannot take. The message names each setting as the
 * caller knows it: {@link #getMessage()} in words ("learning rate must be >= 0, got -1") for Java callers,
 * {@link #message(Function)} with the command line's option names for its users.
 */
public final class HyperparameterException extends IllegalArgumentException {
    private final String template;
    private final List<Hyperparameter<?>> subjects;

    /** {@code template} refers to the i-th subject as {i}: "{0} needs an {1}". */
    HyperparameterException(String template, Hyperparameter<?>... subjects) {
        super(fill(template, List.of(subjects), Hyperparameter::words));
        this.template = template;
        this.subjects = List.of(subjects);
    }

    /** The settings the message is about, in its order. */
    public List<Hyperparameter<?>> subjects() {
        return subjects;
    }

    /** The message with each setting called what {@code naming} says. */
    public String message(Function<Hyperparameter<?>, String> naming) {
        return fill(template, subjects, naming);
    }

    private static String fill(String template, List<Hyperparameter<?>> subjects, Function<Hyperparameter<?>, String> naming) {
        String out = template;
        for (int i = 0; i < subjects.size(); i++) out = out.replace("{" + i + "}", naming.apply(subjects.get(i)));
        return out;
    }
}
