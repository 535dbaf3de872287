package dev.bertft.train;

import dev.bertft.data.SettingMessage;
import java.util.List;
import java.util.function.Function;

/**
 * A setting, or a combination of settings, that a run cannot take. The message names each setting as the
 * caller knows it: {@link #getMessage()} in words ("learning rate must be >= 0, got -1") for Java callers,
 * {@link #message(Function)} with the command line's option names for its users.
 */
public final class HyperparameterException extends IllegalArgumentException {
    private final transient SettingMessage<Hyperparameter<?>> message;

    /** {@code template} refers to the i-th subject as {i}: "{0} needs an {1}". */
    HyperparameterException(String template, Hyperparameter<?>... subjects) {
        this(new SettingMessage<>(template, List.of(subjects)));
    }

    private HyperparameterException(SettingMessage<Hyperparameter<?>> message) {
        super(message.format(Hyperparameter::words));
        this.message = message;
    }

    /** The settings the message is about, in its order. */
    public List<Hyperparameter<?>> subjects() {
        return message.subjects();
    }

    /** The message with each setting called what {@code naming} says. */
    public String message(Function<Hyperparameter<?>, String> naming) {
        return message.format(naming);
    }
}
