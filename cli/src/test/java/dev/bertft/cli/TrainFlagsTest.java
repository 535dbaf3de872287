package dev.bertft.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bert-ft train}'s flags against Hugging Face's Trainer on the tiny model: which warmup an
 * explicit flag gives, training_args.json and the warnings of a changed resume, the default
 * logging folder.
 */
class TrainFlagsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    /** A few updates of batch 8 on 160 reviews (20 updates an epoch), a checkpoint every 2; no --logging-dir. */
    private String[] train(Path out, String... extra) throws IOException {
        Path data = tmp.resolve("train.csv");
        if (!Files.exists(data)) TrainCommandTest.reviews(data, 160, 1);
        List<String> a = new ArrayList<>(List.of("train", "--device", "cpu", "--threads", "2", "--model", PredictCommandTest.TINY.toString(),
                "--data", data.toString(), "--output-dir", out.toString(), "--batch-size", "8", "--max-length", "32",
                "--save-steps", "2", "--logging-steps", "2"));
        a.addAll(List.of(extra));
        return a.toArray(new String[0]);
    }

    private static JsonNode json(Path file) throws IOException {
        return JSON.readTree(file.toFile());
    }

    @Test
    void warmupRatioAloneReplacesTheRecipesSteps() throws IOException {
        Path out = tmp.resolve("ratio");
        PredictCommandTest.Run r = PredictCommandTest.run(train(out, "--max-steps", "10", "--save-steps", "10", "--warmup-ratio", "0.25"));
        assertEquals(0, r.exit(), r.err());
        // HF: ceil(warmup_ratio * max_steps) = ceil(2.5); the recipe's 500 would never reach the peak rate
        assertEquals(3, json(out.resolve("checkpoint-10/scheduler.json")).get("warmup_steps").asLong());
        assertFalse(r.err().contains("overrides"), r.err());
    }

    @Test
    void scheduleKindAndLabelSmoothingWrittenAsHuggingFaceUsersWriteThem() throws IOException {
        Path out = tmp.resolve("cosine");
        PredictCommandTest.Run r = PredictCommandTest.run(train(out, "--max_steps", "10", "--save_steps", "10", "--warmup_ratio", "0.2",
                "--lr_scheduler_type", "cosine", "--lr_scheduler_kwargs", "{\"num_cycles\": 1}", "--label_smoothing_factor", "0.1"));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("learning rate: cosine from 5.00e-05, 2 warmup updates, 10 updates in all, {num_cycles=1.0}"), r.err());
        JsonNode ckpt = json(out.resolve("checkpoint-10/scheduler.json"));
        assertEquals("cosine", ckpt.get("type").asText());
        // one whole cosine wave after 2 warmup updates, ½(1 + cos 2π(s − 2)/8), logged after updates 2, 4, ..., 10
        List<Double> logged = new ArrayList<>();
        for (JsonNode e : json(out.resolve("checkpoint-10/trainer_state.json")).get("log_history")) {
            if (e.has("learning_rate")) logged.add(e.get("learning_rate").asDouble() / 5e-5);
        }
        double[] want = {1, 0.5, 0, 0.5, 1};
        assertEquals(want.length, logged.size(), logged.toString());
        for (int i = 0; i < want.length; i++) assertEquals(want[i], logged.get(i), 1e-9, "after update " + 2 * (i + 1) + ": " + logged);
        JsonNode args = json(out.resolve("training_args.json"));
        assertEquals("cosine", args.get("lr_scheduler_type").asText());
        assertEquals(0.1, args.get("label_smoothing_factor").asDouble());
    }

    @Test
    void scheduleOptionsTheKindDoesNotTakeStopTheRunBeforeItStarts() throws IOException {
        Path out = tmp.resolve("bad-kwargs");
        PredictCommandTest.Run r = PredictCommandTest.run(train(out, "--max-steps", "4", "--lr-scheduler-type", "cosine",
                "--lr-scheduler-kwargs", "{\"power\": 2}"));
        assertEquals(CliErrors.FAILURE, r.exit(), r.err());
        assertEquals("bert-ft train: error: --lr-scheduler-kwargs cosine takes num_cycles, not power", r.err().strip());
        assertFalse(Files.exists(out.resolve("checkpoint-2")), "no update ran");
        r = PredictCommandTest.run(train(out, "--max-steps", "4", "--lr-scheduler-kwargs", "num_cycles=2"));
        assertEquals(CliErrors.FAILURE, r.exit(), r.err());
        assertTrue(r.err().strip().startsWith("bert-ft train: error: --lr-scheduler-kwargs must be a JSON object of numbers"), r.err());
        r = PredictCommandTest.run(train(out, "--max-steps", "4", "--lr-scheduler-type", "exponential"));
        assertEquals(CliErrors.FAILURE, r.exit(), r.err());
        assertTrue(r.err().contains("linear, cosine, cosine_with_restarts, polynomial, constant, constant_with_warmup, inverse_sqrt, "
                + "cosine_with_min_lr, cosine_warmup_with_min_lr, warmup_stable_decay or reduce_lr_on_plateau, got 'exponential'"),
                r.err());
        r = PredictCommandTest.run(train(out, "--max_steps", "4", "--lr_scheduler_type", "reduce_lr_on_plateau"));
        assertEquals(CliErrors.FAILURE, r.exit(), r.err());
        assertEquals("bert-ft train: error: --lr-scheduler-type reduce_lr_on_plateau needs an --eval-strategy: it moves the rate after "
                + "each evaluation", r.err().strip());
    }

    @Test
    void warmupStableDecayAndTheTrainerFlagsOfHfScripts() throws IOException {
        Path out = tmp.resolve("wsd");
        PredictCommandTest.Run r = PredictCommandTest.run(train(out, "--max_steps", "10", "--save_steps", "10", "--warmup_steps", "2",
                "--lr_scheduler_type", "warmup_stable_decay", "--lr_scheduler_kwargs",
                "{\"num_decay_steps\": 4, \"decay_type\": \"linear\", \"min_lr_ratio\": 0.1}", "--logging_first_step",
                "--optim", "adamw_torch_fused", "--greater_is_better", "False"));
        assertEquals(0, r.exit(), r.err());
        // warmup from 0.1 over 2 updates, stable at 1 for 10 − 2 − 4 = 4, then linear to 0.1 over 4: logged after update 1
        // (the first step) and 2, 4, ..., 10: 0.1 + 0.9·½, 1, 1, 1 (d = 0), 0.1 + 0.9·½ (d = ½), 0.1 (the end)
        List<Double> logged = new ArrayList<>();
        for (JsonNode e : json(out.resolve("checkpoint-10/trainer_state.json")).get("log_history")) {
            if (e.has("learning_rate")) logged.add(e.get("learning_rate").asDouble() / 5e-5);
        }
        double[] want = {0.55, 1, 1, 1, 0.55, 0.1};
        assertEquals(want.length, logged.size(), logged.toString());
        for (int i = 0; i < want.length; i++) assertEquals(want[i], logged.get(i), 1e-9, logged.toString());
        JsonNode args = json(out.resolve("training_args.json"));
        assertEquals("warmup_stable_decay", args.get("lr_scheduler_type").asText());
        JsonNode kwargs = args.get("lr_scheduler_kwargs");
        assertTrue(kwargs.isObject() && kwargs.get("num_decay_steps").isInt(), "HF's dict, as given: " + kwargs);
        assertEquals("linear", kwargs.get("decay_type").asText());
        assertEquals("adamw_torch_fused", args.get("optim").asText());
        assertFalse(args.get("greater_is_better").asBoolean(true), args.toString());
        assertTrue(args.get("logging_first_step").asBoolean(), args.toString());
    }

    /** A run_classification.py command line (its data arguments and the Trainer's), pasted as it is. */
    @Test
    void anHfExampleScriptsCommandLineRunsAsItIs() throws IOException {
        Path out = tmp.resolve("pasted");
        Path trainFile = TrainCommandTest.reviews(tmp.resolve("train.csv"), 160, 1);
        Path evalFile = TrainCommandTest.reviews(tmp.resolve("eval.csv"), 40, 2);
        List<String> pasted = List.of("train", "--model_name_or_path", PredictCommandTest.TINY.toString(),
                "--train_file", trainFile.toString(),
                "--validation_file", evalFile.toString(), "--text_column_names", "text", "--label_column_name", "label",
                "--max_seq_length", "32", "--do_train", "--do_eval", "--use_cpu", "--per_device_train_batch_size", "8",
                "--max_steps", "2", "--save_strategy", "no", "--output_dir", out.toString(),
                "--do_predict", "--test_file", evalFile.toString(), "--max_predict_samples", "5");
        PredictCommandTest.Run r = PredictCommandTest.run(pasted.toArray(new String[0]));
        assertEquals(0, r.exit(), r.err());
        assertFalse(r.err().contains("bert-ft: device"), "--use_cpu is --device cpu, which needs no line: " + r.err());
        assertEquals(40, json(out.resolve("all_results.json")).get("eval_samples").asInt(), "evaluated on the validation file");
        JsonNode args = json(out.resolve("training_args.json"));
        assertEquals(32, args.get("max_length").asInt());
        assertTrue(args.get("do_eval").asBoolean() && args.get("do_train").asBoolean() && args.get("use_cpu").asBoolean(), args.toString());
        assertEquals(trainFile.toString(), args.get("data").asText());

        // --do_predict: the test file's first 5 texts, as the saved model classifies them (bert-ft predict, a reference
        // run on the same texts), in run_classification.py's predict_results.txt
        List<String> texts = Files.readAllLines(evalFile).subList(1, 6).stream()
                .map(l -> l.substring(1, l.lastIndexOf('"'))).toList();
        Path input = Files.write(tmp.resolve("texts.txt"), texts);
        PredictCommandTest.Run predicted = PredictCommandTest.run("predict", "--device", "cpu", "--model", out.toString(),
                "--input", input.toString(), "--max-length", "32");
        assertEquals(0, predicted.exit(), predicted.err());
        List<String> expected = new ArrayList<>(List.of("index\tprediction"));
        List<String> lines = predicted.out().lines().toList();
        for (int i = 0; i < lines.size(); i++) expected.add(i + "\t" + JSON.readTree(lines.get(i)).get("label").asText());
        assertEquals(expected, Files.readAllLines(out.resolve("predict_results.txt")));
        assertTrue(r.err().contains("wrote the predictions for 5 texts of " + evalFile), r.err());

        for (String[] refused : new String[][] {
                {"--do_train", "False", "--do-train false: train always trains; bert-ft eval evaluates a model without training it"},
                {"--do_predict", "--do-predict needs --test-file, the texts to classify after training"},
                {"--do_predict", "--test_file", "missing.csv", "missing.csv: no such file or folder"},
                {"--do_eval", "--do-eval needs evaluation data"},
                {"--use_cpu", "--device=cuda", "--use-cpu and --device cuda: give one"}}) {
            List<String> a = new ArrayList<>(List.of(train(tmp.resolve("refused"), "--max-steps", "2")));
            a.addAll(List.of(refused).subList(0, refused.length - 1));
            r = PredictCommandTest.run(a.toArray(new String[0]));
            assertEquals(CliErrors.FAILURE, r.exit(), r.err());
            assertTrue(r.err().strip().endsWith("bert-ft train: error: " + refused[refused.length - 1]), r.err());
            assertFalse(Files.exists(tmp.resolve("refused/training_args.json")), "refused before training: " + r.err());
        }
    }

    /**
     * The settings a run_classification.py or Trainer command line passes that bert-ft has no option for: each
     * accepted one says in a line why it changes nothing and is recorded; each refused one stops the run before
     * anything loads, saying why.
     */
    @Test
    void everyOtherHfSettingIsTakenWithAReasonOrRefusedWithOne() throws IOException {
        Path out = tmp.resolve("others");
        List<String> noEffect = List.of("--dataloader_num_workers", "4", "--dataloader_pin_memory", "False", "--preprocessing_num_workers",
                "4", "--overwrite_cache", "--remove_unused_columns", "False", "--use_fast_tokenizer", "--torch_compile", "True",
                "--full_determinism", "--ddp_find_unused_parameters", "False", "--log_level", "info", "--logging_nan_inf_filter", "False",
                "--run_name", "imdb-bert", "--pad_to_max_length", "--shuffle_train_dataset", "--metric_name", "accuracy",
                "--eval_accumulation_steps", "8", "--ignore_data_skip", "--hub_model_id", "me/imdb", "--fp16_opt_level", "O1",
                "--use_auth_token", "--past_index", "-1");
        List<String> a = new ArrayList<>(List.of(train(out, "--max-steps", "2", "--save-strategy", "no")));
        a.addAll(noEffect);
        PredictCommandTest.Run r = PredictCommandTest.run(a.toArray(new String[0]));
        assertEquals(0, r.exit(), r.err());
        List<String> said = r.err().lines().filter(l -> l.startsWith("bert-ft train: --") && l.contains(" changes nothing here: ")).toList();
        assertEquals(noEffect.stream().filter(x -> x.startsWith("--")).count(), said.size(), r.err());
        assertTrue(said.contains("bert-ft train: --dataloader_num_workers 4 changes nothing here: bert-ft tokenizes every example before"
                + " the first step and collates batches in the training thread, with no loader processes"), r.err());
        assertTrue(said.stream().anyMatch(l -> l.startsWith("bert-ft train: --dataloader_pin_memory false changes nothing")), r.err());
        JsonNode args = json(out.resolve("training_args.json"));
        assertTrue(args.get("dataloader_num_workers").isInt() && args.get("dataloader_num_workers").asInt() == 4, "HF's int: " + args);
        assertTrue(args.get("torch_compile").asBoolean() && !args.get("dataloader_pin_memory").asBoolean(true), args.toString());
        assertEquals("imdb-bert", args.get("run_name").asText());
        assertFalse(args.has("push_to_hub") || args.has("test_file"), "settings not given are not recorded: " + args);

        for (String[] refused : new String[][] {
                {"--push_to_hub", "--push_to_hub: bert-ft does not upload; 'huggingface-cli upload REPO_ID OUTPUT_DIR' uploads the folder"
                        + " train saves"},
                {"--save_safetensors", "False", "--save_safetensors false: bert-ft saves models as safetensors only (transformers' default)"},
                {"--fp16_full_eval", "--fp16_full_eval: evaluation runs as training does"},
                {"--neftune_noise_alpha", "5", "--neftune_noise_alpha 5: NEFTune's noise on the embeddings is not implemented"},
                {"--local_rank", "0", "--local_rank 0: bert-ft trains in one process on one device"},
                {"--optim_target_modules", "attn", "--optim_target_modules attn: bert-ft's optimizer is torch's AdamW"},
                {"--metric_name", "glue", "--metric_name glue: bert-ft computes the problem type's own metrics: loss, accuracy"},
                {"--dataset_name", "glue", "--dataset-name glue: bert-ft reads the imdb dataset by name"}}) {
            Path refusedOut = tmp.resolve("refused");
            List<String> b = new ArrayList<>(List.of(train(refusedOut, "--max-steps", "2")));
            b.addAll(List.of(refused).subList(0, refused.length - 1));
            r = PredictCommandTest.run(b.toArray(new String[0]));
            assertTrue(r.exit() != 0, r.err());
            String expected = refused[refused.length - 1];
            assertTrue(r.err().lines().anyMatch(l -> l.startsWith("bert-ft train: " + expected)
                    || l.startsWith("bert-ft train: error: " + expected)), r.err());
            assertFalse(Files.exists(refusedOut.resolve("training_args.json")), "refused before anything was written");
        }
        // the same setting's accepted values pass
        r = PredictCommandTest.run(train(tmp.resolve("accepted"), "--max-steps", "2", "--save-strategy", "no", "--push_to_hub", "False",
                "--save_safetensors", "--local_rank", "-1", "--torch_dtype", "auto"));
        assertEquals(0, r.exit(), r.err());
    }

    /**
     * run_glue.py's --tokenizer_name: a model folder saved without a tokenizer trains with another folder's, and the
     * saved model carries that tokenizer, so predict reads it as it reads any model folder.
     */
    @Test
    void tokenizerNameSuppliesTheTokenizerOfAModelFolderWithoutOne() throws IOException {
        Path weightsOnly = Files.createDirectories(tmp.resolve("weights-only"));
        for (String f : List.of("config.json", "model.safetensors")) Files.copy(PredictCommandTest.TINY.resolve(f), weightsOnly.resolve(f));
        String[] common = {"--max-steps", "2", "--save-strategy", "no"};

        PredictCommandTest.Run r = PredictCommandTest.run(replaceModel(train(tmp.resolve("without"), common), weightsOnly));
        assertTrue(r.exit() != 0 && r.err().contains("lacks vocab.txt (or tokenizer.json)"), r.err());

        Path out = tmp.resolve("with");
        List<String> a = new ArrayList<>(List.of(replaceModel(train(out, common), weightsOnly)));
        a.addAll(List.of("--tokenizer_name", PredictCommandTest.TINY.toString()));
        r = PredictCommandTest.run(a.toArray(new String[0]));
        assertEquals(0, r.exit(), r.err());
        assertArrayEquals(Files.readAllBytes(PredictCommandTest.TINY.resolve("vocab.txt")), Files.readAllBytes(out.resolve("vocab.txt")));
        assertEquals(PredictCommandTest.TINY.toString(), json(out.resolve("training_args.json")).get("tokenizer_name").asText());
        Path texts = Files.writeString(tmp.resolve("texts.txt"), "a great movie\n");
        r = PredictCommandTest.run("predict", "--model", out.toString(), "--input", texts.toString());
        assertEquals(0, r.exit(), r.err());

        // prepare and eval take it too: the same token ids as from the folder that has the tokenizer
        Path data = tmp.resolve("train.csv");
        for (Path model : List.of(PredictCommandTest.TINY, weightsOnly)) {
            List<String> p = new ArrayList<>(List.of("prepare", "--model", model.toString(), "--data", data.toString(), "--output",
                    tmp.resolve("prepared-" + model.getFileName()).toString(), "--max-length", "32", "--validation-split", "0.25"));
            if (model == weightsOnly) p.addAll(List.of("--tokenizer_name", PredictCommandTest.TINY.toString()));
            r = PredictCommandTest.run(p.toArray(new String[0]));
            assertEquals(0, r.exit(), r.err());
        }
        assertEquals(Files.readString(tmp.resolve("prepared-" + PredictCommandTest.TINY.getFileName()).resolve("train.jsonl")),
                Files.readString(tmp.resolve("prepared-weights-only").resolve("train.jsonl")));
        r = PredictCommandTest.run("eval", "--model", weightsOnly.toString(), "--tokenizer_name", PredictCommandTest.TINY.toString(), "--data",
                data.toString(), "--validation-split", "0.25", "--max-length", "32");
        assertEquals(0, r.exit(), r.err());
    }

    /**
     * run_glue.py's --ignore_mismatched_sizes: the tiny model's classifier has three labels, this data two. Without the
     * flag that is an error before training saying how to go on; with it the classifier starts afresh and the run
     * trains and saves a two-label model.
     */
    @Test
    void ignoreMismatchedSizesRetrainsAClassifierOfAnotherLabelCount() throws IOException {
        List<String> rows = new ArrayList<>(List.of("text,label"));
        for (int i = 0; i < 16; i++) rows.add(i % 2 == 0 ? "\"a great film\",yes" : "\"a dull film\",no");
        Path twoLabels = Files.write(tmp.resolve("two-labels.csv"), rows);
        String[] common = train(tmp.resolve("unused"), "--max-steps", "2", "--save-strategy", "no");
        common[List.of(common).indexOf("--data") + 1] = twoLabels.toString();

        String[] refused = common.clone();
        refused[List.of(refused).indexOf("--output-dir") + 1] = tmp.resolve("refused").toString();
        PredictCommandTest.Run r = PredictCommandTest.run(refused);
        assertTrue(r.exit() != 0 && r.err().contains("classifier.weight has shape [3, 32] but the model's classifier.weight needs [2, 32]")
                && r.err().contains("ignore_mismatched_sizes"), r.err());

        Path out = tmp.resolve("retrained");
        List<String> a = new ArrayList<>(List.of(common));
        a.set(a.indexOf("--output-dir") + 1, out.toString());
        a.add("--ignore_mismatched_sizes");
        r = PredictCommandTest.run(a.toArray(new String[0]));
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("initialised afresh, the checkpoint's shape not fitting (ignore_mismatched_sizes): "
                + "classifier.weight: [3, 32] in the checkpoint, [2, 32] in the model"), r.err());
        assertEquals(2, json(out.resolve("config.json")).get("id2label").size());
        assertTrue(json(out.resolve("training_args.json")).get("ignore_mismatched_sizes").asBoolean());
    }

    /** The arguments with --model's value replaced. */
    private static String[] replaceModel(String[] args, Path model) {
        String[] out = args.clone();
        out[List.of(out).indexOf("--model") + 1] = model.toString();
        return out;
    }

    /**
     * data_seed orders the training data alone: the default is the seed; another value changes the order (and so
     * the weights), nothing else. include_num_input_tokens_seen counts input_ids as HF does: with every review
     * longer than --max_seq_length 6, each batch of 8 is 48 tokens.
     */
    @Test
    void dataSeedAndTheInputTokensSeen() throws IOException {
        String[] common = {"--max-steps", "4", "--save-strategy", "no", "--max_seq_length", "6", "--logging_steps", "1"};
        Path plain = tmp.resolve("plain"), same = tmp.resolve("same"), other = tmp.resolve("other");
        assertEquals(0, PredictCommandTest.run(train(plain, common)).exit());
        List<String> a = new ArrayList<>(List.of(train(same, common)));
        a.addAll(List.of("--data_seed", "42", "--include_num_input_tokens_seen", "--include_tokens_per_second", "--disable_tqdm"));
        PredictCommandTest.Run r = PredictCommandTest.run(a.toArray(new String[0]));
        assertEquals(0, r.exit(), r.err());
        a = new ArrayList<>(List.of(train(other, common)));
        a.addAll(List.of("--data_seed", "7"));
        assertEquals(0, PredictCommandTest.run(a.toArray(new String[0])).exit());
        byte[] plainWeights = Files.readAllBytes(plain.resolve("model.safetensors"));
        assertArrayEquals(plainWeights, Files.readAllBytes(same.resolve("model.safetensors")), "data_seed defaults to the seed");
        assertFalse(java.util.Arrays.equals(plainWeights, Files.readAllBytes(other.resolve("model.safetensors"))),
                "another data seed, another order");

        List<Long> seen = new ArrayList<>();
        for (JsonNode e : json(same.resolve("trainer_state.json")).get("log_history")) seen.add(e.get("num_input_tokens_seen").asLong());
        assertEquals(List.of(48L, 96L, 144L, 192L, 192L), seen, "four training logs and the final metrics");
        assertTrue(r.err().lines().anyMatch(l -> l.startsWith("loss ") && l.contains("num_input_tokens_seen 96  epoch")),
                "--disable_tqdm: plain log lines, the count in them: " + r.err());
        assertEquals(192, json(same.resolve("trainer_state.json")).get("num_input_tokens_seen").asLong());
        JsonNode results = json(same.resolve("all_results.json"));
        assertEquals(192 / results.get("train_runtime").asDouble(), results.get("train_tokens_per_second").asDouble(), 1e-6 * 192
                / results.get("train_runtime").asDouble() + 1e-3);
        assertFalse(json(plain.resolve("trainer_state.json")).get("log_history").get(0).has("num_input_tokens_seen"), "off by default");
    }

    /**
     * run_classification.py joins its text_column_names into one text with text_column_delimiter (a space by
     * default); our --text-column reads two columns as a sentence pair. The joined columns tokenize exactly as
     * one column holding "title text".
     */
    @Test
    void textColumnNamesAreJoinedAsRunClassificationJoinsThem() throws IOException {
        Path twoColumns = tmp.resolve("two.csv"), oneColumn = tmp.resolve("one.csv");
        Files.write(twoColumns, List.of("title,text,label", "Great film,\"Loved it, truly.\",pos", "Dull,Never again,neg"));
        Files.write(oneColumn, List.of("text,label", "\"Great film Loved it, truly.\",pos", "Dull Never again,neg"));
        Path joined = tmp.resolve("joined"), reference = tmp.resolve("reference"), pair = tmp.resolve("pair");
        String model = PredictCommandTest.TINY.toString();
        assertEquals(0, PredictCommandTest.run("prepare", "--model", model, "--train_file", twoColumns.toString(),
                "--text_column_names", "title,text", "--output", joined.toString()).exit());
        assertEquals(0, PredictCommandTest.run("prepare", "--model", model, "--data", oneColumn.toString(),
                "--output", reference.toString()).exit());
        assertEquals(0, PredictCommandTest.run("prepare", "--model", model, "--data", twoColumns.toString(),
                "--text-column", "title,text", "--output", pair.toString()).exit());
        assertEquals(Files.readString(reference.resolve("train.jsonl")), Files.readString(joined.resolve("train.jsonl")));
        assertTrue(Files.readString(pair.resolve("train.jsonl")).contains(",1,1"), "--text-column's two columns are a pair");

        Path spaced = tmp.resolve("spaced");
        assertEquals(0, PredictCommandTest.run("prepare", "--model", model, "--data", twoColumns.toString(),
                "--text-column", "title,text", "--text_column_delimiter", " ", "--output", spaced.toString()).exit());
        assertEquals(Files.readString(reference.resolve("train.jsonl")), Files.readString(spaced.resolve("train.jsonl")),
                "a delimiter joins --text-column's columns too");
    }

    /**
     * A lone .json argument holds the settings, as HF's scripts read it (HfArgumentParser.parse_json_file): booleans,
     * lists, dicts and nulls as HfArgumentParser gives them. The run equals the one typed on the command line, and
     * the training_args.json a run writes, given back with another output folder, trains the same model again.
     */
    @Test
    void aJsonFileOfSettingsRunsAsTheSameCommandLine() throws IOException {
        Path typed = tmp.resolve("typed");
        String[] common = {"--max_steps", "4", "--save_strategy", "no", "--learning_rate", "3e-4", "--seed", "5"};
        List<String> a = new ArrayList<>(List.of(train(typed, common)));
        a.addAll(List.of("--lr_scheduler_type", "cosine", "--lr_scheduler_kwargs", "{\"num_cycles\": 1}", "--logging_first_step",
                "--report_to", "none", "--dataloader_num_workers", "2"));
        PredictCommandTest.Run r = PredictCommandTest.run(a.toArray(new String[0]));
        assertEquals(0, r.exit(), r.err());

        Path fromFile = tmp.resolve("from-file");
        ObjectNode settings = JSON.createObjectNode().put("model_name_or_path", PredictCommandTest.TINY.toString())
                .put("train_file", tmp.resolve("train.csv").toString()).put("output_dir", fromFile.toString()).put("use_cpu", true)
                .put("threads", 2).put("per_device_train_batch_size", 8).put("max_seq_length", 32).put("save_steps", 2)
                .put("logging_steps", 2).put("max_steps", 4).put("save_strategy", "no").put("learning_rate", 3e-4).put("seed", 5)
                .put("lr_scheduler_type", "cosine").put("logging_first_step", true).put("overwrite_output_dir", false)
                .put("dataloader_num_workers", 2).putNull("resume_from_checkpoint");
        settings.putObject("lr_scheduler_kwargs").put("num_cycles", 1);
        settings.putArray("report_to").add("none");
        Path file = Files.writeString(tmp.resolve("args.json"), settings.toString());
        r = PredictCommandTest.run("train", file.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("--dataloader_num_workers 2 changes nothing here"), r.err());
        assertArrayEquals(Files.readAllBytes(typed.resolve("model.safetensors")), Files.readAllBytes(fromFile.resolve("model.safetensors")));

        ObjectNode recorded = (ObjectNode) json(fromFile.resolve("training_args.json"));
        Path again = tmp.resolve("again");
        recorded.put("output_dir", again.toString()).put("logging_dir", again.resolve("logs").toString());
        r = PredictCommandTest.run("train", Files.writeString(tmp.resolve("recorded.json"), recorded.toString()).toString());
        assertEquals(0, r.exit(), r.err());
        assertArrayEquals(Files.readAllBytes(typed.resolve("model.safetensors")), Files.readAllBytes(again.resolve("model.safetensors")),
                "training_args.json given back trains the same model");

        Path notAnObject = Files.writeString(tmp.resolve("list.json"), "[1, 2]");
        r = PredictCommandTest.run("train", notAnObject.toString());
        assertEquals(CliErrors.USAGE, r.exit());
        assertTrue(r.err().startsWith("bert-ft train: " + notAnObject + ": expected a JSON object of settings"), r.err());
    }

    @Test
    void gradientCheckpointingTrainsTheSameModel() throws IOException {
        Path kept = tmp.resolve("kept"), recomputed = tmp.resolve("recomputed");
        PredictCommandTest.Run r = PredictCommandTest.run(train(kept, "--max-steps", "4", "--save-strategy", "no"));
        assertEquals(0, r.exit(), r.err());
        r = PredictCommandTest.run(train(recomputed, "--max-steps", "4", "--save-strategy", "no", "--gradient_checkpointing",
                "--gradient_checkpointing_kwargs", "{\"use_reentrant\": false}"));
        assertEquals(0, r.exit(), r.err());
        JsonNode args = json(recomputed.resolve("training_args.json"));
        assertTrue(args.get("gradient_checkpointing").asBoolean());
        assertFalse(args.get("gradient_checkpointing_kwargs").get("use_reentrant").asBoolean(true), "HF's dict: " + args);
        assertArrayEquals(Files.readAllBytes(kept.resolve("model.safetensors")),
                Files.readAllBytes(recomputed.resolve("model.safetensors")),
                "four updates with dropout, each layer recomputed in the backward pass, end with the same weights");
    }

    @Test
    void whatOnlyTheRunsLengthRulesOutStillStopsItBeforeTheFirstUpdate() throws IOException {
        Path out = tmp.resolve("wsd-long");
        PredictCommandTest.Run r = PredictCommandTest.run(train(out, "--max-steps", "10", "--warmup-steps", "2",
                "--lr-scheduler-type", "warmup_stable_decay", "--lr-scheduler-kwargs", "{\"num_decay_steps\": 20}"));
        assertEquals(CliErrors.FAILURE, r.exit(), r.err());
        assertTrue(r.err().strip().endsWith("bert-ft train: error: --lr-scheduler-kwargs num_decay_steps (20) and the 2 warmup updates "
                + "are more than the run's 10 updates"), r.err());
        assertFalse(Files.exists(out.resolve("checkpoint-2")), "no update ran");
        r = PredictCommandTest.run(train(tmp.resolve("no-eval"), "--max-steps", "2", "--eval_on_start"));
        assertEquals(CliErrors.FAILURE, r.exit(), r.err());
        assertTrue(r.err().strip().endsWith("bert-ft train: error: --eval-on-start needs evaluation data"), r.err());
        r = PredictCommandTest.run(train(tmp.resolve("sgd"), "--max-steps", "2", "--optim", "sgd"));
        assertEquals(CliErrors.FAILURE, r.exit(), r.err());
        assertTrue(r.err().contains("--optim must be adamw_torch or adamw_torch_fused: the AdamW bert-ft runs, got sgd"), r.err());
    }

    @Test
    void warmupStepsAboveZeroOverrideARatioAndSaySo() throws IOException {
        Path out = tmp.resolve("both");
        PredictCommandTest.Run r = PredictCommandTest.run(train(out, "--max-steps", "2", "--warmup-steps", "5", "--warmup-ratio", "0.5"));
        assertEquals(0, r.exit(), r.err());
        assertEquals(5, json(out.resolve("checkpoint-2/scheduler.json")).get("warmup_steps").asLong());
        assertTrue(r.err().contains("--warmup-steps 5 overrides --warmup-ratio 0.5"), r.err());

        Path zero = tmp.resolve("zero");
        r = PredictCommandTest.run(train(zero, "--max-steps", "2", "--warmup-steps", "0", "--warmup-ratio", "0.5"));
        assertEquals(0, r.exit(), r.err());
        assertEquals(1, json(zero.resolve("checkpoint-2/scheduler.json")).get("warmup_steps").asLong());
    }

    @Test
    void trainingArgsAreSavedAndAChangedResumeWarnsPerOption() throws IOException {
        Path out = tmp.resolve("first");
        PredictCommandTest.Run r = PredictCommandTest.run(train(out, "--max-steps", "4", "--learning_rate", "3e-4", "--seed", "5"));
        assertEquals(0, r.exit(), r.err());
        for (Path file : List.of(out.resolve("training_args.json"), out.resolve("checkpoint-2/training_args.json"))) {
            JsonNode a = json(file);
            assertEquals(3e-4, a.get("learning_rate").asDouble(), file.toString());
            assertEquals(8, a.get("per_device_train_batch_size").asInt());
            assertEquals(4, a.get("max_steps").asInt());
            assertEquals(5, a.get("seed").asInt());
            assertEquals(500, a.get("warmup_steps").asInt(), "the warmup used");
            assertEquals(1, a.get("gradient_accumulation_steps").asInt());
            assertEquals(tmp.resolve("train.csv").toString(), a.get("data").asText());
            assertEquals(out.toString(), a.get("output_dir").asText());
            assertTrue(a.has("eval_strategy") && a.has("weight_decay") && a.has("adam_beta2") && a.has("max_length"), a.toString());
        }

        // the same arguments resume silently; changed ones are named one line each
        Path same = tmp.resolve("same");
        r = PredictCommandTest.run(train(same, "--max-steps", "4", "--learning_rate", "3e-4", "--seed", "5", "--resume",
                out.resolve("checkpoint-2").toString()));
        assertEquals(0, r.exit(), r.err());
        assertFalse(r.err().contains("warning"), r.err());

        Path changed = tmp.resolve("changed");
        r = PredictCommandTest.run(train(changed, "--max-steps", "4", "--learning-rate", "1e-4", "--seed", "5", "--batch-size", "4",
                "--grad-accum-steps", "2", "--resume", out.resolve("checkpoint-2").toString()));
        assertEquals(0, r.exit(), r.err());
        List<String> warnings = r.err().lines().filter(l -> l.startsWith("warning: ")).toList();
        assertEquals(3, warnings.size(), r.err());
        assertTrue(warnings.get(0).startsWith("warning: --batch-size is 4 but was 8 in "), warnings.get(0));
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith("warning: --learning-rate is 1.0E-4 but was 3.0E-4")), r.err());
        assertTrue(warnings.stream().anyMatch(w -> w.startsWith("warning: --grad-accum-steps is 2 but was 1")), r.err());
    }

    @Test
    void logsGoUnderTheOutputFolderByDefault() throws IOException {
        Path out = tmp.resolve("logged");
        PredictCommandTest.Run r = PredictCommandTest.run(train(out, "--max-steps", "2"));
        assertEquals(0, r.exit(), r.err());
        // HF's logging_dir: output_dir/runs/<Mon DD_HH-MM-SS>_<host>, one folder per run
        try (Stream<Path> runs = Files.list(out.resolve("runs"))) {
            List<Path> folders = runs.toList();
            assertEquals(1, folders.size(), folders.toString());
            assertTrue(folders.get(0).getFileName().toString().matches("[A-Z][a-z]{2}\\d{2}_\\d{2}-\\d{2}-\\d{2}_.+"), folders.toString());
            assertTrue(Files.isRegularFile(folders.get(0).resolve("log.jsonl")), folders.toString());
            assertEquals(folders.get(0).toString(), json(out.resolve("training_args.json")).get("logging_dir").asText());
        }
    }
}
