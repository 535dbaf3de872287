package dev.bertft.data;

import dev.bertft.classifier.ProblemType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which problem type the labels make (as transformers' run_glue and BertForSequenceClassification tell
 * it), what the examples' labels become, and the one-line errors for labels that fit no type.
 */
class ProblemTypeDataTest {
    @TempDir
    Path tmp;

    private final DataLoader loader = new DataLoader(Path.of("unused-cache"), null, null, null);

    private Path file(String name, String... lines) throws IOException {
        return Files.write(tmp.resolve(name), List.of(lines));
    }

    private Dataset load(Path data, ProblemType requested) throws IOException {
        return loader.load(new DataOptions(data.toString(), null, TextColumns.of("text"), "label", 0, 0, 0, 42, false, requested));
    }

    private static List<Float> scores(List<Example> examples) {
        return examples.stream().map(e -> e.targets()[0]).toList();
    }

    /** The 168-class bug: 168 distinct scores made 168 classes. They are one regression output. */
    @Test
    void floatLabelsAreRegressionNeverClasses() throws IOException {
        List<String> lines = new ArrayList<>(List.of("text,label", "a,3.5", "b,-0.2", "c,1e-3", "d,2", "e,+.5E1"));
        for (int i = 0; i < 163; i++) lines.add("x" + i + "," + (i * 0.03125 - 2));
        Dataset d = load(Files.write(tmp.resolve("stsb.csv"), lines), null);
        assertEquals(ProblemType.REGRESSION, d.problemType());
        assertEquals(List.of("LABEL_0"), d.labelNames());
        assertEquals(168, d.train().size());
        assertEquals(List.of(3.5f, -0.2f, 1e-3f, 2f, 5f), scores(d.train().subList(0, 5)));
        assertEquals(-2f + 162 * 0.03125f, d.train().get(167).targets()[0]);
        assertTrue(d.train().stream().allMatch(e -> e.label() == Example.NO_CLASS && e.targets().length == 1));

        Dataset json = load(file("s.jsonl", "{\"text\": \"a\", \"label\": 0.5}", "{\"text\": \"b\", \"label\": 4}"), null);
        assertEquals(ProblemType.REGRESSION, json.problemType());
        assertEquals(List.of(0.5f, 4f), scores(json.train()));
    }

    @Test
    void integerLabelsAreClassesUnlessRegressionIsAsked() throws IOException {
        Path ratings = file("r.csv", "text,label", "a,1", "b,5", "c,3");
        Dataset classes = load(ratings, null);
        assertEquals(ProblemType.SINGLE_LABEL_CLASSIFICATION, classes.problemType());
        assertEquals(List.of("1", "3", "5"), classes.labelNames());
        Dataset scores = load(ratings, ProblemType.REGRESSION);
        assertEquals(List.of("LABEL_0"), scores.labelNames());
        assertEquals(List.of(1f, 5f, 3f), scores(scores.train()));
    }

    @Test
    void listsOfNamesAreMultiLabelInJsonLinesAndCsv() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("topics"));
        Files.write(dir.resolve("train.jsonl"), List.of("{\"text\": \"a\", \"label\": [\"sports\", \"politics\"]}",
                "{\"text\": \"b\", \"label\": [\"politics\"]}", "{\"text\": \"c\", \"label\": []}", "{\"text\": \"d\", \"label\": [\"arts\"]}"));
        Files.write(dir.resolve("validation.csv"), List.of("text,label", "e,arts|sports", "f,politics"));
        Dataset d = load(dir, null);
        assertEquals(ProblemType.MULTI_LABEL_CLASSIFICATION, d.problemType());
        assertEquals(List.of("arts", "politics", "sports"), d.labelNames());
        assertArrayEquals(new float[] {0, 1, 1}, d.train().get(0).targets());
        assertArrayEquals(new float[] {0, 1, 0}, d.train().get(1).targets());
        assertArrayEquals(new float[] {0, 0, 0}, d.train().get(2).targets());
        assertArrayEquals(new float[] {1, 0, 1}, d.eval().get(0).targets());
        assertArrayEquals(new float[] {0, 1, 0}, d.eval().get(1).targets(), "a single name in a multi-label CSV is a list of one");

        Dataset csv = load(file("t.csv", "text,label", "a,sports | politics", "b,arts"), null);
        assertEquals(List.of("arts", "politics", "sports"), csv.labelNames());
        assertArrayEquals(new float[] {1, 0, 0}, csv.train().get(1).targets());
        Dataset names = load(file("u.csv", "text,label", "a,rock|pop", "b,jazz"), ProblemType.SINGLE_LABEL_CLASSIFICATION);
        assertEquals(List.of("jazz", "rock|pop"), names.labelNames(), "asked for single-label, a cell with | is one name");
    }

    @Test
    void multiHotRowsAreMultiLabelWithTransformersDefaultNames() throws IOException {
        Dataset d = load(file("m.jsonl", "{\"text\": \"a\", \"label\": [0, 1, 0]}", "{\"text\": \"b\", \"label\": [1.0, 0, 1]}"), null);
        assertEquals(ProblemType.MULTI_LABEL_CLASSIFICATION, d.problemType());
        assertEquals(List.of("LABEL_0", "LABEL_1", "LABEL_2"), d.labelNames());
        assertArrayEquals(new float[] {1, 0, 1}, d.train().get(1).targets());
    }

    @Test
    void aFineTunedModelsProblemTypeReadsEvaluationData() throws IOException {
        DataOptions scores = new DataOptions("unused", file("e.csv", "text,label", "a,0.25", "b,3").toString(), TextColumns.of("text"), "label",
                0, 0, 0, 42, false, null);
        assertEquals(List.of(0.25f, 3f), scores(loader.loadEvaluation(scores, List.of("LABEL_0"), ProblemType.REGRESSION).eval()));
        DataOptions topics = new DataOptions("unused", file("e.jsonl", "{\"text\": \"a\", \"label\": [\"b\"]}",
                "{\"text\": \"b\", \"label\": [1, 1]}").toString(), TextColumns.of("text"), "label", 0, 0, 0, 42, false, null);
        List<Example> rows = loader.loadEvaluation(topics, List.of("a", "b"), ProblemType.MULTI_LABEL_CLASSIFICATION).eval();
        assertArrayEquals(new float[] {0, 1}, rows.get(0).targets());
        assertArrayEquals(new float[] {1, 1}, rows.get(1).targets());

        DataOptions disagreeing = new DataOptions("unused", scores.evalData(), TextColumns.of("text"), "label", 0, 0, 0, 42, false,
                ProblemType.SINGLE_LABEL_CLASSIFICATION);
        DataSettingException e = assertThrows(DataSettingException.class,
                () -> loader.loadEvaluation(disagreeing, List.of("LABEL_0"), ProblemType.REGRESSION));
        // in words for a Java caller, with the option's name for the command line's
        assertEquals("problem type single_label_classification is not the model's problem_type regression", e.getMessage());
        assertEquals("--problem-type single_label_classification is not the model's problem_type regression",
                e.message(DataSetting::option));
    }

    @Test
    void labelsThatFitNoTypeAreOneLineErrorsNamingFileAndLine() throws IOException {
        assertError(null, "f.csv", "f.csv:4: label 'pos' is not a number (regression, as the label 3.5 at " + tmp.resolve("f.csv") + ":2 tells)",
                "text,label", "a,3.5", "b,-0.2", "c,pos");
        assertError(null, "g.csv", "g.csv:3: label 'NaN' is not a finite number (regression, as the label 0.5 at " + tmp.resolve("g.csv") + ":2 tells)",
                "text,label", "a,0.5", "b,NaN");
        assertError(null, "h.csv", "h.csv:3: label 1e999 is not a finite number", "text,label", "a,0.5", "b,1e999");
        assertError(ProblemType.SINGLE_LABEL_CLASSIFICATION, "i.jsonl",
                "i.jsonl:2: label '[\"a\",\"b\"]' is a list, but each example has one class (problem_type single_label_classification)",
                "{\"text\": \"a\", \"label\": \"a\"}", "{\"text\": \"b\", \"label\": [\"a\", \"b\"]}");
        assertError(ProblemType.SINGLE_LABEL_CLASSIFICATION, "j.csv",
                "j.csv:2: label '3.5' is a fractional number, not a class (problem_type single_label_classification)", "text,label", "a,3.5");
        assertError(ProblemType.REGRESSION, "k.csv", "k.csv:3: label 'pos' is not a number (problem_type regression)",
                "text,label", "a,1", "b,pos");
        assertError(null, "l.jsonl", "l.jsonl:1: label '[\"x\"]' names classes, but the one at " + tmp.resolve("l.jsonl") + ":2 is a multi-hot row",
                "{\"text\": \"a\", \"label\": [\"x\"]}", "{\"text\": \"b\", \"label\": [0, 1]}");
        assertError(null, "m.jsonl", "m.jsonl:1: label '[0,2]' is not a multi-hot row (only 0s and 1s)",
                "{\"text\": \"a\", \"label\": [0, 2]}");
        assertError(null, "n.jsonl", "n.jsonl:2: label '[0,1,1]' is not a multi-hot row of 2",
                "{\"text\": \"a\", \"label\": [0, 1]}", "{\"text\": \"b\", \"label\": [0, 1, 1]}");
        assertError(null, "o.jsonl", "o.jsonl:1: label [\"a\",1] must list only class names or only 0s and 1s",
                "{\"text\": \"a\", \"label\": [\"a\", 1]}");
        assertError(null, "p.csv", "p.csv:2: empty label name in 'a||b'", "text,label", "x,a||b");
        assertError(ProblemType.MULTI_LABEL_CLASSIFICATION, "q.csv",
                "q.csv:3: label '0.5' is a fractional number, not a class or a list of classes (problem_type multi_label_classification)",
                "text,label", "a,x|y", "b,0.5");
    }

    @Test
    void evaluationLabelsMustSuitTheTrainingType() throws IOException {
        Path dir = Files.createDirectory(tmp.resolve("sst"));
        Files.write(dir.resolve("train.csv"), List.of("text,label", "a,0", "b,1"));
        Files.write(dir.resolve("test.csv"), List.of("text,label", "c,1", "d,0.5"));
        DataException e = assertThrows(DataException.class, () -> load(dir, null));
        assertEquals(dir.resolve("test.csv") + ":3: label '0.5' is a fractional number, not a class "
                + "(single_label_classification, as the training labels are integers and names)", e.getMessage());
    }

    private void assertError(ProblemType requested, String name, String expectedStart, String... lines) throws IOException {
        Path f = file(name, lines);
        DataException e = assertThrows(DataException.class, () -> load(f, requested));
        assertTrue(e.getMessage().startsWith(tmp.resolve(expectedStart).toString()), e.getMessage());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }
}
