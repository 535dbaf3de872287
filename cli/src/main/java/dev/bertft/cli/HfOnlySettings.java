package dev.bertft.cli;

import dev.bertft.train.TrainingArgs;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParseResult;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.function.BiPredicate;

/**
 * The settings of HF's TrainingArguments and example scripts (run_glue.py, run_classification.py) that bert-ft
 * has no option for, so that a pasted command line runs, and says what each of them does here: a setting that
 * cannot change a bert-ft run (loader workers, torch.compile, distributed training) is accepted with one line
 * saying why; one whose meaning bert-ft does not have (uploading, NEFTune, a half-precision evaluation) is
 * refused with one line saying why, before anything loads. None is ignored in silence. Each is a hidden option
 * of train, eval and predict, so training_args.json records what was given.
 */
final class HfOnlySettings {
    private static final List<String> COMMANDS = List.of("train", "eval", "predict");
    /** Marks the options made here, apart from a command's own of the same name. */
    private static final String MARK = "hf-only-setting";

    /** Whether a value can be honoured, given the command's other options. */
    private interface Accepts extends BiPredicate<String, CommandSpec> {
    }

    /**
     * @param name    HF's name
     * @param type    Boolean (a flag, taking HF's optional True/False), Integer, Double or String
     * @param accepts which values bert-ft can honour; others are refused with {@code refusal}
     * @param refusal why a refused value cannot be honoured, and what to do instead
     * @param notice  why an accepted value changes nothing here, or null when it means what bert-ft does anyway
     */
    private record Setting(String name, Class<?> type, Accepts accepts, String refusal, String notice) {
        String option() {
            return "--" + name.replace('_', '-');
        }

        boolean flag() {
            return type == Boolean.class;
        }
    }

    private static final Accepts ANY = (v, c) -> true;
    private static final Accepts FALSE = (v, c) -> v.equalsIgnoreCase("false");
    private static final Accepts TRUE = (v, c) -> v.equalsIgnoreCase("true");

    private static final String LOADER = "bert-ft tokenizes every example before the first step and collates batches in the"
            + " training thread, with no loader processes";
    private static final String ONE_DEVICE = "bert-ft trains in one process on one device";
    private static final String NO_TORCH = "bert-ft runs no PyTorch; on a GPU its step is captured once and replayed as a CUDA graph";
    private static final String UPLOAD = "bert-ft does not upload; 'huggingface-cli upload REPO_ID OUTPUT_DIR' uploads the folder"
            + " train saves";
    private static final String METRICS = "evaluation computes the problem type's metrics itself, from the logits it keeps in host memory";
    private static final String PREDICT = "bert-ft predict classifies a file of texts (--input), and train one given by --test_file"
            + " with --do_predict";

    private static final List<Setting> SETTINGS = List.of(
            noEffect("dataloader_num_workers", Integer.class, LOADER),
            noEffect("dataloader_pin_memory", Boolean.class, LOADER),
            noEffect("dataloader_persistent_workers", Boolean.class, LOADER),
            noEffect("dataloader_prefetch_factor", Integer.class, LOADER),
            noEffect("preprocessing_num_workers", Integer.class, "bert-ft tokenizes in its own process, before training"),
            noEffect("overwrite_cache", Boolean.class, "bert-ft keeps no cache of tokenized data"),
            noEffect("remove_unused_columns", Boolean.class, "bert-ft reads only the text and label columns"),
            noEffect("remove_columns", String.class, "bert-ft reads only the text and label columns"),
            noEffect("remove_splits", String.class, "bert-ft reads only the training and evaluation data"),
            noEffect("use_fast_tokenizer", Boolean.class, "bert-ft's WordPiece gives the tokens of Hugging Face's tokenizers, fast or not"),
            noEffect("trust_remote_code", Boolean.class, "a BERT model runs no code from the hub"),
            noEffect("torch_compile", Boolean.class, NO_TORCH),
            noEffect("torch_compile_backend", String.class, NO_TORCH),
            noEffect("torch_compile_mode", String.class, NO_TORCH),
            noEffect("jit_mode_eval", Boolean.class, NO_TORCH),
            noEffect("use_ipex", Boolean.class, NO_TORCH),
            noEffect("use_liger_kernel", Boolean.class, "bert-ft runs its own kernels"),
            noEffect("half_precision_backend", String.class, "--fp16 and --bf16 run autocast with torch.amp's dynamic loss scaling"),
            noEffect("full_determinism", Boolean.class, "bert-ft's runs are always deterministic: the same seed, device and thread count"
                    + " give the same bits"),
            noEffect("eval_accumulation_steps", Integer.class, METRICS),
            noEffect("eval_do_concat_batches", Boolean.class, METRICS),
            noEffect("batch_eval_metrics", Boolean.class, METRICS),
            noEffect("include_inputs_for_metrics", Boolean.class, METRICS),
            noEffect("include_for_metrics", String.class, METRICS),
            noEffect("prediction_loss_only", Boolean.class, "evaluation logs the problem type's metrics beside the loss;"
                    + " they take a small part of its time"),
            noEffect("label_names", String.class, "the labels are the label column's"),
            noEffect("length_column_name", String.class, "--group_by_length measures each example's token ids"),
            noEffect("ddp_find_unused_parameters", Boolean.class, ONE_DEVICE),
            noEffect("ddp_backend", String.class, ONE_DEVICE),
            noEffect("ddp_timeout", Integer.class, ONE_DEVICE),
            noEffect("ddp_bucket_cap_mb", Integer.class, ONE_DEVICE),
            noEffect("ddp_broadcast_buffers", Boolean.class, ONE_DEVICE),
            noEffect("save_on_each_node", Boolean.class, ONE_DEVICE),
            noEffect("log_on_each_node", Boolean.class, ONE_DEVICE),
            noEffect("average_tokens_across_devices", Boolean.class, ONE_DEVICE),
            noEffect("log_level", String.class, "bert-ft prints its progress, warnings and errors at one level"),
            noEffect("log_level_replica", String.class, ONE_DEVICE),
            noEffect("logging_nan_inf_filter", Boolean.class, "a NaN or infinite loss stops training (--skip-nonfinite skips its update"
                    + " instead), so none is ever logged"),
            noEffect("skip_memory_metrics", Boolean.class, "bert-ft reports no memory metrics; bert-ft bench reports the step's peak memory"),
            noEffect("torch_empty_cache_steps", Integer.class, "bert-ft's steps reuse their GPU memory; there is no cache to empty"),
            noEffect("run_name", String.class, "it names runs in trackers such as wandb, which bert-ft does not report to; the TensorBoard"
                    + " run is --logging_dir"),
            noEffect("ignore_data_skip", Boolean.class, "--resume continues the epoch where it stopped without replaying its batches,"
                    + " so there is nothing to skip"),
            noEffect("restore_callback_states_from_checkpoint", Boolean.class, "--resume always restores the early-stopping state with the"
                    + " rest of the run"),
            noEffect("pad_to_max_length", Boolean.class, "batches are padded to their longest example; padding to max_seq_length gives"
                    + " the same logits (up to rounding) from more work"),
            noEffect("shuffle_train_dataset", Boolean.class, "--max_train_samples takes a seeded random subset, and each epoch is shuffled"),
            noEffect("shuffle_seed", Integer.class, "--max_train_samples draws its subset with --seed"),
            noEffect("hub_model_id", String.class, "it is read only by --push_to_hub, and " + UPLOAD),
            noEffect("hub_strategy", String.class, "it is read only by --push_to_hub, and " + UPLOAD),
            noEffect("hub_private_repo", Boolean.class, "it is read only by --push_to_hub, and " + UPLOAD),
            noEffect("hub_token", String.class, "it is read only by --push_to_hub, and " + UPLOAD),
            noEffect("hub_always_push", Boolean.class, "it is read only by --push_to_hub, and " + UPLOAD),
            noEffect("hub_revision", String.class, "it is read only by --push_to_hub, and " + UPLOAD),
            noEffect("fp16_opt_level", String.class, "it is apex's; --fp16 runs torch.amp's autocast with dynamic loss scaling"),
            noEffect("tpu_num_cores", Integer.class, ONE_DEVICE),
            noEffect("split_batches", Boolean.class, ONE_DEVICE),
            noEffect("dispatch_batches", Boolean.class, ONE_DEVICE),
            noEffect("accelerator_config", String.class, ONE_DEVICE),
            noEffect("eval_use_gather_object", Boolean.class, ONE_DEVICE),
            noEffect("mp_parameters", String.class, ONE_DEVICE),
            noEffect("torchdynamo", String.class, NO_TORCH),
            noEffect("past_index", Integer.class, "BERT keeps no past hidden states between batches"),
            noEffect("ray_scope", String.class, "it is read only by hyperparameter search, which bert-ft does not run"),
            noEffect("use_legacy_prediction_loop", Boolean.class, "bert-ft has one evaluation loop"),
            noEffect("debug", String.class, "a NaN or infinite loss stops training with the step that made it (--skip-nonfinite skips"
                    + " its update instead)"),
            noEffect("low_cpu_mem_usage", Boolean.class, "bert-ft reads each weight once into its place; there is no second copy"),
            noEffect("use_auth_token", Boolean.class, "the hub token is --token, else HF_TOKEN, else the one 'huggingface-cli login'"
                    + " saved, whenever a download needs it"),
            new Setting("metric_name", String.class, (v, c) -> TrainingArgs.METRICS.contains(v.toLowerCase(Locale.ROOT)), "bert-ft computes the problem type's own metrics: "
                    + String.join(", ", TrainingArgs.METRICS), "evaluation logs all of the problem type's metrics;"
                    + " --metric_for_best_model chooses the one that picks the best checkpoint"),
            refusedUnless("local_rank", Integer.class, (v, c) -> v.equals("-1"), ONE_DEVICE + "; run it without a distributed launcher"),
            refusedUnless("push_to_hub", Boolean.class, FALSE, UPLOAD),
            refusedUnless("save_safetensors", Boolean.class, TRUE, "bert-ft saves models as safetensors only (transformers' default)"),
            refusedUnless("fp16_full_eval", Boolean.class, FALSE, "evaluation runs as training does: under --fp16 or --bf16 autocast, with"
                    + " float32 weights; a model cast wholly to half precision is not supported"),
            refusedUnless("bf16_full_eval", Boolean.class, FALSE, "evaluation runs as training does: under --fp16 or --bf16 autocast, with"
                    + " float32 weights; a model cast wholly to half precision is not supported"),
            refusedUnless("torch_dtype", String.class, (v, c) -> List.of("auto", "float32").contains(v), "bert-ft keeps float32 weights;"
                    + " --bf16 or --fp16 compute in half precision under autocast, and train --save_dtype saves in one"),
            refusedUnless("neftune_noise_alpha", Double.class, (v, c) -> false, "NEFTune's noise on the embeddings is not implemented"),
            refusedUnless("deepspeed", String.class, (v, c) -> false, ONE_DEVICE),
            refusedUnless("fsdp", String.class, (v, c) -> v.isEmpty() || v.equalsIgnoreCase("false"), ONE_DEVICE),
            refusedUnless("fsdp_config", String.class, (v, c) -> false, ONE_DEVICE),
            refusedUnless("use_mps_device", Boolean.class, FALSE, "bert-ft computes on the CPU or an NVIDIA GPU (--device)"),
            refusedUnless("adafactor", Boolean.class, FALSE, "bert-ft's optimizer is torch's AdamW (--optim)"),
            refusedUnless("optim_target_modules", String.class, (v, c) -> false, "bert-ft's optimizer is torch's AdamW over every"
                    + " parameter (--optim); GaLore's target modules have no meaning here"),
            refusedUnless("optim_args", String.class, (v, c) -> false, "bert-ft's AdamW takes --adam_beta1, --adam_beta2 and --adam_epsilon"),
            refusedUnless("config_name", String.class, HfOnlySettings::isModel, "bert-ft reads config.json from the --model_name_or_path"
                    + " folder; --set KEY=VALUE overrides one of its values"),
            refusedUnless("tokenizer_name", String.class, HfOnlySettings::isModel, "bert-ft reads the tokenizer from the --model_name_or_path"
                    + " folder"),
            refusedUnless("dataset_config_name", String.class, (v, c) -> v.equals("plain_text"), "bert-ft reads the imdb dataset's"
                    + " plain_text configuration only"),
            refusedUnless("train_split_name", String.class, (v, c) -> v.equals("train"), "bert-ft trains on the imdb dataset's train split"),
            refusedUnless("validation_split_name", String.class, (v, c) -> v.equals("test"), "bert-ft evaluates on the imdb dataset's test"
                    + " split; --validation_split holds out part of the training data instead"),
            refusedUnless("test_file", String.class, (v, c) -> false, PREDICT),
            refusedUnless("max_predict_samples", String.class, (v, c) -> false, PREDICT),
            refusedUnless("test_split_name", String.class, (v, c) -> false, PREDICT));

    private HfOnlySettings() {
    }

    private static Setting noEffect(String name, Class<?> type, String why) {
        return new Setting(name, type, ANY, null, why);
    }

    private static Setting refusedUnless(String name, Class<?> type, Accepts accepts, String why) {
        return new Setting(name, type, accepts, why, null);
    }

    /** Adds each setting as a hidden option to train, eval and predict, where they have no option of that name. */
    static void addTo(CommandLine root) {
        for (String name : COMMANDS) {
            CommandSpec spec = root.getSubcommands().get(name).getCommandSpec();
            for (Setting s : SETTINGS) {
                if (spec.findOption(s.option()) != null) continue;
                OptionSpec.Builder o = OptionSpec.builder(s.option()).hidden(true).descriptionKey(MARK);
                spec.addOption(s.flag() ? o.type(Boolean.class).arity("0..1").fallbackValue("true").build()
                        : o.type(s.type()).arity("1").build());
            }
        }
    }

    /**
     * Refuses the first setting given with a value bert-ft cannot honour, naming it and saying why; then writes one
     * line to {@code out} for each setting given that changes nothing here.
     */
    static void check(ParseResult parsed, PrintStream out) {
        ParseResult command = parsed;
        while (command.subcommand() != null) command = command.subcommand();
        CommandSpec spec = command.commandSpec();
        if (!COMMANDS.contains(spec.name())) return;
        for (Setting s : SETTINGS) {
            OptionSpec option = spec.findOption(s.option());
            if (option == null || !MARK.equals(option.descriptionKey()) || !command.hasMatchedOption(option)) continue;
            OptionSpec matched = command.matchedOption(option.longestName());
            String value = s.flag() || matched.originalStringValues().isEmpty() ? String.valueOf((Object) matched.getValue())
                    : matched.originalStringValues().get(matched.originalStringValues().size() - 1);   // as typed; the last one wins
            String given = "--" + s.name() + (s.flag() && value.equals("true") ? "" : " " + value);
            if (!s.accepts().test(value, spec)) {
                throw new CommandLine.ParameterException(spec.commandLine(), given + ": " + s.refusal());
            }
            if (s.notice() != null) out.println("bert-ft " + spec.name() + ": " + given + " changes nothing here: " + s.notice());
        }
    }

    /** Whether the command takes these settings. */
    static boolean takenBy(String command) {
        return COMMANDS.contains(command);
    }

    /** HF's names of the settings this class takes, for the help footer. */
    static List<String> names() {
        return SETTINGS.stream().map(Setting::name).toList();
    }

    private static boolean isModel(String value, CommandSpec command) {
        OptionSpec model = command.findOption("--model");
        return model != null && value.equals(model.getValue());
    }

}
