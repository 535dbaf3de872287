package dev.bertft.data;

import java.util.List;
import java.util.function.Function;

/**
 * Data options that cannot be used together or as given. {@link #getMessage()} names them in words for
 * Java callers ("validation split must be ..."); {@link #message(Function)} names them as the caller
 * knows them, e.g. by {@link DataSetting#option()} on the command line.
 */
public final class DataSettingException extends DataException {
    private static final long serialVersionUID = 1L;

    private final transient SettingMessage<DataSetting> message;

    /** {@code template} refers to the i-th subject as {i}: "{0} and {1} both given". */
    DataSettingException(String template, DataSetting... subjects) {
        this(new SettingMessage<>(template, List.of(subjects)));
    }

    private DataSettingException(SettingMessage<DataSetting> message) {
        super(message.format(DataSetting::words));
        this.message = message;
    }

    /** The message with each option called what {@code naming} says. */
    public String message(Function<DataSetting, String> naming) {
        return message.format(naming);
    }
}
