package dev.bertft.cli;

import dev.bertft.train.Hyperparameter;
import dev.bertft.train.HyperparameterException;
import dev.bertft.train.TrainingArgs;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The options made from the library's declaration of each training setting ({@link TrainingArgs}): name,
 * default and description come from there, so the command line and the Java API cannot disagree. train
 * takes every setting; eval and prepare the two they share with it, the seed and the maximum length.
 * A setting that is on by default becomes a flag that turns it off (--no-shuffle).
 */
final class HyperparameterOptions implements CommandLine.IModelTransformer {

    /** The settings go after the mixed-in options (model, data, device) and before the command's own and --help, as help lists them. */
    @Override
    public CommandSpec transform(CommandSpec command) {
        List<OptionSpec> own = new ArrayList<>(command.options());
        for (CommandSpec mixin : command.mixins().values()) own.removeAll(mixin.options());
        command.options().stream().filter(o -> o.usageHelp() || o.versionHelp()).forEach(own::add);   // --help and --version last
        own.forEach(command::remove);
        for (Hyperparameter<?> p : of(command)) command.addOption(option(p));
        own.forEach(command::addOption);
        return command;
    }

    private static List<Hyperparameter<?>> of(CommandSpec command) {
        return command.name().equals("train") ? TrainingArgs.HYPERPARAMETERS : List.of(TrainingArgs.SEED, TrainingArgs.MAX_LENGTH);
    }

    /** The option's name: the setting's in kebab case, or --no-... for a setting that is on by default. */
    static String flag(Hyperparameter<?> p) {
        return "--" + (isNegated(p) ? "no-" : "") + p.name().replace('_', '-');
    }

    /** An error about settings, with each named by its option. */
    static String message(HyperparameterException e) {
        return e.message(HyperparameterOptions::flag);
    }

    /** Every declared setting of the command into {@code builder}, as parsed (defaults included). */
    static TrainingArgs.Builder read(CommandSpec command, TrainingArgs.Builder builder) {
        for (Hyperparameter<?> p : of(command)) put(builder, p, value(command, p));
        return builder;
    }

    /** One setting's parsed value, in the setting's own type. */
    static <T> T value(CommandSpec command, Hyperparameter<T> p) {
        Object v = command.findOption(flag(p)).getValue();
        if (isNegated(p)) v = !(Boolean) v;
        if (v instanceof String s && p.type().isEnum()) return p.parse(s);
        return p.type().cast(v);
    }

    private static <T> void put(TrainingArgs.Builder builder, Hyperparameter<T> p, Object v) {
        builder.set(p, p.type().cast(v));
    }

    private static boolean isNegated(Hyperparameter<?> p) {
        return p.type() == Boolean.class && Boolean.TRUE.equals(p.defaultValue());
    }

    private static OptionSpec option(Hyperparameter<?> p) {
        OptionSpec.Builder o = OptionSpec.builder(flag(p)).hidden(p.isAdvanced()).userObject(p);
        String description = isNegated(p) ? "Turns off " + p.words() + " (" + p.description() + ")." : p.description();
        if (p.type() == Boolean.class && p.defaultValue() != null) {   // unset by default: takes true or false (--greater-is-better)
            o.type(boolean.class).arity("0").defaultValue("false");
        } else {
            o.type(p.type().isEnum() ? String.class : p.type()).paramLabel(label(p));
            if (p.type() == Boolean.class) o.arity("1");
            if (p.type() == List.class) o.auxiliaryTypes(String.class).splitRegex(",");
            if (p.defaultValue() != null) {
                String text = p.defaultValue() instanceof List<?> l ? String.join(",", l.stream().map(String::valueOf).toList())
                        : Hyperparameter.text(p.defaultValue());
                o.defaultValue(text);
                description += " Default: ${DEFAULT-VALUE}.";
            }
        }
        return o.description(description).build();
    }

    private static String label(Hyperparameter<?> p) {
        if (p.type() == Path.class) return "DIR";
        if (p.type() == Boolean.class) return "true|false";
        if (p.type() == Integer.class || p.type() == Long.class) return "N";
        if (p.type() == Double.class) return "X";
        if (TrainingArgs.JSON_SETTINGS.contains(p)) return "JSON";
        return p.type() == List.class ? "WHERE" : "NAME";
    }
}
