package dev.bertft.cli;

import dev.bertft.train.Hyperparameter;
import dev.bertft.train.TrainingArgs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** How the command line reads what users type: Hugging Face's spellings, typos, the default device. */
class CliFlagsTest {
    @TempDir
    Path tmp;

    /** The train command as picocli fills it from a command line, HF spellings included. */
    static TrainCommand parseTrain(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.parseArgs(HfSpellings.rewrite(cli, args));
        return cli.getSubcommands().get("train").getCommand();
    }

    @Test
    void hfSnakeCaseSpellingsSetOurOptions() {
        // as pasted from a TrainingArguments script
        TrainCommand t = parseTrain("train", "--learning_rate", "1e-4", "--per_device_train_batch_size", "16",
                "--per_device_eval_batch_size=128", "--num_train_epochs", "2", "--gradient_accumulation_steps", "4",
                "--warmup_ratio", "0.06", "--weight_decay", "0", "--evaluation_strategy", "epoch", "--save_strategy", "epoch",
                "--load_best_model_at_end", "True", "--metric_for_best_model", "accuracy", "--output_dir", "out",
                "--logging_steps", "50", "--max_grad_norm", "0.5", "--adam_epsilon", "1e-6", "--seed", "7", "--max_length", "128");
        TrainingArgs a = t.trainingArgs();
        assertEquals(1e-4, a.learningRate());
        assertEquals(16, a.batchSize());
        // TrainingArguments' deprecated per_gpu_* names, which older scripts still pass
        TrainingArgs old = parseTrain("train", "--per_gpu_train_batch_size", "12", "--per_gpu_eval_batch_size", "24").trainingArgs();
        assertEquals(12, old.batchSize());
        assertEquals(24, old.evalBatchSize());
        assertEquals(128, a.evalBatchSize());
        assertEquals(2.0, a.epochs());
        assertEquals(4, a.gradAccumSteps());
        assertEquals(0.06, a.warmupRatio());
        assertEquals(0, a.warmupSteps(), "a ratio alone replaces the recipe's steps");
        assertEquals(0.0, a.weightDecay());
        assertEquals(TrainingArgs.Strategy.EPOCH, a.evalStrategy());
        assertEquals(TrainingArgs.Strategy.EPOCH, a.saveStrategy());
        assertTrue(a.loadBestModelAtEnd());
        assertEquals("accuracy", a.metricForBestModel());
        assertEquals(Path.of("out"), a.outputDir());
        assertEquals(50, a.loggingSteps());
        assertEquals(0.5, a.maxGradNorm());
        assertEquals(1e-6, a.adamEpsilon());
        assertEquals(7, a.seed());
        assertEquals(128, a.maxLength());
        // untouched options keep their declared defaults
        assertEquals(10, parseTrain("train", "--learning_rate", "1e-4").trainingArgs().loggingSteps());
    }

    /** One setting as parsed, before the combination is checked. */
    private static <T> T value(TrainCommand t, Hyperparameter<T> p) {
        return HyperparameterOptions.value(t.spec, p);
    }

    @Test
    void hfBooleanFlagsTakeAnOptionalValue() {
        assertTrue(value(parseTrain("train", "--load_best_model_at_end"), TrainingArgs.LOAD_BEST_MODEL_AT_END));
        assertTrue(value(parseTrain("train", "--load_best_model_at_end", "true", "--seed", "1"), TrainingArgs.LOAD_BEST_MODEL_AT_END));
        assertFalse(value(parseTrain("train", "--load_best_model_at_end", "False"), TrainingArgs.LOAD_BEST_MODEL_AT_END));
        assertFalse(value(parseTrain("train", "--group_by_length=false"), TrainingArgs.GROUP_BY_LENGTH));
        assertTrue(value(parseTrain("train", "--group_by_length=True"), TrainingArgs.GROUP_BY_LENGTH));
        assertFalse(value(parseTrain("train", "--no-shuffle"), TrainingArgs.SHUFFLE), "--no-shuffle turns shuffling off");
        assertTrue(value(parseTrain("train"), TrainingArgs.SHUFFLE));
    }

    @Test
    void everySettingIsAnOptionWithTheJavaApisDefault() {
        Map<String, Object> cli = new LinkedHashMap<>(parseTrain("train").trainingArgs().hfValues());
        Map<String, Object> api = new LinkedHashMap<>(TrainingArgs.builder().build().hfValues());
        cli.remove("logging_dir");   // a folder per run, named by the time it starts
        api.remove("logging_dir");
        assertEquals(api, cli);
    }

    @Test
    void settingsThatCannotBeAreNamedByTheirOptions() {
        for (String[] c : new String[][] {
                {"--batch-size must be > 0, got 0", "--batch-size", "0"},
                {"--learning-rate must be >= 0, got -1.0", "--learning_rate", "-1"},
                {"--eval-strategy must be no, steps or epoch, got 'daily'", "--eval-strategy", "daily"},
                {"--load-best-model-at-end needs the same --eval-strategy and --save-strategy (not 'no'), or --save-strategy best",
                        "--load-best-model-at-end"},
                {"--save-strategy best needs an --eval-strategy: it saves after the evaluations that find a new best", "--save_strategy",
                        "best"},
                {"--eval-strategy must be no, steps or epoch, got best", "--eval_strategy", "best"},
                {"--epochs or --max-steps must be > 0", "--epochs", "0"}}) {
            String[] args = new String[c.length];
            args[0] = "train";
            System.arraycopy(c, 1, args, 1, c.length - 1);
            PredictCommandTest.Run r = PredictCommandTest.run(args);
            assertEquals(1, r.exit(), r.err());
            assertEquals("bert-ft train: error: " + c[0], r.err().strip());
        }
    }

    @Test
    void helpListsEachOptionOnceAndNamesTheHfSpellingsInItsFooter() {
        PredictCommandTest.Run r = PredictCommandTest.run("train", "--help");
        assertEquals(0, r.exit(), r.err());
        String options = r.out().substring(0, r.out().indexOf("Hugging Face's spellings"));
        assertTrue(options.contains("--learning-rate"), r.out());
        assertFalse(options.contains("--learning_rate"), r.out());
        String footer = r.out().substring(options.length()).replaceAll("\\s+", " ");   // as one line, whatever the wrapping
        assertTrue(footer.contains("--per_device_train_batch_size for --batch-size"), footer);
        assertTrue(footer.contains("--num_train_epochs for --epochs"), footer);
    }

    @Test
    void unknownOptionsAndCommandsSuggestTheNearestOne() {
        PredictCommandTest.Run option = PredictCommandTest.run("train", "--learnig-rate", "1e-4");
        assertEquals(CliErrors.USAGE, option.exit());
        String first = option.err().lines().findFirst().orElse("");
        assertTrue(first.startsWith("bert-ft train: ") && first.contains("--learnig-rate") && first.contains("did you mean --learning-rate?"),
                option.err());

        PredictCommandTest.Run command = PredictCommandTest.run("trian");
        assertEquals(CliErrors.USAGE, command.exit());
        first = command.err().lines().findFirst().orElse("");
        assertTrue(first.startsWith("bert-ft: ") && !first.contains("bert-ft bert-ft") && first.contains("did you mean train?"),
                command.err());
        assertTrue(command.err().contains("Try 'bert-ft --help'."), command.err());
    }

    @Test
    void errorsNeverShowJavaClassNames() throws IOException {
        Path missing = tmp.resolve("nowhere.txt");
        PredictCommandTest.Run input = PredictCommandTest.run("predict", "--device", "cpu", "--model", PredictCommandTest.TINY.toString(),
                "--input", missing.toString());
        assertEquals(CliErrors.FAILURE, input.exit());
        assertEquals("bert-ft predict: error: " + missing + ": no such file or folder", input.err().strip());

        Path notAFolder = Files.writeString(tmp.resolve("file"), "x");
        PredictCommandTest.Run output = PredictCommandTest.run("predict", "--device", "cpu", "--model", PredictCommandTest.TINY.toString(),
                "--input", notAFolder.resolve("texts.txt").toString());
        assertEquals(CliErrors.FAILURE, output.exit());
        assertFalse(output.err().contains("Exception"), output.err());
        assertTrue(output.err().contains(notAFolder.resolve("texts.txt").toString()), output.err());

        PredictCommandTest.Run number = PredictCommandTest.run("train", "--batch-size", "many");
        assertEquals(CliErrors.USAGE, number.exit());
        assertTrue(number.err().contains("'many' is not an int"), number.err());
    }

    @Test
    void messagesNameTheFileAndTheProblemInWords() {
        assertEquals("/d/f: no such file or folder", CliErrors.message(new java.nio.file.NoSuchFileException("/d/f")));
        assertEquals("/d/f: permission denied",
                CliErrors.message(new java.io.UncheckedIOException(new java.nio.file.AccessDeniedException("/d/f"))));
        assertEquals("/d: folder not empty", CliErrors.message(new java.nio.file.DirectoryNotEmptyException("/d")));
        assertEquals("cannot read a.csv: Stale file handle",
                CliErrors.message(new IOException("cannot read a.csv: java.io.IOException: Stale file handle")));
        assertEquals("not a number (For input string: \"x\")", CliErrors.message(new NumberFormatException("For input string: \"x\"")));
        String internal = CliErrors.message(new IllegalStateException());
        assertTrue(internal.startsWith("internal error") && !internal.contains("IllegalState"), internal);
        String npe = CliErrors.message(new NullPointerException("Cannot invoke \"java.lang.String.length()\""));
        assertTrue(npe.startsWith("internal error") && !npe.contains("NullPointer"), npe);
        String memory = CliErrors.message(new OutOfMemoryError("Java heap space"));
        assertEquals("out of Java memory (Java heap space); try a smaller batch size or maximum length", memory);
        assertTrue(CliErrors.message(new StackOverflowError()).startsWith("internal error"));
        // a file whose name merely ends like a class keeps it
        assertEquals("/tmp/MyError.csv: no such file or folder", CliErrors.message(new java.nio.file.NoSuchFileException("/tmp/MyError.csv")));
    }

    @Test
    void invalidUtf8ToPredictNamesTheFileOrStdinAndTheLine() throws IOException {
        // line 1 is UTF-8 ("café ok\r\n", 10 bytes); line 2 has a Latin-1 é after "caf": the bad byte is at offset 13
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        b.writeBytes("caf\u00e9 ok\r\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        b.writeBytes("caf\u00e9 bad\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        byte[] mixed = b.toByteArray();
        Path file = Files.write(tmp.resolve("texts.txt"), mixed);
        PredictCommandTest.Run r = PredictCommandTest.run("predict", "--device", "cpu", "--model", PredictCommandTest.TINY.toString(),
                "--input", file.toString(), "--batch-size", "1");
        assertEquals(CliErrors.FAILURE, r.exit());
        assertEquals(1, r.out().lines().count(), "line 1 is answered: " + r.out());
        assertEquals("bert-ft predict: error: " + file + ":2: not valid UTF-8 text (byte offset 13)", r.err().strip());

        java.io.InputStream stdin = System.in;
        System.setIn(new java.io.ByteArrayInputStream(mixed));
        try {
            r = PredictCommandTest.run("predict", "--device", "cpu", "--model", PredictCommandTest.TINY.toString());
        } finally {
            System.setIn(stdin);
        }
        assertEquals(CliErrors.FAILURE, r.exit());
        assertEquals("bert-ft predict: error: <stdin>:2: not valid UTF-8 text (byte offset 13)", r.err().strip());
    }

    @Test
    void deviceDefaultsToAutoAndSaysWhatItChoseAndWhy() throws IOException {
        Path input = Files.writeString(tmp.resolve("texts.txt"), "a fine film\n");
        PredictCommandTest.Run r = PredictCommandTest.run("predict", "--model", PredictCommandTest.TINY.toString(), "--input", input.toString(),
                "--threads", "1");
        assertEquals(0, r.exit(), r.err());
        List<String> device = r.err().lines().filter(l -> l.startsWith("bert-ft: device ")).toList();
        assertEquals(1, device.size(), r.err());
        // without a usable GPU: "device cpu (auto: no CUDA driver: ...)"; with one: "device cuda:0 ... (auto: GPU usable)"
        assertTrue(device.get(0).contains("(auto: "), device.get(0));
        if (device.get(0).startsWith("bert-ft: device cpu")) assertTrue(device.get(0).length() > "bert-ft: device cpu (auto: )".length());
    }
}
