package dev.bertft.spark;

import dev.bertft.api.BertClassifier;
import dev.bertft.api.ClassifierOptions;
import dev.bertft.api.Prediction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Transformer on a few rows of MiniLM in local[2]: bad rows, pairs, one load per executor, schema, persistence. */
class BertFtClassifierTest {
    static final StructType ID_TEXT = new StructType().add("id", DataTypes.IntegerType).add("text", DataTypes.StringType);

    @TempDir
    Path tmp;

    private static Dataset<Row> table(StructType schema, int partitions, Object[]... rows) {
        List<Row> list = new ArrayList<>();
        for (Object[] r : rows) list.add(RowFactory.create(r));
        return LocalSpark.session().createDataFrame(list, schema).repartition(partitions);
    }

    private static Map<Integer, Row> byId(Dataset<Row> out) {
        Map<Integer, Row> m = new HashMap<>();
        for (Row r : out.collectAsList()) m.put(r.getInt(0), r);
        return m;
    }

    @Test
    void nullAndEmptyTextsGetAReasonAndLongTextsAreTruncated() throws IOException {
        Path model = SharedInputs.miniLm();
        String huge = "a film of many words, ".repeat(5000);   // 110,000 characters, far beyond 128 tokens
        Map<Integer, Row> out = byId(new BertFtClassifier().setModelPath(model.toString()).setBatchSize(2).setMaxLength(128)
                .transform(table(ID_TEXT, 2, new Object[] {0, null}, new Object[] {1, ""}, new Object[] {2, huge},
                        new Object[] {3, " \t "}, new Object[] {4, "a great film"})));
        assertEquals(5, out.size());
        for (int id : new int[] {0, 1, 3}) {
            Row r = out.get(id);
            assertNull(r.get(2), "label of row " + id);
            assertNull(r.get(3), "label id of row " + id);
            assertNull(r.get(4), "probabilities of row " + id);
        }
        assertEquals("text is null", out.get(0).getString(5));
        assertEquals("text is empty", out.get(1).getString(5));
        assertEquals("text is empty", out.get(3).getString(5));
        try (BertClassifier clf = BertClassifier.load(model, ClassifierOptions.defaults().maxLength(128))) {
            List<Prediction> expected = clf.predict(List.of(huge, "a great film"));
            for (int i = 0; i < 2; i++) {
                Row r = out.get(2 + 2 * i);
                assertNull(r.get(5), "error of row " + r.getInt(0));
                assertEquals(expected.get(i).label(), r.getString(2));
                assertEquals(expected.get(i).labelId(), r.getInt(3));
                assertArrayEquals(expected.get(i).probabilities(), ImdbParity.floats(r.getList(4)), 1e-6f);
            }
        }
    }

    @Test
    void sentencePairsAreClassifiedAsPairs() throws IOException {
        Path model = SharedInputs.miniLm();
        StructType schema = ID_TEXT.add("hypothesis", DataTypes.StringType);
        Map<Integer, Row> out = byId(new BertFtClassifier().setModelPath(model.toString()).setSecondInputCol("hypothesis")
                .setOutputCol("prediction").setMaxLength(64)
                .transform(table(schema, 2, new Object[] {0, "A man plays a guitar.", "Someone makes music."},
                        new Object[] {1, "A cat sleeps.", "The dog barks loudly at night."}, new Object[] {2, "Alone.", null})));
        assertEquals("hypothesis is null", out.get(2).getString(6));
        try (BertClassifier clf = BertClassifier.load(model, ClassifierOptions.defaults().maxLength(64))) {
            List<Prediction> expected = clf.predict(List.of("A man plays a guitar.", "A cat sleeps."),
                    List.of("Someone makes music.", "The dog barks loudly at night."));
            for (int i = 0; i < 2; i++) {
                assertEquals(expected.get(i).label(), out.get(i).getAs("prediction"));
                assertArrayEquals(expected.get(i).probabilities(), ImdbParity.floats(out.get(i).getList(5)), 1e-6f);
            }
        }
    }

    @Test
    void eachExecutorLoadsTheModelOnceWhateverThePartitions() {
        Path model = SharedInputs.miniLm();
        Object[][] rows = new Object[40][];
        for (int i = 0; i < rows.length; i++) rows[i] = new Object[] {i, "review number " + i};
        int before = ExecutorModels.loads();
        // batch size 3: options no other test uses, so this is a model the JVM has not loaded yet
        BertFtClassifier clf = new BertFtClassifier().setModelPath(model.toString()).setBatchSize(3).setMaxLength(16);
        assertEquals(40, clf.transform(table(ID_TEXT, 8, rows)).collectAsList().size());
        assertEquals(40, clf.transform(table(ID_TEXT, 5, rows)).count());
        // local mode: the driver's check and the eight tasks of two jobs run in one JVM, one executor
        assertEquals(before + 1, ExecutorModels.loads());
    }

    @Test
    void aMissingOrBrokenModelFailsOnTheDriverNamingIt() throws IOException {
        Dataset<Row> rows = table(ID_TEXT, 1, new Object[] {0, "text"});
        Path missing = tmp.resolve("no-such-model");
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> new BertFtClassifier().setModelPath(missing.toString()).transform(rows));
        assertEquals("model path " + missing + " does not exist", e.getMessage());

        Path broken = Files.createDirectories(tmp.resolve("broken"));
        Files.writeString(broken.resolve("config.json"), "{}");
        e = assertThrows(UncheckedIOException.class, () -> new BertFtClassifier().setModelPath(broken.toString()).transform(rows));
        assertTrue(e.getMessage().startsWith("model folder " + broken + " lacks "), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }

    @Test
    void schemaGainsFourNullableColumnsAndIsChecked() {
        BertFtClassifier clf = new BertFtClassifier().setModelPath("m").setProbsCol("p");
        StructType out = clf.transformSchema(ID_TEXT);
        assertEquals(List.of("id", "text", "label", "label_id", "p", "error"), Arrays.asList(out.fieldNames()));
        assertEquals(DataTypes.createArrayType(DataTypes.FloatType, false), out.apply("p").dataType());
        assertEquals(DataTypes.IntegerType, out.apply("label_id").dataType());
        assertEquals("input column review does not exist; the columns are id, text",
                assertThrows(IllegalArgumentException.class, () -> clf.copy(new org.apache.spark.ml.param.ParamMap()).setInputCol("review")
                        .transformSchema(ID_TEXT)).getMessage());
        assertEquals("input column id is int, not string",
                assertThrows(IllegalArgumentException.class, () -> new BertFtClassifier().setModelPath("m").setInputCol("id")
                        .transformSchema(ID_TEXT)).getMessage());
        assertEquals("output column text exists already",
                assertThrows(IllegalArgumentException.class, () -> new BertFtClassifier().setModelPath("m").setErrorCol("text")
                        .transformSchema(ID_TEXT)).getMessage());
        assertEquals("the model path is not set (setModelPath)",
                assertThrows(IllegalArgumentException.class, () -> new BertFtClassifier().transformSchema(ID_TEXT)).getMessage());
    }

    @Test
    void savedAndLoadedWithItsParams() throws IOException {
        BertFtClassifier clf = new BertFtClassifier().setModelPath("hdfs:///models/imdb").setInputCol("review")
                .setSecondInputCol("title").setBatchSize(8).setMaxLength(256).setDevice("cuda");
        LocalSpark.session();
        String path = tmp.resolve("stage").toString();
        clf.write().save(path);
        BertFtClassifier back = BertFtClassifier.load(path);
        assertEquals(clf.uid(), back.uid());
        assertEquals(clf.extractParamMap().toString(), back.extractParamMap().toString());
        assertEquals(256, (int) back.getOrDefault(back.maxLength()));
        assertEquals("title", back.getOrDefault(back.secondInputCol()));
    }
}
