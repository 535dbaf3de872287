package dev.bertft.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.safetensors.SafetensorsFile;
import dev.bertft.safetensors.SafetensorsWriter;
import dev.bertft.classifier.ProblemType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link BertClassifier} on the tiny model against PyTorch (tiny_predict.json from make_bert_fixtures.py,
 * tiny_pairs.json and tiny_problem_types.json from make_api_fixtures.py), its multi-label and regression readings, the README's examples compiled and run, concurrent callers,
 * and the errors a caller sees.
 */
class BertClassifierTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path TINY = Path.of("src", "test", "resources", "bert", "tiny");

    @TempDir
    Path tmp;

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(t -> out.add(t.asText()));
        return out;
    }

    /** Labels exactly, logits and probabilities to float32 rounding of differently padded batches. */
    static void assertMatches(JsonNode expected, List<Prediction> got) {
        assertEquals(expected.get("texts").size(), got.size());
        for (int i = 0; i < got.size(); i++) {
            Prediction p = got.get(i);
            assertEquals(expected.get("labels").get(i).asText(), p.label(), "text " + i);
            assertEquals(p.label(), List.of("neg", "neu", "pos").get(p.labelId()), "text " + i);
            assertEquals(List.of(p.label()), p.labels(), "text " + i);
            assertEquals(p.probabilities()[p.labelId()], p.score(), "text " + i);
            assertClose(expected.get("logits").get(i), p.logits(), "logits of text " + i);
            assertClose(expected.get("probs").get(i), p.probabilities(), "probabilities of text " + i);
        }
    }

    static void assertClose(JsonNode want, float[] have, String what) {
        assertEquals(want.size(), have.length, what);
        for (int j = 0; j < have.length; j++) {
            double w = want.get(j).asDouble();
            assertTrue(Math.abs(w - have[j]) <= 1e-5 + 1e-5 * Math.abs(w), what + ": " + have[j] + " vs " + w);
        }
    }

    @Test
    void textsGivePyTorchsLabelsAndProbabilities() throws IOException {
        JsonNode expected = JSON.readTree(TINY.resolveSibling("tiny_predict.json").toFile());
        try (BertClassifier clf = BertClassifier.load(TINY, ClassifierOptions.defaults().batchSize(2))) {
            assertEquals(List.of("neg", "neu", "pos"), clf.labels());
            assertEquals(ProblemType.SINGLE_LABEL_CLASSIFICATION, clf.problemType());
            assertEquals(List.of(), clf.untrainedWeights());
            assertEquals(64, clf.maxLength(), "tokenizer_config.json's model_max_length");
            assertMatches(expected, clf.predict(strings(expected.get("texts"))));
            assertEquals(List.of(), clf.predict(List.of()));
        }
    }

    /**
     * A list longer than one window of batches (64 batches of one text here) runs window by window, each longest text
     * first: every answer still lands at its own text's place.
     */
    @Test
    void aListOfManyWindowsGivesEachTextItsOwnAnswerInOrder() throws IOException {
        JsonNode expected = JSON.readTree(TINY.resolveSibling("tiny_predict.json").toFile());
        List<String> texts = strings(expected.get("texts"));
        ObjectNode repeated = expected.deepCopy();
        for (String field : List.of("texts", "labels", "logits", "probs")) {
            com.fasterxml.jackson.databind.node.ArrayNode many = repeated.putArray(field);
            for (int copy = 0; copy < 30; copy++) many.addAll((com.fasterxml.jackson.databind.node.ArrayNode) expected.get(field));
        }
        List<String> manyTexts = new ArrayList<>();
        for (int copy = 0; copy < 30; copy++) manyTexts.addAll(texts);
        try (BertClassifier clf = BertClassifier.load(TINY, ClassifierOptions.defaults().batchSize(1))) {
            assertEquals(64, clf.window());
            assertMatches(repeated, clf.predict(manyTexts));
        }
    }

    @Test
    void sentencePairsGivePyTorchsLabelsAndProbabilities() throws IOException {
        JsonNode expected = JSON.readTree(TINY.resolveSibling("tiny_pairs.json").toFile());
        ClassifierOptions options = ClassifierOptions.defaults().batchSize(3).maxLength(expected.get("max_length").asInt());
        try (BertClassifier clf = BertClassifier.load(TINY, options)) {
            assertMatches(expected, clf.predict(strings(expected.get("texts")), strings(expected.get("pairs"))));
        }
    }

    /** A copy of the tiny model folder whose config.json {@code edit} changes. */
    private Path tinyCopy(String name, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        Path copy = Files.createDirectories(tmp.resolve(name));
        try (java.util.stream.Stream<Path> files = Files.list(TINY)) {
            for (Path f : files.toList()) Files.copy(f, copy.resolve(f.getFileName()));
        }
        ObjectNode config = (ObjectNode) JSON.readTree(copy.resolve("config.json").toFile());
        edit.accept(config);
        JSON.writeValue(copy.resolve("config.json").toFile(), config);
        return copy;
    }

    @Test
    void multiLabelModelsGiveSigmoidsAndTheLabelsAboveOneHalf() throws IOException {
        JsonNode expected = JSON.readTree(TINY.resolveSibling("tiny_problem_types.json").toFile());
        Path folder = tinyCopy("multi", c -> c.put("problem_type", "multi_label_classification"));
        try (BertClassifier clf = BertClassifier.load(folder)) {
            List<Prediction> got = clf.predict(strings(expected.get("texts")));
            for (int i = 0; i < got.size(); i++) {
                Prediction p = got.get(i);
                assertEquals(ProblemType.MULTI_LABEL_CLASSIFICATION, p.problemType());
                assertEquals(strings(expected.get("multi_label_labels").get(i)), p.labels(), "text " + i);
                for (int id : p.labelIds()) assertTrue(p.labels().contains(clf.labels().get(id)), "text " + i);
                assertClose(expected.get("multi_label_probs").get(i), p.probabilities(), "probabilities of text " + i);
                assertClose(expected.get("multi_label_logits").get(i), p.logits(), "logits of text " + i);
                assertEquals(p.probabilities()[p.labelId()], p.score());
            }
            assertTrue(got.stream().anyMatch(p -> p.labels().size() > 1), "some text has several labels");
        }
    }

    @Test
    void regressionModelsGiveTheirScore() throws IOException {
        JsonNode expected = JSON.readTree(TINY.resolveSibling("tiny_problem_types.json").toFile());
        Path folder = tinyCopy("regression", c -> {
            c.put("problem_type", "regression");
            c.putObject("id2label").put("0", "LABEL_0");
            c.putObject("label2id").put("LABEL_0", 0);
        });
        SafetensorsWriter weights = new SafetensorsWriter();
        try (SafetensorsFile tiny = SafetensorsFile.open(TINY.resolve("model.safetensors"));
             SafetensorsFile head = SafetensorsFile.open(TINY.resolveSibling("tiny_regression_expected.safetensors"))) {
            for (String name : tiny.names()) {
                SafetensorsFile from = name.startsWith("classifier.") ? head : tiny;
                weights.add(name, from.info(name).shape(), from.readF32(name));
            }
        }
        weights.write(folder.resolve("model.safetensors"));
        try (BertClassifier clf = BertClassifier.load(folder)) {
            List<Prediction> got = clf.predict(strings(expected.get("texts")));
            for (int i = 0; i < got.size(); i++) {
                Prediction p = got.get(i);
                assertEquals(ProblemType.REGRESSION, p.problemType());
                double want = expected.get("regression_scores").get(i).asDouble();
                assertTrue(Math.abs(want - p.score()) <= 1e-5 + 1e-5 * Math.abs(want), "text " + i + ": " + p.score() + " vs " + want);
                assertEquals("LABEL_0", p.label());
                assertEquals(List.of(), p.labels());
                assertEquals(0, p.probabilities().length);
            }
        }
    }

    @Test
    void eightThreadsGetTheAnswersOfOne() throws Exception {
        List<String> texts = strings(JSON.readTree(TINY.resolveSibling("tiny_predict.json").toFile()).get("texts"));
        try (BertClassifier clf = BertClassifier.load(TINY, ClassifierOptions.defaults().batchSize(2))) {
            List<Prediction> alone = clf.predict(texts);
            List<String> seconds = new ArrayList<>(texts);
            java.util.Collections.reverse(seconds);
            List<Prediction> pairsAlone = clf.predict(texts, seconds);
            ExecutorService pool = Executors.newFixedThreadPool(8);
            try {
                CountDownLatch start = new CountDownLatch(1);
                List<Future<?>> calls = new ArrayList<>();
                for (int thread = 0; thread < 8; thread++) {
                    boolean pairs = thread % 2 == 1;
                    calls.add(pool.submit(() -> {
                        start.await();
                        for (int round = 0; round < 20; round++) {
                            if (pairs) assertEquals(pairsAlone, clf.predict(texts, seconds));
                            else assertEquals(alone, clf.predict(texts));
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> call : calls) call.get();
            } finally {
                pool.shutdownNow();
            }
        }
    }

    @Test
    void mistakesAreExceptionsInTheModelsTerms() throws IOException {
        Path nowhere = tmp.resolve("nowhere");
        FileNotFoundException missing = assertThrows(FileNotFoundException.class, () -> BertClassifier.load(nowhere));
        assertEquals("model folder " + nowhere + " does not exist", missing.getMessage());

        Path empty = Files.createDirectories(tmp.resolve("empty"));
        IOException lacking = assertThrows(IOException.class, () -> BertClassifier.load(empty));
        assertTrue(lacking.getMessage().startsWith("model folder " + empty + " lacks config.json"), lacking.getMessage());

        IOException notCached = assertThrows(IOException.class,
                () -> BertClassifier.fromHub("bert-ft-tests/no-such-model", ClassifierOptions.defaults().offline(true)));
        assertTrue(notCached.getMessage().contains("bert-ft-tests/no-such-model") && notCached.getMessage().contains("offline"),
                notCached.getMessage());

        assertEquals("batch size must be at least 1, got 0",
                assertThrows(IllegalArgumentException.class, () -> ClassifierOptions.defaults().batchSize(0)).getMessage());
        assertEquals("device must be cpu, cuda, cuda:N or auto, got 'gpu'",
                assertThrows(IllegalArgumentException.class, () -> ClassifierOptions.defaults().device("gpu")).getMessage());
        IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class,
                () -> BertClassifier.load(TINY, ClassifierOptions.defaults().maxLength(65)));
        assertTrue(tooLong.getMessage().startsWith("maximum length 65 is more than the model's 64 positions"), tooLong.getMessage());

        BertClassifier clf = BertClassifier.load(TINY);
        List<String> withNull = new ArrayList<>(List.of("fine", "also fine"));
        withNull.add(null);
        assertEquals("texts: text 2 is null", assertThrows(NullPointerException.class, () -> clf.predict(withNull)).getMessage());
        assertEquals("texts are null", assertThrows(NullPointerException.class, () -> clf.predict(null)).getMessage());
        assertEquals("sentence pairs need as many second texts as first ones: 2 first, 1 second",
                assertThrows(IllegalArgumentException.class, () -> clf.predict(List.of("a", "b"), List.of("c"))).getMessage());
        clf.close();
        IllegalStateException closed = assertThrows(IllegalStateException.class, () -> clf.predict(List.of("fun")));
        assertTrue(closed.getMessage().endsWith("is closed"), closed.getMessage());
    }

    /**
     * Each ```java block of the README's "Use it from Java" section, compiled as a method body and run, its
     * model names replaced by the tiny model's folder: the first prints the label and probabilities of
     * "a great film", which must be the classifier's own answer.
     */
    @Test
    void readmeExamplesCompileAndRun() throws Exception {
        List<String> outputs = new ArrayList<>();
        String model = TINY.toAbsolutePath().toString().replace("\\", "\\\\");
        List<String> blocks = JavaSnippets.readmeBlocks("## Use it from Java");
        for (int n = 0; n < blocks.size(); n++) {
            String body = blocks.get(n).replace("\"my-model\"", '"' + model + '"').replace("\"my-org/my-nli-model\"", '"' + model + '"');
            outputs.add(JavaSnippets.compileAndRun(tmp, "ReadmeExample" + n, JavaSnippets.imports("dev.bertft.api.*",
                    "java.nio.file.Path", "java.util.List", "java.util.Arrays"), body));
        }
        assertEquals(2, outputs.size(), "the section's two examples");

        try (BertClassifier clf = BertClassifier.load(TINY)) {
            Prediction p = clf.predict(List.of("a great film")).get(0);
            assertEquals(p.label() + " " + java.util.Arrays.toString(p.probabilities()) + "\n", outputs.get(0));
        }
        assertEquals(2, outputs.get(1).lines().count(), outputs.get(1));
    }
}
