package dev.bertft.spark;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** PredictJob's command line and its failures: one line on standard error, exit 2 or 1, nothing written. */
class PredictJobTest {
    @TempDir
    Path tmp;

    record Run(int exit, String err) {
    }

    static Run run(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = PredictJob.run(args, new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void wrongCommandLinesExitWithTwoBeforeSparkStarts() {
        Map<String, List<String>> cases = Map.of(
                "--input is required", List.of("--model", "m", "--output", "o"),
                "unknown argument --text-col", List.of("--model", "m", "--input", "i", "--output", "o", "--text-col", "t"),
                "--format must be jsonl, csv or parquet, got json", List.of("--model", "m", "--input", "i", "--output", "o", "--format", "json"),
                "--batch-size must be at least 1, got 0", List.of("--model", "m", "--input", "i", "--output", "o", "--batch-size", "0"),
                "--max-length must be a whole number >= 0, got 12x", List.of("--model", "m", "--input", "i", "--output", "o", "--max-length", "12x"),
                "--device must be cpu, cuda, cuda:N or auto, got gpu", List.of("--model", "m", "--input", "i", "--output", "o", "--device", "gpu"),
                "--model needs a value", List.of("--input", "i", "--output", "o", "--model"));
        cases.forEach((message, args) -> {
            Run r = run(args.toArray(new String[0]));
            assertEquals(2, r.exit(), r.err());
            assertEquals("bert-ft-spark: " + message, r.err().lines().findFirst().orElseThrow());
        });
    }

    @Test
    void aMissingModelFailsOnTheDriverWithOneLine() throws IOException {
        Path input = Files.writeString(tmp.resolve("in.jsonl"), "{\"id\": 1, \"text\": \"fine\"}\n");
        Path model = tmp.resolve("no-model");
        Path output = tmp.resolve("out");
        Run r = run("--model", model.toString(), "--input", input.toString(), "--output", output.toString(), "--master", "local[2]");
        assertEquals(1, r.exit());
        assertEquals("bert-ft-spark: model path " + model + " does not exist\n", r.err());
        assertFalse(Files.exists(output));
    }

    @Test
    void anExistingOutputIsNotOverwritten() throws IOException {
        Path input = Files.writeString(tmp.resolve("in.jsonl"), "{\"id\": 1, \"text\": \"fine\"}\n");
        Path output = Files.writeString(tmp.resolve("out"), "precious");
        Run r = run("--model", SharedInputs.miniLm().toString(), "--input", input.toString(), "--output", output.toString());
        assertEquals(1, r.exit());
        assertEquals("bert-ft-spark: --output " + output + " exists already; nothing is overwritten\n", r.err());
        assertEquals("precious", Files.readString(output));
    }

    @Test
    void aMissingColumnIsNamed() throws IOException {
        Path input = Files.writeString(tmp.resolve("in.jsonl"), "{\"id\": 1, \"review\": \"fine\"}\n");
        Run r = run("--model", SharedInputs.miniLm().toString(), "--input", input.toString(), "--output", tmp.resolve("out").toString());
        assertEquals(1, r.exit());
        assertEquals("bert-ft-spark: --input " + input + " has no column text; it has id, review\n", r.err());
    }

    @Test
    void csvInCsvOutWithProbabilitiesAsAJsonArray() throws IOException {
        LocalSpark.session();   // the job runs in this local[2] session
        Path input = Files.writeString(tmp.resolve("in.csv"), "key,body\n7,\"a great film, \"\"truly\"\"\"\n8,\n9,dull\n");
        Path output = tmp.resolve("out.csv");
        Run r = run("--model", SharedInputs.miniLm().toString(), "--input", input.toString(), "--output", output.toString(),
                "--format", "csv", "--text-column", "body", "--id-column", "key", "--max-length", "32");
        assertEquals(0, r.exit(), r.err());
        try (Stream<Path> parts = Files.list(output)) {
            // the one-partition file was spread over local[2]'s two cores
            assertEquals(2, parts.filter(p -> p.getFileName().toString().startsWith("part-")).count());
        }
        Map<String, Row> byKey = new HashMap<>();
        for (Row row : LocalSpark.session().read().option("header", true).option("escape", "\"").csv(output.toString()).collectAsList()) {
            byKey.put(row.getString(0), row);
        }
        assertEquals(3, byKey.size());
        assertEquals("body is null", byKey.get("8").getAs("error"));   // CSV reads an empty field as null
        assertNull(byKey.get("8").getAs("label"));
        for (String key : List.of("7", "9")) {
            JsonNode probs = ImdbParity.JSON.readTree((String) byKey.get(key).getAs("probs"));
            assertTrue(probs.isArray() && probs.size() == 2, byKey.get(key).toString());
            assertEquals(1.0, probs.get(0).asDouble() + probs.get(1).asDouble(), 1e-6);
            assertNull(byKey.get(key).getAs("error"));
        }
    }
}
