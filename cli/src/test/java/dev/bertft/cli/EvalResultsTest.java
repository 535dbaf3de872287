package dev.bertft.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bertft.bert.BertForSequenceClassification;
import dev.bertft.tensor.cpu.CpuBackend;
import dev.bertft.train.Batches;
import dev.bertft.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bert-ft eval}'s eval_results.json and --json against the PyTorch fixture tiny_predict.json
 * (the tiny model's logits for four texts, computed by plain PyTorch), and the progress of an evaluation.
 */
class EvalResultsTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final List<String> NAMES = List.of("neg", "neu", "pos");

    @TempDir
    Path tmp;

    @Test
    void evalWritesHfsEvalResultsAndPrintsThemWithJson() throws IOException {
        Path model = Files.createDirectories(tmp.resolve("model"));
        try (Stream<Path> files = Files.list(PredictCommandTest.TINY)) {
            for (Path f : files.toList()) Files.copy(f, model.resolve(f.getFileName()));
        }
        JsonNode fixture = JSON.readTree(PredictCommandTest.TINY.resolveSibling("tiny_predict.json").toFile());
        // PyTorch predicts neg for all four; two of these labels say otherwise
        String[] labels = {"neg", "pos", "neg", "neu"};
        List<String> csv = new ArrayList<>(List.of("text,label"));
        double lossSum = 0;
        for (int i = 0; i < labels.length; i++) {
            csv.add("\"" + fixture.get("texts").get(i).asText() + "\"," + labels[i]);
            JsonNode logits = fixture.get("logits").get(i);
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (JsonNode l : logits) max = Math.max(max, l.asDouble());
            for (JsonNode l : logits) sum += Math.exp(l.asDouble() - max);
            lossSum += -(logits.get(NAMES.indexOf(labels[i])).asDouble() - max - Math.log(sum));
        }
        Path data = Files.write(tmp.resolve("eval.csv"), csv);

        PredictCommandTest.Run r = PredictCommandTest.run("eval", "--device", "cpu", "--model", model.toString(), "--eval-data",
                data.toString(), "--offline", "--batch-size", "3");
        assertEquals(0, r.exit(), r.err());
        JsonNode results = JSON.readTree(model.resolve("eval_results.json").toFile());
        assertEquals(List.of("eval_accuracy", "eval_f1", "eval_loss", "eval_runtime", "eval_samples", "eval_samples_per_second",
                "eval_steps_per_second"), fieldNames(results), "HF's keys, sorted as save_metrics writes them; no epoch without a trainer_state.json");
        assertEquals(0.5, results.get("eval_accuracy").asDouble());
        // macro F1 by hand: neg 2·2/(2·2+2+0) = 2/3, neu and pos 0
        assertEquals(2.0 / 9, results.get("eval_f1").asDouble(), 1e-12);
        assertEquals(lossSum / labels.length, results.get("eval_loss").asDouble(), 1e-5);
        assertEquals(4, results.get("eval_samples").asLong());
        double runtime = results.get("eval_runtime").asDouble();
        assertTrue(runtime > 0, results.toString());
        // two batches of at most 3; HF rounds the runtime to 4 decimals and the rate to 3
        assertEquals(2 / runtime, results.get("eval_steps_per_second").asDouble(), 2 / runtime * 1e-4 / runtime + 1e-3, results.toString());
        assertTrue(r.out().contains("eval_accuracy 0.5000"), r.out());

        // the same evaluation written as run_classification.py's arguments
        Path pasted = tmp.resolve("pasted");
        r = PredictCommandTest.run("eval", "--use_cpu", "--model_name_or_path", model.toString(), "--validation_file", data.toString(),
                "--offline", "--per_device_eval_batch_size", "3", "--dataloader_num_workers", "2", "--output_dir", pasted.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("bert-ft eval: --dataloader_num_workers 2 changes nothing here"), r.err());
        JsonNode again = JSON.readTree(pasted.resolve("eval_results.json").toFile());
        for (String k : List.of("eval_accuracy", "eval_f1", "eval_loss", "eval_samples")) assertEquals(results.get(k), again.get(k), k);

        // --json: the same document on standard output, the file in --output-dir, the epoch from a trainer_state.json
        Files.writeString(model.resolve("trainer_state.json"), "{\"epoch\": 2.0, \"global_step\": 40}");
        Path out = tmp.resolve("results");
        r = PredictCommandTest.run("eval", "--device", "cpu", "--model", model.toString(), "--eval-data", data.toString(), "--offline",
                "--json", "--output-dir", out.toString());
        assertEquals(0, r.exit(), r.err());
        JsonNode printed = JSON.readTree(r.out());
        assertEquals(printed, JSON.readTree(out.resolve("eval_results.json").toFile()));
        assertEquals(2.0, printed.get("epoch").asDouble());
        assertEquals(lossSum / labels.length, printed.get("eval_loss").asDouble(), 1e-5);
        assertFalse(r.out().contains("confusion matrix"), r.out());
    }

    @Test
    void evaluationReportsEachBatchToItsListener() throws IOException {
        CpuBackend cpu = new CpuBackend(1);
        BertForSequenceClassification model = BertForSequenceClassification.fromPretrained(PredictCommandTest.TINY, cpu,
                BertForSequenceClassification.LoadOptions.seed(0));
        List<Batches.Tokenized> data = new ArrayList<>();
        for (int i = 0; i < 5; i++) data.add(new Batches.Tokenized(new int[] {2, 10 + i, 3}, new int[3], i % 3));
        List<String> calls = new ArrayList<>();
        Trainer.evaluate(model, data, 2, cpu, 0, 3, new Trainer.Listener() {
            @Override
            public void onEvalStep(long done, long batches) {
                calls.add(done + "/" + batches);
            }
        });
        assertEquals(List.of("0/3", "1/3", "2/3", "3/3"), calls);
    }

    @Test
    void aTerminalShowsEvaluationProgressWithAnEta() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ConsoleProgress progress = new ConsoleProgress(new PrintStream(bytes, true, StandardCharsets.UTF_8), true);
        progress.onStep(10, 100, 0.5, 0.69, 5e-5, 32);
        progress.onEvalStep(0, 4);
        progress.onEvalStep(1, 4);
        progress.onEvalStep(4, 4);
        String shown = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(shown.contains("10/100"), shown);
        // the training bar keeps its line; the evaluation redraws its own
        assertTrue(shown.contains(" \n\revaluating [>"), shown);
        assertTrue(shown.contains("\revaluating [=======>"), shown);
        assertTrue(shown.matches("(?s).*1/4 batches  ETA \\d+:\\d\\d:\\d\\d .*"), shown);
        assertTrue(shown.endsWith("4/4 batches  ETA 0:00:00 "), shown);

        ByteArrayOutputStream log = new ByteArrayOutputStream();
        new ConsoleProgress(new PrintStream(log, true, StandardCharsets.UTF_8), false).onEvalStep(1, 4);
        assertEquals(0, log.size(), "no redrawn lines in a log file");
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
