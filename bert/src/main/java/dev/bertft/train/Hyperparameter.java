package dev.bertft.train;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * One setting of a fine-tuning run, declared once in {@link TrainingArgs}: its name, Hugging Face's name for
 * it, the words errors call it by, its type, its default, what it does, and the rule its values keep. Java
 * callers set it through {@link TrainingArgs.Builder}; the command line makes one option of it, so the two
 * cannot drift apart.
 *
 * @param <T> the value's type: Double, Long, Integer, Boolean, String, Path, a List of String, or an enum
 */
public final class Hyperparameter<T> {
    private final String name;
    private final List<String> hfNames;
    private final String words;
    private final Class<T> type;
    private final T defaultValue;
    private final String description;
    private final Predicate<T> valid;
    private final String rule;
    private final boolean advanced;

    private Hyperparameter(String name, List<String> hfNames, String words, Class<T> type, T defaultValue, String description,
                           Predicate<T> valid, String rule, boolean advanced) {
        this.name = name;
        this.hfNames = List.copyOf(hfNames);
        this.words = words;
        this.type = type;
        this.defaultValue = defaultValue;
        this.description = description;
        this.valid = valid;
        this.rule = rule;
        this.advanced = advanced;
    }

    /** A setting that takes any value of its type; {@code defaultValue} null means "not set" (the description says what then). */
    static <T> Hyperparameter<T> of(String name, String words, Class<T> type, T defaultValue, String description) {
        return new Hyperparameter<>(name, List.of(), words, type, defaultValue, description, v -> true, null, false);
    }

    /** The same, with Hugging Face's TrainingArguments names for it when they differ from ours (the first is the current one). */
    Hyperparameter<T> hf(String... names) {
        return new Hyperparameter<>(name, List.of(names), words, type, defaultValue, description, valid, rule, advanced);
    }

    /** The same, accepting only values {@code valid} holds for; {@code rule} says which ("must be > 0"). */
    Hyperparameter<T> requires(Predicate<T> valid, String rule) {
        return new Hyperparameter<>(name, hfNames, words, type, defaultValue, description, valid, rule, advanced);
    }

    /** The same, for experts: the command line takes it but leaves it out of its help. */
    Hyperparameter<T> advanced() {
        return new Hyperparameter<>(name, hfNames, words, type, defaultValue, description, valid, rule, true);
    }

    /** Ours, in snake_case ("batch_size"); the command line's option is its kebab-case spelling (--batch-size). */
    public String name() {
        return name;
    }

    /** Hugging Face's name, the key of training_args.json ("per_device_train_batch_size"; ours when HF's is the same). */
    public String hfName() {
        return hfNames.isEmpty() ? name : hfNames.get(0);
    }

    /** Every Hugging Face name that means this setting, older ones included; empty when HF's is ours. */
    public List<String> hfNames() {
        return hfNames;
    }

    /** What errors call it ("batch size"). */
    public String words() {
        return words;
    }

    public Class<T> type() {
        return type;
    }

    /** The value {@code bert-ft train} and {@link TrainingArgs#builder()} start from; null when unset by default. */
    public T defaultValue() {
        return defaultValue;
    }

    /** One or two sentences for help texts. */
    public String description() {
        return description;
    }

    /** Left out of the command line's help (Adam's betas and epsilon). */
    public boolean isAdvanced() {
        return advanced;
    }

    /** The value, when it keeps the rule (null is kept: unset); else a {@link HyperparameterException} saying why. */
    T check(Object value) {
        T v = type.cast(value);
        if (v != null && !valid.test(v)) throw new HyperparameterException("{0} " + rule + ", got " + text(v), this);
        return v;
    }

    /** The value as its text would be written on a command line: enums in lower case, as Hugging Face writes them. */
    public static String text(Object value) {
        return value instanceof Enum<?> e ? e.name().toLowerCase(Locale.ROOT) : String.valueOf(value);
    }

    /** An enum setting's value from its lower-case text (as Hugging Face writes it), or an error listing the choices. */
    public T parse(String text) {
        Objects.requireNonNull(text, words + " is null");
        if (!type.isEnum()) throw new IllegalStateException(name + " is not a choice among names");
        for (T c : type.getEnumConstants()) {
            if (text(c).equalsIgnoreCase(text.trim())) return c;
        }
        List<String> choices = Arrays.stream(type.getEnumConstants()).filter(valid).map(Hyperparameter::text).toList();   // the ones it takes
        throw new HyperparameterException("{0} must be " + String.join(", ", choices.subList(0, choices.size() - 1)) + " or "
                + choices.get(choices.size() - 1) + ", got '" + text + "'", this);
    }

    @Override
    public String toString() {
        return name;
    }
}
