package dev.bertft.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.bertft.cli.PredictCommandTest.JSON;
import static dev.bertft.cli.PredictCommandTest.TINY;
import static dev.bertft.cli.PredictCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code bert-ft bench}: the rates it reports follow from its own counts, and bad arguments are one-line errors. */
class BenchCommandTest {
    @TempDir
    Path tmp;

    @Test
    void timesTrainingAndPredictionAndWritesConsistentRates() throws IOException {
        Path out = tmp.resolve("results/bench.json");
        var r = run("bench", "--model", TINY.toString(), "--batch-size", "2", "--seq-len", "16", "--steps", "3", "--warmup", "1",
                "--threads", "1", "--json", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("batch:   2 x 16 tokens"), r.out());
        JsonNode j = JSON.readTree(out.toFile());
        // the tiny config by hand: vocab 100, 64 positions, 2 types, hidden 32, 2 layers of
        // intermediate 64, pooler, 3 labels
        long h = 32, inter = 64, embeddings = (100 + 64 + 2) * h + 2 * h;
        long layer = 4 * (h * h + h) + 2 * h + (h * inter + inter) + (inter * h + h) + 2 * h;
        long total = embeddings + 2 * layer + (h * h + h) + (h * 3 + 3), nonEmbedding = total - (100 + 64 + 2) * h;
        assertEquals(total, j.get("parameters").asLong());
        for (String phase : new String[] {"train", "predict"}) {
            JsonNode p = j.get(phase);
            assertEquals(3, p.get("steps").asInt(), phase);
            double seconds = p.get("seconds").asDouble();
            assertTrue(seconds > 0, phase);
            assertEquals(3 * 2 / seconds, p.get("samples_per_second").asDouble(), 1e-9 * (3 * 2 / seconds), phase);
            assertEquals(3 * 32 / seconds, p.get("tokens_per_second").asDouble(), 1e-9 * (3 * 32 / seconds), phase);
            double median = p.get("median_ms").asDouble(), min = p.get("min_ms").asDouble(), max = p.get("max_ms").asDouble();
            assertTrue(min > 0 && min <= median && median <= max && max <= seconds * 1e3, phase + ": " + p);
            double perToken = phase.equals("train") ? 6 : 2;
            double tflops = perToken * nonEmbedding * 32 * 3 / seconds / 1e12;
            assertEquals(tflops, p.get("tflops").asDouble(), 1e-9 * tflops, phase);
            // Every step allocates something (at least its activations), counted over all threads.
            assertEquals(3, p.get("alloc_mb").size(), phase);
            for (JsonNode mb : p.get("alloc_mb")) assertTrue(mb.asDouble() > 0, phase + ": " + p.get("alloc_mb"));
        }
    }

    @Test
    void theMedianStepIsTheMiddleOfTheSortedStepsOrTheMeanOfTheTwoMiddleOnes() {
        var odd = new BenchCommand.Timing(new double[] {0.003, 0.010, 0.001}, new long[] {1, 2, 3}, 1, 1, 1);
        assertEquals(0.003, odd.medianSeconds(), 1e-15);
        var even = new BenchCommand.Timing(new double[] {0.003, 0.010, 0.001, 0.002}, new long[] {3_000_000, 9_000_000, 1_000_000, 2_000_000}, 1, 1, 1);
        assertEquals(0.0025, even.medianSeconds(), 1e-15);
        assertEquals(2.5, even.medianAllocatedMb(), 1e-12);
        JsonNode j = even.toJson();
        assertEquals(1.0, j.get("min_ms").asDouble(), 1e-12);
        assertEquals(10.0, j.get("max_ms").asDouble(), 1e-12);
        assertEquals(4, j.get("steps").asInt());
    }

    @Test
    void bertBaseShapeHasTheParametersHfReports() throws IOException {
        Path out = tmp.resolve("base.json");
        var r = run("bench", "--shape", "bert-base", "--mode", "predict", "--batch-size", "1", "--seq-len", "8", "--steps", "1",
                "--warmup", "0", "--json", out.toString());
        assertEquals(0, r.exit(), r.err());
        // BertForSequenceClassification(bert-base-uncased, 2 labels).num_parameters() in transformers
        assertEquals(109_483_778L, JSON.readTree(out.toFile()).get("parameters").asLong());
        assertFalse(JSON.readTree(out.toFile()).has("train"));
    }

    @Test
    void badArgumentsAreOneLineErrorsNamingTheOption() {
        String[][] cases = {
                {"--seq-len", "65", "--model", TINY.toString(), "--json", tmp.resolve("never.json").toString()},
                {"--shape", "bert-huge"},
                {"--mode", "fast", "--model", TINY.toString()},
                {"--batch-size", "0", "--model", TINY.toString()},
                {"--steps", "0", "--model", TINY.toString()},
        };
        String[] named = {"--seq-len 65 is longer than the model's max_position_embeddings 64", "--shape must be one of",
                "--mode must be", "--batch-size must be > 0", "--steps must be > 0"};
        for (int i = 0; i < cases.length; i++) {
            String[] args = new String[cases[i].length + 1];
            args[0] = "bench";
            System.arraycopy(cases[i], 0, args, 1, cases[i].length);
            var r = run(args);
            assertEquals(CliErrors.FAILURE, r.exit(), String.join(" ", args));
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains(named[i]), r.err());
        }
        assertFalse(Files.exists(tmp.resolve("never.json")), "no results file from a run that failed");
    }
}
