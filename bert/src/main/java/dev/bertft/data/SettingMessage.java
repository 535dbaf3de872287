package dev.bertft.data;

import java.util.List;
import java.util.function.Function;

/**
 * A message about settings, kept as a template so that each reader sees the settings under the names it
 * knows: "{0} needs an {1}" with {i} replaced by the i-th subject's name (words for a Java caller, option
 * names on the command line). Shared by the training settings' and the data options' exceptions.
 */
public record SettingMessage<S>(String template, List<S> subjects) {

    public SettingMessage {
        subjects = List.copyOf(subjects);
    }

    /** The message with each subject called what {@code naming} says. */
    public String format(Function<? super S, String> naming) {
        String out = template;
        for (int i = 0; i < subjects.size(); i++) out = out.replace("{" + i + "}", naming.apply(subjects.get(i)));
        return out;
    }
}
