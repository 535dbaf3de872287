package dev.bertft.cli;

import dev.bertft.train.Hyperparameter;
import dev.bertft.train.TrainingArgs;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Hugging Face's spellings of our options, so that pasted TrainingArguments work: every --kebab-case
 * option also answers to --kebab_case, the HF names of options we call otherwise map to ours, and a
 * boolean flag takes HF's optional True/False. The arguments are rewritten before picocli sees them,
 * so each option keeps one name in the help and its declared default.
 */
final class HfSpellings {
    /** HF's use_cpu and its older no_cuda, for the commands that take --device (DeviceArgs). */
    private static final Map<String, List<String>> DEVICE_NAMES = Map.of("--use-cpu", List.of("use_cpu", "no_cuda"));
    /**
     * The data arguments of HF's example scripts (run_glue.py, run_classification.py) for the options of DataArgs
     * they mean, after ours, so training_args.json keeps our key.
     */
    private static final Map<String, List<String>> SCRIPT_DATA_NAMES = Map.of("--eval-data", List.of("eval_data", "validation_file"),
            "--label-column", List.of("label_column", "label_column_name"));

    /** The scripts' training file, for the commands that read training data. */
    private static final Map<String, List<String>> TRAIN_FILE_NAMES = Map.of("--data", List.of("data", "train_file"));

    /** The scripts' model argument, for every command that takes --model. */
    private static final Map<String, List<String>> MODEL_NAMES = Map.of("--model", List.of("model_name_or_path"),
            "--revision", List.of("model_revision"));
    /** Evaluation's and prediction's batch size. */
    private static final Map<String, List<String>> EVAL_BATCH_NAMES = Map.of("--batch-size", List.of("per_device_eval_batch_size",
            "per_gpu_eval_batch_size"));

    /**
     * Per command, our option and its Hugging Face names (the first is TrainingArguments' current
     * one, the key training_args.json uses); options missing here are HF's under the same name.
     */
    private static final Map<String, Map<String, List<String>>> HF_NAMES = Map.of(
            "train", trainNames(),
            "eval", names(MODEL_NAMES, EVAL_BATCH_NAMES, DEVICE_NAMES, SCRIPT_DATA_NAMES),
            "predict", names(MODEL_NAMES, EVAL_BATCH_NAMES, DEVICE_NAMES),
            "prepare", names(MODEL_NAMES, TRAIN_FILE_NAMES, SCRIPT_DATA_NAMES));

    private HfSpellings() {
    }

    /**
     * train's: each setting's names as the library declares them, and those of the options only the command line
     * has, with the data arguments of HF's example scripts after ours.
     */
    private static Map<String, List<String>> trainNames() {
        Map<String, List<String>> names = new LinkedHashMap<>();
        for (Hyperparameter<?> p : TrainingArgs.HYPERPARAMETERS) {
            if (!p.hfNames().isEmpty()) names.put(HyperparameterOptions.flag(p), p.hfNames());
        }
        names.put("--resume", List.of("resume_from_checkpoint"));
        return names(names, MODEL_NAMES, TRAIN_FILE_NAMES, DEVICE_NAMES, SCRIPT_DATA_NAMES);
    }

    /** The option-to-names maps of a command, as one. */
    @SafeVarargs
    private static Map<String, List<String>> names(Map<String, List<String>>... parts) {
        Map<String, List<String>> all = new LinkedHashMap<>();
        for (Map<String, List<String>> part : parts) all.putAll(part);
        return all;
    }

    /** The arguments with every HF spelling replaced by the option it names in the command given. */
    static String[] rewrite(CommandLine root, String... args) {
        List<String> out = new ArrayList<>(args.length);
        CommandLine command = root;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--")) {
                out.addAll(Arrays.asList(args).subList(i, args.length));
                break;
            }
            if (command == root && root.getSubcommands().containsKey(arg)) {
                command = root.getSubcommands().get(arg);
                out.add(arg);
                continue;
            }
            int eq = arg.indexOf('=');
            String name = eq < 0 ? arg : arg.substring(0, eq);
            OptionSpec option = name.startsWith("--") && name.indexOf('_') > 0 ? optionFor(command, name) : null;
            if (option == null) {
                out.add(arg);
                continue;
            }
            String ours = option.longestName();
            if (!isFlag(option)) {
                out.add(eq < 0 ? ours : ours + arg.substring(eq));
                continue;
            }
            // HF's booleans take an optional value: --load_best_model_at_end, --load_best_model_at_end True
            String value = eq >= 0 ? arg.substring(eq + 1) : i + 1 < args.length && isBoolean(args[i + 1]) ? args[++i] : "true";
            if (!isBoolean(value)) out.add(ours + "=" + value);  // picocli then says the flag takes no value
            else if (Boolean.parseBoolean(value.toLowerCase(Locale.ROOT))) out.add(ours);
        }
        return out.toArray(new String[0]);
    }

    /** The HF name of an option for training_args.json: TrainingArguments' where HF has one, else ours in snake_case. */
    static String key(CommandSpec command, OptionSpec option) {
        List<String> hf = HF_NAMES.getOrDefault(command.name(), Map.of()).get(option.longestName());
        return hf != null ? hf.get(0) : option.longestName().substring(2).replace('-', '_');
    }

    /** A help footer naming the spellings a command accepts besides its own. */
    static void describeIn(CommandLine root) {
        for (CommandLine sub : root.getSubcommands().values()) {
            CommandSpec spec = sub.getCommandSpec();
            String kebab = spec.options().stream().map(OptionSpec::longestName)
                    .filter(n -> n.startsWith("--") && n.indexOf('-', 2) > 0).findFirst().orElse(null);
            if (kebab == null) continue;
            String mapped = HF_NAMES.getOrDefault(spec.name(), Map.of()).entrySet().stream()
                    .filter(e -> !spec.findOption(e.getKey()).hidden())
                    .flatMap(e -> e.getValue().stream().filter(n -> n.indexOf('_') > 0 && !n.equals(e.getKey().substring(2).replace('-', '_')))
                            .map(n -> "--" + n + " for " + e.getKey()))
                    .sorted().collect(Collectors.joining(", "));
            List<String> footer = new ArrayList<>(Arrays.asList(spec.usageMessage().footer()));
            String cpu = spec.findOption("--use-cpu") == null ? "" : ", --use_cpu or --no_cuda for --device cpu";
            String scripts = spec.findOption("--do-train") == null ? ""
                    : " --do_train and --do_eval are taken (train always trains, and evaluates when it has evaluation data).";
            String others = !HfOnlySettings.takenBy(spec.name()) ? ""
                    : " The other settings of TrainingArguments and the example scripts that pasted command lines pass (--"
                    + String.join(", --", HfOnlySettings.names().subList(0, 3)) + ", ...) are taken with a line saying why they change"
                    + " nothing here, or refused with one saying why.";
            footer.add("%nHugging Face's spellings work too: --" + kebab.substring(2).replace('-', '_') + " for " + kebab + " (every option)"
                    + (mapped.isEmpty() ? "" : ", " + mapped) + cpu + "; flags take an optional True or False." + scripts + others);
            spec.usageMessage().footer(footer.toArray(new String[0]));
        }
    }

    /** The option an HF name ({@code --learning_rate}, {@code --per_device_train_batch_size}) means in a command, or null. */
    static OptionSpec optionFor(CommandLine command, String name) {
        CommandSpec spec = command.getCommandSpec();
        String hf = name.substring(2);
        for (Map.Entry<String, List<String>> e : HF_NAMES.getOrDefault(spec.name(), Map.of()).entrySet()) {
            if (e.getValue().contains(hf)) return spec.findOption(e.getKey());
        }
        return spec.findOption("--" + hf.replace('_', '-'));
    }

    static boolean isFlag(OptionSpec option) {
        return option.typeInfo().isBoolean() && option.arity().max() == 0;
    }

    private static boolean isBoolean(String s) {
        return s.equalsIgnoreCase("true") || s.equalsIgnoreCase("false");
    }
}
