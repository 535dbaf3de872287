package dev.bertft.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bertft.api.BertClassifier;
import dev.bertft.api.ClassifierOptions;
import dev.bertft.api.Prediction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * IMDB test reviews through Spark in local[2] give, row by row, what the library gives in one process (which
 * PredictApiParityTest ties to {@code bert-ft predict}): the same label and the same probabilities to 1e-6
 * (Spark's batches hold other texts, so other padding, than the reference's), every id exactly once, in
 * whatever order the partitions come back. Through the Transformer, and through PredictJob writing JSON lines
 * (read back here with Jackson) and Parquet. Maximum length 128, for time.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ImdbParity {
    static final int MAX_LENGTH = 128;
    static final ObjectMapper JSON = new ObjectMapper();

    Path model;
    List<String> texts;
    List<Prediction> expected;

    @TempDir
    Path tmp;

    /** How many reviews. */
    abstract int reviews();

    @BeforeAll
    void predictInOneProcess() throws IOException {
        model = SharedInputs.miniLm();
        texts = SharedInputs.imdbTestReviews(reviews());
        try (BertClassifier clf = BertClassifier.load(model, ClassifierOptions.defaults().maxLength(MAX_LENGTH))) {
            expected = clf.predict(texts);
        }
    }

    private Dataset<Row> table(SparkSession spark, int partitions) {
        StructType schema = new StructType().add("id", DataTypes.LongType, false).add("text", DataTypes.StringType, true);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) rows.add(RowFactory.create((long) i, texts.get(i)));
        return spark.createDataFrame(rows, schema).repartition(partitions);
    }

    @Test
    void transformer() {
        List<Row> out = new BertFtClassifier().setModelPath(model.toString()).setMaxLength(MAX_LENGTH)
                .transform(table(LocalSpark.session(), 4)).select("id", "label", "label_id", "probs", "error").collectAsList();
        List<Answer> answers = new ArrayList<>();
        for (Row r : out) answers.add(new Answer(r.getLong(0), r.getString(1), r.getInt(2), floats(r.getList(3)), r.getString(4)));
        assertAllExpected(answers);
    }

    @Test
    void predictJobJsonLines() throws IOException {
        Path input = tmp.resolve("reviews.jsonl");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) lines.add(JSON.writeValueAsString(Map.of("id", i, "text", texts.get(i))));
        Files.write(input, lines, StandardCharsets.UTF_8);
        Path output = tmp.resolve("predictions");
        runJob("--model", model.toString(), "--input", input.toString(), "--output", output.toString(),
                "--max-length", String.valueOf(MAX_LENGTH), "--master", "local[2]");
        List<Answer> answers = new ArrayList<>();
        try (Stream<Path> parts = Files.list(output)) {
            for (Path part : parts.filter(p -> p.getFileName().toString().startsWith("part-")).toList()) {
                for (String line : Files.readAllLines(part, StandardCharsets.UTF_8)) {
                    JsonNode n = JSON.readTree(line);
                    float[] probs = new float[n.get("probs").size()];
                    for (int j = 0; j < probs.length; j++) probs[j] = n.get("probs").get(j).floatValue();
                    answers.add(new Answer(n.get("id").asLong(), n.get("label").asText(), n.get("label_id").asInt(), probs,
                            n.hasNonNull("error") ? n.get("error").asText() : null));
                }
            }
        }
        assertAllExpected(answers);
    }

    @Test
    void predictJobParquet() {
        SparkSession spark = LocalSpark.session();
        Path input = tmp.resolve("reviews.parquet");
        table(spark, 3).write().parquet(input.toString());
        Path output = tmp.resolve("predictions.parquet");
        runJob("--model", model.toString(), "--input", input.toString(), "--output", output.toString(), "--format", "parquet",
                "--max-length", String.valueOf(MAX_LENGTH), "--batch-size", "16");
        List<Answer> answers = new ArrayList<>();
        for (Row r : spark.read().parquet(output.toString()).collectAsList()) {
            answers.add(new Answer(r.getAs("id"), r.getAs("label"), r.getAs("label_id"), floats(r.getList(r.fieldIndex("probs"))), r.getAs("error")));
        }
        assertAllExpected(answers);
    }

    private static void runJob(String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = PredictJob.run(args, new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, exit, err.toString(StandardCharsets.UTF_8));
    }

    /** One output row. */
    record Answer(long id, String label, int labelId, float[] probs, String error) {
    }

    private void assertAllExpected(List<Answer> answers) {
        Map<Long, Answer> byId = new HashMap<>();
        for (Answer a : answers) assertNull(byId.put(a.id(), a), "id " + a.id() + " twice");
        assertEquals(texts.size(), byId.size(), "rows");
        for (int i = 0; i < texts.size(); i++) {
            Answer a = byId.get((long) i);
            Prediction p = expected.get(i);
            assertNull(a.error(), "error of review " + i);
            assertEquals(p.label(), a.label(), "label of review " + i);
            assertEquals(p.labelId(), a.labelId(), "label id of review " + i);
            assertArrayEquals(p.probabilities(), a.probs(), 1e-6f, "probabilities of review " + i);
        }
    }

    static float[] floats(List<Float> xs) {
        float[] out = new float[xs.size()];
        for (int i = 0; i < out.length; i++) out[i] = xs.get(i);
        return out;
    }
}
