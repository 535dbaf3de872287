package dev.bertft.hub;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelResolverTest {
    static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";
    static final byte[] CONFIG = "{\"model_type\": \"bert\", \"hidden_size\": 8}".getBytes(StandardCharsets.UTF_8);
    static final byte[] VOCAB = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n".getBytes(StandardCharsets.UTF_8);
    static final byte[] TOKENIZER = "{\"version\": \"1.0\"}".getBytes(StandardCharsets.UTF_8);
    static final byte[] WEIGHTS = randomBytes(3 * 1024 * 1024 + 123, 7);   // several download buffers

    @TempDir
    Path tmp;
    FakeHub server;
    HubCache cache;
    ByteArrayOutputStream log = new ByteArrayOutputStream();

    @BeforeEach
    void start() throws IOException {
        server = new FakeHub();
        server.addRepo("acme/tiny-bert", COMMIT,
                Map.of("config.json", CONFIG, "vocab.txt", VOCAB, "tokenizer.json", TOKENIZER),
                Map.of("model.safetensors", WEIGHTS));
        cache = new HubCache(tmp.resolve("hub"));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    ModelResolver resolver(boolean offline) {
        return resolver(offline, HubOptions.MAIN);
    }

    ModelResolver resolver(boolean offline, String revision) {
        return resolver(offline, server.endpoint(), Duration.ofSeconds(10), revision);
    }

    ModelResolver resolver(boolean offline, URI endpoint, Duration stall) {
        return resolver(offline, endpoint, stall, HubOptions.MAIN);
    }

    ModelResolver resolver(boolean offline, URI endpoint, Duration stall, String revision) {
        HttpDownloader http = new HttpDownloader(Duration.ofSeconds(5), stall, null, null,
                new PrintStream(log, true, StandardCharsets.UTF_8), false);
        return new ModelResolver(cache, http, endpoint, revision, offline);
    }

    @Test
    void downloadPopulatesTheHubCacheLayout() throws IOException {
        Path snapshot = resolver(false).resolve("acme/tiny-bert");

        Path repo = tmp.resolve("hub").resolve("models--acme--tiny-bert");
        assertEquals(repo.resolve("snapshots").resolve(COMMIT), snapshot);
        assertEquals(COMMIT, Files.readString(repo.resolve("refs").resolve("main")));
        // small files are named by their git blob SHA-1, LFS files by their SHA-256, as huggingface_hub does
        assertBlobLink(snapshot, "config.json", FakeHub.gitBlobSha1(CONFIG), CONFIG);
        assertBlobLink(snapshot, "vocab.txt", FakeHub.gitBlobSha1(VOCAB), VOCAB);
        assertBlobLink(snapshot, "tokenizer.json", FakeHub.gitBlobSha1(TOKENIZER), TOKENIZER);
        assertBlobLink(snapshot, "model.safetensors", FakeHub.sha256(WEIGHTS), WEIGHTS);
        // optional files the hub answers 404 for are simply absent; no temporary files are left behind
        assertFalse(Files.exists(snapshot.resolve("tokenizer_config.json"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
        try (var files = Files.list(repo.resolve("blobs"))) {
            assertEquals(4, files.peek(f -> assertFalse(f.toString().endsWith(".incomplete"))).count());
        }
        // the weights came once, in full, from the CDN host; the hub saw HEAD for every file and GET for small ones
        assertEquals(List.of(""), server.cdnRanges);
        assertEquals(WEIGHTS.length, server.cdnBytesSent.get());
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("acme/tiny-bert/model.safetensors"), log.toString());
    }

    @Test
    void completeCacheIsUsedWithoutTheNetwork() throws IOException {
        Path first = resolver(false).resolve("acme/tiny-bert");
        server.close();
        int requests = server.hubRequests.get();
        assertEquals(first, resolver(false).resolve("acme/tiny-bert"));
        assertEquals(first, resolver(true).resolve("acme/tiny-bert"));
        assertEquals(requests, server.hubRequests.get());
    }

    @Test
    void legacyIdFollowsTheHubRedirectAndFindsACacheMadeUnderTheNewName() throws IOException {
        server.renamed.put("tiny-bert", "acme/tiny-bert");
        Path snapshot = resolver(false).resolve("tiny-bert");
        assertEquals(cache.repoFolder("tiny-bert").resolve("snapshots").resolve(COMMIT), snapshot);
        assertArrayEquals(WEIGHTS, Files.readAllBytes(snapshot.resolve("model.safetensors")));

        // a cache written by Python for google-bert/bert-base-uncased serves "bert-base-uncased" offline
        Path repo = cache.repoFolder("google-bert/bert-base-uncased");
        Path snap = repo.resolve("snapshots").resolve(COMMIT);
        Files.createDirectories(snap);
        Files.createDirectories(repo.resolve("blobs"));
        for (String f : List.of("config.json", "model.safetensors", "vocab.txt")) {
            Files.write(repo.resolve("blobs").resolve("b-" + f), f.getBytes(StandardCharsets.UTF_8));
            Files.createSymbolicLink(snap.resolve(f), Path.of("..", "..", "blobs", "b-" + f));
        }
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs").resolve("main"), COMMIT + "\n");
        assertEquals(snap, resolver(true).resolve("bert-base-uncased"));
    }

    @Test
    void resumesATruncatedIncompleteFileWithARangeRequest() throws IOException {
        int have = 1_000_003;
        Path partial = cache.blob("acme/tiny-bert", FakeHub.sha256(WEIGHTS) + ".incomplete");
        Files.createDirectories(partial.getParent());
        Files.write(partial, Arrays.copyOf(WEIGHTS, have));

        Path snapshot = resolver(false).resolve("acme/tiny-bert");

        assertEquals(List.of("bytes=" + have + "-"), server.cdnRanges);
        assertEquals(WEIGHTS.length - have, server.cdnBytesSent.get());
        assertArrayEquals(WEIGHTS, Files.readAllBytes(snapshot.resolve("model.safetensors")));
        assertFalse(Files.exists(partial));
    }

    @Test
    void serverIgnoringRangeMakesTheDownloadStartOver() throws IOException {
        server.ignoreRange = true;
        Path partial = cache.blob("acme/tiny-bert", FakeHub.sha256(WEIGHTS) + ".incomplete");
        Files.createDirectories(partial.getParent());
        Files.write(partial, new byte[12345]);   // not even a prefix of the file: must not survive
        Path snapshot = resolver(false).resolve("acme/tiny-bert");
        assertEquals(List.of("bytes=12345-"), server.cdnRanges);
        assertArrayEquals(WEIGHTS, Files.readAllBytes(snapshot.resolve("model.safetensors")));
    }

    @Test
    void completeIncompleteFileIsVerifiedAndMovedWithoutARequest() throws IOException {
        Path partial = cache.blob("acme/tiny-bert", FakeHub.sha256(WEIGHTS) + ".incomplete");
        Files.createDirectories(partial.getParent());
        Files.write(partial, WEIGHTS);
        Path snapshot = resolver(false).resolve("acme/tiny-bert");
        assertEquals(List.of(), server.cdnRanges);
        assertArrayEquals(WEIGHTS, Files.readAllBytes(snapshot.resolve("model.safetensors")));
    }

    @Test
    void serverDyingMidTransferLeavesNoFileAtTheFinalPathAndTheNextRunResumes() throws IOException {
        server.dieAfterBytes = 1_500_000;
        HubException e = assertThrows(HubException.class, () -> resolver(false).resolve("acme/tiny-bert"));
        assertTrue(e.getMessage().contains("run again to resume"), e.getMessage());

        Path blob = cache.blob("acme/tiny-bert", FakeHub.sha256(WEIGHTS));
        Path partial = blob.resolveSibling(blob.getFileName() + ".incomplete");
        assertFalse(Files.exists(blob));
        assertFalse(Files.exists(cache.snapshotFolder("acme/tiny-bert", COMMIT).resolve("model.safetensors"),
                java.nio.file.LinkOption.NOFOLLOW_LINKS));
        assertFalse(Files.exists(cache.repoFolder("acme/tiny-bert").resolve("refs").resolve("main")));
        long kept = Files.size(partial);
        assertTrue(kept > 0 && kept <= 1_500_000, "kept " + kept);

        server.dieAfterBytes = -1;
        Path snapshot = resolver(false).resolve("acme/tiny-bert");
        assertEquals("bytes=" + kept + "-", server.cdnRanges.get(server.cdnRanges.size() - 1));
        assertArrayEquals(WEIGHTS, Files.readAllBytes(snapshot.resolve("model.safetensors")));
    }

    static final String TAGGED = "fedcba9876543210fedcba9876543210fedcba98";
    static final byte[] TAGGED_CONFIG = "{\"model_type\": \"bert\", \"hidden_size\": 16}".getBytes(StandardCharsets.UTF_8);
    static final byte[] TAGGED_WEIGHTS = randomBytes(4321, 8);

    /** acme/tiny-bert's tag v1.0, a commit of its own whose config and weights differ from main's. */
    private void addTag(String name) {
        server.addRevision("acme/tiny-bert", name, TAGGED, Map.of("config.json", TAGGED_CONFIG, "vocab.txt", VOCAB),
                Map.of("model.safetensors", TAGGED_WEIGHTS));
    }

    @Test
    void aTagIsDownloadedAsItsCommitAndRecordedInItsRef() throws IOException {
        addTag("v1.0");
        Path snapshot = resolver(false, "v1.0").resolve("acme/tiny-bert");
        Path repo = cache.repoFolder("acme/tiny-bert");
        assertEquals(repo.resolve("snapshots").resolve(TAGGED), snapshot);
        assertArrayEquals(TAGGED_CONFIG, Files.readAllBytes(snapshot.resolve("config.json")));
        assertArrayEquals(TAGGED_WEIGHTS, Files.readAllBytes(snapshot.resolve("model.safetensors")));
        assertEquals(TAGGED, Files.readString(repo.resolve("refs").resolve("v1.0")));
        assertFalse(Files.exists(repo.resolve("refs").resolve("main")), "main was not fetched");
        // the tag is asked for once, for its commit; every file is fetched by that commit
        assertEquals("HEAD /acme/tiny-bert/resolve/v1.0/config.json", server.hubMethods.get(0));
        assertTrue(server.hubMethods.stream().skip(1).allMatch(m -> m.contains("/resolve/" + TAGGED + "/")), server.hubMethods.toString());

        server.close();
        assertEquals(snapshot, resolver(true, "v1.0").resolve("acme/tiny-bert"), "the tag's snapshot is found offline");
        assertEquals(snapshot, resolver(true, TAGGED).resolve("acme/tiny-bert"), "and by its commit");
        HubException e = assertThrows(HubException.class, () -> resolver(true).resolve("acme/tiny-bert"));
        assertTrue(e.getMessage().contains("(no refs/main snapshot)"), e.getMessage());
    }

    @Test
    void aCommitIsItsOwnSnapshotWithoutARef() throws IOException {
        addTag("v1.0");
        Path snapshot = resolver(false, TAGGED).resolve("acme/tiny-bert");
        assertEquals(cache.snapshotFolder("acme/tiny-bert", TAGGED), snapshot);
        try (var refs = Files.list(cache.repoFolder("acme/tiny-bert").resolve("refs"))) {
            assertEquals(0, refs.count(), "huggingface_hub writes no ref for a commit");
        } catch (java.nio.file.NoSuchFileException none) {
            // no refs folder at all: the same
        }
        server.close();
        HubException e = assertThrows(HubException.class, () -> resolver(true, "0000000000000000000000000000000000000000")
                .resolve("acme/tiny-bert"));
        assertTrue(e.getMessage().contains("(no snapshot 0000000000000000000000000000000000000000)"), e.getMessage());
    }

    @Test
    void aPullRequestRevisionTravelsAsOneEscapedSegmentAndIsANestedRef() throws IOException {
        addTag("refs/pr/1");
        Path snapshot = resolver(false, "refs/pr/1").resolve("acme/tiny-bert");
        assertEquals("HEAD /acme/tiny-bert/resolve/refs%2Fpr%2F1/config.json", server.hubMethods.get(0));
        assertEquals(TAGGED, Files.readString(cache.repoFolder("acme/tiny-bert").resolve("refs/refs/pr/1")));
        assertEquals(snapshot, resolver(true, "refs/pr/1").resolve("acme/tiny-bert"));
    }

    @Test
    void anUnknownRevisionIsAClearErrorAndAMalformedOneIsRefusedBeforeAnyRequest() {
        HubException e = assertThrows(HubException.class, () -> resolver(false, "v9").resolve("acme/tiny-bert"));
        assertTrue(e.getMessage().startsWith("model acme/tiny-bert has no revision v9 on the hub"), e.getMessage());
        int requests = server.hubRequests.get();
        for (String bad : List.of("", "../main", "a//b", "refs/..", "/main", "main/", "a b", "v1?x")) {
            assertThrows(IllegalArgumentException.class, () -> resolver(false, bad), "'" + bad + "'");
        }
        assertEquals(requests, server.hubRequests.get());
        assertEquals("refs/pr/1", new HubOptions(null, null, "refs/pr/1", false).revision());
        assertEquals("v1.0-rc.2_x", HubOptions.defaults().withRevision("v1.0-rc.2_x").revision());
        assertFalse(HubOptions.defaults().withToken("hf_secret").toString().contains("hf_secret"), "the token stays out of messages");
    }

    @Test
    void corruptDownloadIsRejectedByItsSha256() {
        server.corrupt = true;
        HubException e = assertThrows(HubException.class, () -> resolver(false).resolve("acme/tiny-bert"));
        assertTrue(e.getMessage().contains("SHA-256"), e.getMessage());
        assertFalse(Files.exists(cache.blob("acme/tiny-bert", FakeHub.sha256(WEIGHTS))));
    }

    @Test
    void offlineWithoutTheModelNamesWhatIsMissingAndWhereItLooked() {
        HubException e = assertThrows(HubException.class, () -> resolver(true).resolve("bert-base-uncased"));
        assertTrue(e.getMessage().contains("offline"), e.getMessage());
        assertTrue(e.getMessage().contains(cache.repoFolder("bert-base-uncased").toString()), e.getMessage());
        assertTrue(e.getMessage().contains(cache.repoFolder("google-bert/bert-base-uncased").toString()), e.getMessage());
        assertEquals(0, server.hubRequests.get());
    }

    @Test
    void unknownModelIsAClearNotFoundError() {
        HubException e = assertThrows(HubException.class, () -> resolver(false).resolve("acme/no-such-model"));
        assertTrue(e.getMessage().startsWith("model acme/no-such-model not found on the hub (HTTP 401 for "), e.getMessage());
    }

    @Test
    void unreachableHubIsAClearError() throws IOException {
        server.close();
        HubException e = assertThrows(HubException.class, () -> resolver(false).resolve("acme/tiny-bert"));
        assertTrue(e.getMessage().startsWith("cannot reach " + server.endpoint()), e.getMessage());
        // what to do offline, and the reason in words rather than java.net.ConnectException
        assertTrue(e.getMessage().contains("connection refused"), e.getMessage());
        assertTrue(e.getMessage().contains("local folder") && e.getMessage().contains(cache.root().toString())
                && e.getMessage().contains("HF_HUB_OFFLINE=1"), e.getMessage());
        assertFalse(e.getMessage().contains("Exception"), e.getMessage());
    }

    @Test
    void stalledTransferIsAbandonedAfterTheStallTimeout() throws Exception {
        // The server sends a little, then holds the connection open until the test lets it go (or
        // 60 s pass): a client that gives up while it is still held did so on its stall timeout.
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean serverGaveUp = new AtomicBoolean();
        server.cdn.removeContext("/");
        server.cdn.createContext("/", ex -> {
            ex.sendResponseHeaders(200, WEIGHTS.length);
            ex.getResponseBody().write(WEIGHTS, 0, 1000);
            ex.getResponseBody().flush();
            try {
                serverGaveUp.set(!release.await(60, TimeUnit.SECONDS));
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            ex.close();
        });
        HubException e = assertThrows(HubException.class,
                () -> resolver(false, server.endpoint(), Duration.ofMillis(300)).resolve("acme/tiny-bert"));
        release.countDown();
        assertFalse(serverGaveUp.get(), "the client waited until the server closed the connection");
        assertTrue(e.getMessage().contains("no data for"), e.getMessage());
    }

    @Test
    void shardedWeightsAreFetchedThroughTheirIndex() throws IOException {
        byte[] a = randomBytes(5000, 1), b = randomBytes(7000, 2);
        byte[] index = ("{\"metadata\": {\"total_size\": 12000}, \"weight_map\": {\"x\": \"model-00001-of-00002.safetensors\","
                + " \"y\": \"model-00002-of-00002.safetensors\", \"z\": \"model-00001-of-00002.safetensors\"}}")
                .getBytes(StandardCharsets.UTF_8);
        server.addRepo("acme/sharded", COMMIT, Map.of("config.json", CONFIG, "vocab.txt", VOCAB,
                        "model.safetensors.index.json", index),
                Map.of("model-00001-of-00002.safetensors", a, "model-00002-of-00002.safetensors", b));
        Path snapshot = resolver(false).resolve("acme/sharded");
        assertArrayEquals(a, Files.readAllBytes(snapshot.resolve("model-00001-of-00002.safetensors")));
        assertArrayEquals(b, Files.readAllBytes(snapshot.resolve("model-00002-of-00002.safetensors")));
        assertTrue(ModelFiles.missing(snapshot).isEmpty());
    }

    @Test
    void aRepoWithoutSafetensorsGivesItsPytorchModelBinAndTokenizingFetchesNoWeights() throws IOException {
        byte[] bin = randomBytes(200_000, 3);
        server.addRepo("acme/old-bert", COMMIT, Map.of("config.json", CONFIG, "vocab.txt", VOCAB), Map.of("pytorch_model.bin", bin));
        Path forTokenizer = resolver(false).resolve("acme/old-bert", ModelFiles.Needs.TOKENIZER);
        assertTrue(Files.isRegularFile(forTokenizer.resolve("vocab.txt")));
        assertEquals(0, server.cdnBytesSent.get());

        Path snapshot = resolver(false).resolve("acme/old-bert");
        assertEquals(forTokenizer, snapshot);
        assertArrayEquals(bin, Files.readAllBytes(snapshot.resolve("pytorch_model.bin")));
        assertEquals(bin.length, server.cdnBytesSent.get());
        assertEquals(List.of(), ModelFiles.missing(snapshot));

        server.addRepo("acme/no-weights", COMMIT, Map.of("config.json", CONFIG, "vocab.txt", VOCAB), Map.of());
        HubException e = assertThrows(HubException.class, () -> resolver(false).resolve("acme/no-weights"));
        assertTrue(e.getMessage().contains("has none of model.safetensors, model.safetensors.index.json and pytorch_model.bin"),
                e.getMessage());
    }

    @Test
    void localFolderIsUsedAsIsOrItsMissingFilesAreListed() throws IOException {
        Path folder = Files.createDirectories(tmp.resolve("my-model"));
        Files.write(folder.resolve("config.json"), CONFIG);
        HubException e = assertThrows(HubException.class, () -> resolver(true).resolve(folder.toString()));
        assertEquals("model folder " + folder + " lacks model.safetensors (or pytorch_model.bin), vocab.txt (or tokenizer.json)", e.getMessage());
        Files.write(folder.resolve("tokenizer.json"), TOKENIZER);
        assertEquals(folder, resolver(true).resolve(folder.toString(), ModelFiles.Needs.TOKENIZER));   // enough for tokenize
        Files.write(folder.resolve("pytorch_model.bin"), WEIGHTS);
        assertEquals(folder, resolver(true).resolve(folder.toString()));

        HubException notThere = assertThrows(HubException.class, () -> resolver(true).resolve(tmp.resolve("nope").toString()));
        assertTrue(notThere.getMessage().contains("does not exist"), notThere.getMessage());
    }

    @Test
    void sharedMiniLmFolderIsACompleteModel() throws IOException {
        Path folder = null;
        for (Path dir = Path.of("").toAbsolutePath(); dir != null && folder == null; dir = dir.getParent()) {
            Path candidate = dir.resolve("shared/models/all-MiniLM-L6-v2");
            if (Files.isDirectory(candidate)) folder = candidate;
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(folder != null, "shared/models/all-MiniLM-L6-v2 not found next to the repository; skipped");
        assertEquals(List.of(), ModelFiles.missing(folder));
        assertEquals(folder, resolver(true).resolve(folder.toString()));
    }

    /** huggingface_hub's get_token: HF_TOKEN, else the file huggingface-cli login writes (HF_TOKEN_PATH, else HF_HOME/token). */
    @Test
    void theTokenIsHfTokenElseTheOneLoginSaved() throws IOException {
        Path home = Files.createDirectories(tmp.resolve("hf-home"));
        assertTrue(HubCache.savedToken(Map.of("HF_HOME", home.toString())).isEmpty());
        Files.writeString(home.resolve("token"), "hf_saved\n");
        assertEquals(new HubCache.SavedToken("hf_saved", home.resolve("token").toString()), HubCache.savedToken(Map.of("HF_HOME", home.toString())).get());
        assertEquals(new HubCache.SavedToken("hf_env", "HF_TOKEN"),
                HubCache.savedToken(Map.of("HF_HOME", home.toString(), "HF_TOKEN", "hf_env")).get());
        Path elsewhere = Files.writeString(tmp.resolve("other-token"), "hf_path");
        assertEquals("hf_path", HubCache.savedToken(Map.of("HF_HOME", home.toString(), "HF_TOKEN_PATH", elsewhere.toString())).get().value());
        Path xdg = Files.createDirectories(tmp.resolve("xdg").resolve("huggingface"));
        Files.writeString(xdg.resolve("token"), "hf_xdg");
        assertEquals("hf_xdg", HubCache.savedToken(Map.of("XDG_CACHE_HOME", tmp.resolve("xdg").toString())).get().value());
        assertFalse(HubCache.savedToken(Map.of("HF_TOKEN", "hf_env")).get().toString().contains("hf_env"), "the value stays out of messages");
    }

    @Test
    void cacheRootFollowsHuggingFaceHubEnvironmentVariables() {
        assertEquals(Path.of("/a/hub"), HubCache.defaultRoot(Map.of("HF_HUB_CACHE", "/a/hub", "HF_HOME", "/b")));
        assertEquals(Path.of("/b", "hub"), HubCache.defaultRoot(Map.of("HF_HOME", "/b")));
        assertEquals(Path.of(System.getProperty("user.home"), ".cache", "huggingface", "hub"), HubCache.defaultRoot(Map.of()));
        assertTrue(ModelResolver.offlineByEnvironment(Map.of("HF_HUB_OFFLINE", "1")));
        assertFalse(ModelResolver.offlineByEnvironment(Map.of("HF_HUB_OFFLINE", "0")));
    }

    private static void assertBlobLink(Path snapshot, String file, String etag, byte[] content) throws IOException {
        Path link = snapshot.resolve(file);
        assertTrue(Files.isSymbolicLink(link), file + " is a symlink");
        assertEquals(Path.of("..", "..", "blobs", etag), Files.readSymbolicLink(link));
        assertArrayEquals(content, Files.readAllBytes(link));
    }

    static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }
}
