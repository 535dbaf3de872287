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

    private final String template;
    private final transient List<DataSetting> subjects;

    /** {@code template} refers to the i-th subject as {i}: "{0} and {1} both given". */
    DataSettingException(String template, DataSetting... subjects) {
        super(fill(template, List.of(subjects), DataSetting::words));
        this.template = template;
        this.subjects = List.of(subjects);
    }

    /** The message with each option called what {@code naming} says. */
    public String message(Function<DataSetting, String> naming) {
        return fill(template, subjects, naming);
    }

    private static String fill(String template, List<DataSetting> subjects, Function<DataSetting, String> naming) {
        String out = template;
        for (int i = 0; i < subjects.size(); i++) out = out.replace("{" + i + "}", naming.apply(subjects.get(i)));
        return out;
    }
}
