package dev.bertft.data;

import com.sun.net.httpserver.HttpServer;
import dev.bertft.classifier.ProblemType;
import dev.bertft.hub.HttpDownloader;
import dev.bertft.hub.HubException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DataLoaderTest {
    @TempDir
    Path tmp;

    DataLoader loader(URI imdbUrl, String sha256) {
        HttpDownloader http = new HttpDownloader(Duration.ofSeconds(5), Duration.ofSeconds(5), null, null,
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), false);
        return new DataLoader(tmp.resolve("cache"), http, imdbUrl, sha256);
    }

    DataLoader loader() {
        return loader(URI.create("http://127.0.0.1:9/never-used"), null);
    }

    static DataOptions options(String data, String evalData, double validationSplit, int maxTrain, int maxEval, long seed) {
        return new DataOptions(data, evalData, TextColumns.of("text"), "label", validationSplit, maxTrain, maxEval, seed, false, null);
    }

    /** n rows "review i" with labels cycling through the given names. */
    Path csv(String name, int n, String... labels) throws IOException {
        StringBuilder b = new StringBuilder("text,label\n");
        for (int i = 0; i < n; i++) b.append("review ").append(i).append(',').append(labels[i % labels.length]).append('\n');
        return Files.writeString(tmp.resolve(name), b.toString());
    }

    @Test
    void labelNamesAreSortedAndBecomeIds() throws IOException {
        Path train = csv("train.csv", 6, "pos", "neutral", "neg");
        Dataset d = loader().load(DataOptions.of(train.toString()));
        assertEquals(List.of("neg", "neutral", "pos"), d.labelNames());
        assertEquals(List.of(2, 1, 0, 2, 1, 0), d.train().stream().map(Example::label).toList());
        assertEquals(List.of(), d.eval());
        assertNull(d.train().get(0).textPair());
    }

    @Test
    void integerLabelsSortNumericallyAsRunGlueDoes() throws IOException {
        Path train = Files.writeString(tmp.resolve("t.jsonl"),
                "{\"text\": \"a\", \"label\": 10}\n{\"text\": \"b\", \"label\": 2}\n{\"text\": \"c\", \"label\": 0}\n{\"text\": \"d\", \"label\": 2}\n");
        Dataset d = loader().load(DataOptions.of(train.toString()));
        assertEquals(List.of("0", "2", "10"), d.labelNames());   // numeric order, not "0","10","2"
        assertEquals(List.of(2, 1, 0, 1), d.train().stream().map(Example::label).toList());
    }

    @Test
    void evalLabelsMustBeTrainingLabels() throws IOException {
        Path train = csv("train.csv", 4, "neg", "pos");
        Path eval = Files.writeString(tmp.resolve("eval.csv"), "text,label\nfine,pos\nodd,neutral\n");
        DataException e = assertThrows(DataException.class,
                () -> loader().load(options(train.toString(), eval.toString(), 0, 0, 0, 1)));
        assertEquals(eval + ":3: label 'neutral' is not among the training labels (neg, pos)", e.getMessage());

        Path ok = Files.writeString(tmp.resolve("ok.csv"), "text,label\nfine,pos\nbad,neg\n");
        Dataset d = loader().load(options(train.toString(), ok.toString(), 0, 0, 0, 1));
        assertEquals(List.of(1, 0), d.eval().stream().map(Example::label).toList());
    }

    /** bert-ft eval --eval-data: the model's labels, no training data, and the subset load() would draw. */
    @Test
    void evaluationDataAloneIsNumberedByTheModelsLabels() throws IOException {
        Path train = csv("train.csv", 4, "neg", "pos");
        Path eval = csv("eval.csv", 40, "pos", "neg");
        Dataset withTrain = loader().load(options(train.toString(), eval.toString(), 0, 0, 12, 5));
        Dataset alone = loader().loadEvaluation(options("no such training data", eval.toString(), 0, 0, 12, 5), List.of("neg", "pos"), ProblemType.SINGLE_LABEL_CLASSIFICATION);
        assertEquals(withTrain.eval(), alone.eval(), "same examples, same ids, same subset");
        assertEquals(List.of(), alone.train());
        assertEquals(List.of("neg", "pos"), alone.labelNames());

        Path numbered = Files.writeString(tmp.resolve("numbered.jsonl"), "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": 0}\n");
        assertEquals(List.of(1, 0), loader().loadEvaluation(options("x", numbered.toString(), 0, 0, 0, 1), List.of("0", "1"), ProblemType.SINGLE_LABEL_CLASSIFICATION).eval()
                .stream().map(Example::label).toList(), "the model's names \"0\", \"1\" number integer labels");
        DataException e = assertThrows(DataException.class,
                () -> loader().loadEvaluation(options("x", numbered.toString(), 0, 0, 0, 1), List.of("neg", "pos"), ProblemType.SINGLE_LABEL_CLASSIFICATION));
        assertEquals(numbered + ":1: label '1' is not among the model's labels (neg, pos)", e.getMessage());
    }

    @Test
    void oneLabelOnlyIsAnError() throws IOException {
        Path train = csv("train.csv", 3, "pos");
        DataException e = assertThrows(DataException.class, () -> loader().load(DataOptions.of(train.toString())));
        assertTrue(e.getMessage().contains("needs at least two labels"), e.getMessage());
    }

    @Test
    void validationSplitIsSeededDisjointAndComplete() throws IOException {
        Path train = csv("train.csv", 200, "neg", "pos");
        Dataset a = loader().load(options(train.toString(), null, 0.1, 0, 0, 7));
        Dataset again = loader().load(options(train.toString(), null, 0.1, 0, 0, 7));
        Dataset other = loader().load(options(train.toString(), null, 0.1, 0, 0, 8));
        assertEquals(180, a.train().size());
        assertEquals(20, a.eval().size());
        assertEquals(a, again);
        assertNotEquals(texts(a.eval()), texts(other.eval()));
        Set<String> all = new HashSet<>(texts(a.train()));
        assertTrue(texts(a.eval()).stream().noneMatch(all::contains), "disjoint");
        all.addAll(texts(a.eval()));
        assertEquals(200, all.size());
        // order within each part is the file's order
        List<Integer> ids = a.train().stream().map(e -> Integer.parseInt(e.text().substring(7))).toList();
        assertEquals(ids.stream().sorted().toList(), ids);
    }

    @Test
    void maxSamplesAreSeededSubsetsDrawnAfterTheSplit() throws IOException {
        Path train = csv("train.csv", 200, "neg", "pos");
        Dataset full = loader().load(options(train.toString(), null, 0.25, 0, 0, 3));
        Dataset small = loader().load(options(train.toString(), null, 0.25, 30, 10, 3));
        Dataset same = loader().load(options(train.toString(), null, 0.25, 30, 10, 3));
        Dataset reseeded = loader().load(options(train.toString(), null, 0.25, 30, 10, 4));
        assertEquals(30, small.train().size());
        assertEquals(10, small.eval().size());
        assertEquals(small, same);
        assertNotEquals(texts(small.train()), texts(reseeded.train()));
        assertTrue(full.train().containsAll(small.train()));
        assertTrue(full.eval().containsAll(small.eval()));
        // a subset never changes the held-out part: the same seed holds out the same 50 examples
        Dataset onlyTrainCapped = loader().load(options(train.toString(), null, 0.25, 30, 0, 3));
        assertEquals(full.eval(), onlyTrainCapped.eval());
        // asking for more than there is keeps everything
        assertEquals(full, loader().load(options(train.toString(), null, 0.25, 1000, 1000, 3)));
    }

    @Test
    void subsetsAreUniform() {
        // each of 10 items should be picked by about 3/10 of 20,000 draws of 3
        List<Integer> items = List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        int[] counts = new int[10];
        java.util.SplittableRandom random = new java.util.SplittableRandom(99);
        for (int t = 0; t < 20_000; t++) for (int i : Subsets.sample(items, 3, random)) counts[i]++;
        for (int c : counts) assertTrue(Math.abs(c - 6000) < 300, "count " + c);   // 6000 ± ~4.7 sigma
    }

    @Test
    void imdbFolderAndTableFolderUseTheirOwnEvalSplit() throws IOException {
        Path imdb = ImdbReaderTest.writeFolder(tmp.resolve("imdb"), ImdbReaderTest.fixture());
        Dataset d = loader().load(DataOptions.of(imdb.toString()));
        assertEquals(List.of("neg", "pos"), d.labelNames());
        assertEquals(List.of(0, 0, 0, 1, 1), d.train().stream().map(Example::label).toList());
        assertEquals(List.of("Boring", "Loved it", "Nice"), texts(d.eval()));

        Path tables = Files.createDirectories(tmp.resolve("tables"));
        Files.writeString(tables.resolve("train.csv"), "text,label\na,x\nb,y\n");
        Files.writeString(tables.resolve("test.jsonl"), "{\"text\": \"c\", \"label\": \"y\"}\n");
        assertEquals(List.of(new Example("c", null, 1)), loader().load(DataOptions.of(tables.toString())).eval());
        Files.writeString(tables.resolve("validation.tsv"), "text\tlabel\nd\tx\n");
        assertEquals(List.of(new Example("d", null, 0)), loader().load(DataOptions.of(tables.toString())).eval());
    }

    @Test
    void badSourcesAreClearErrors() throws IOException {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        DataException e = assertThrows(DataException.class, () -> loader().load(DataOptions.of(empty.toString())));
        assertEquals("data folder " + empty + " has neither aclImdb train/{neg,pos} folders nor a train.csv, train.tsv or train.jsonl file", e.getMessage());
        DataException missing = assertThrows(DataException.class, () -> loader().load(DataOptions.of(tmp.resolve("nope.csv").toString())));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
        Path train = csv("train.csv", 4, "a", "b");
        DataException both = assertThrows(DataException.class, () -> loader().load(options(train.toString(), train.toString(), 0.1, 0, 0, 1)));
        assertTrue(both.getMessage().contains("choose one"), both.getMessage());
        assertThrows(DataException.class, () -> loader().load(options(train.toString(), null, 1.0, 0, 0, 1)));
    }

    @Test
    void imdbIsDownloadedOnceIntoTheCacheAndUsedOfflineAfterwards() throws IOException, Exception {
        Path archive = ImdbReaderTest.writeArchive(tmp.resolve("served.tar.gz"), ImdbReaderTest.fixture());
        byte[] bytes = Files.readAllBytes(archive);
        AtomicInteger gets = new AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/aclImdb_v1.tar.gz", ex -> {
            gets.incrementAndGet();
            ex.sendResponseHeaders(200, bytes.length);
            try (var out = ex.getResponseBody()) {
                out.write(bytes);
            }
        });
        server.start();
        URI url = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/aclImdb_v1.tar.gz");
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        DataOptions offline = new DataOptions("imdb", null, TextColumns.of("text"), "label", 0, 0, 0, 42, true, null);
        try {
            DataException notCached = assertThrows(DataException.class, () -> loader(url, sha).load(offline));
            assertTrue(notCached.getMessage().contains("offline"), notCached.getMessage());
            assertEquals(0, gets.get());

            HubException corrupt = assertThrows(HubException.class, () -> loader(url, "0".repeat(64)).load(DataOptions.of("imdb")));
            assertTrue(corrupt.getMessage().contains("SHA-256"), corrupt.getMessage());

            Dataset d = loader(url, sha).load(DataOptions.of("imdb"));
            assertEquals(5, d.train().size());
            assertEquals(3, d.eval().size());
            assertEquals(2, gets.get());
        } finally {
            server.stop(0);
        }
        assertEquals(loader(url, sha).load(DataOptions.of("imdb")), loader(url, sha).load(offline));
        assertTrue(Files.isRegularFile(tmp.resolve("cache/datasets/aclImdb_v1.tar.gz")));
    }

    private static List<String> texts(List<Example> examples) {
        List<String> t = new ArrayList<>();
        for (Example e : examples) t.add(e.text());
        return t;
    }
}
