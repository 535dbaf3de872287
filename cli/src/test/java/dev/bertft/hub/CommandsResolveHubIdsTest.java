package dev.bertft.hub;

import dev.bertft.bert.TestResources;
import dev.bertft.cli.Main;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * predict and tokenize take a hub id as train does: found in the Hugging Face cache or downloaded into it.
 * The commands run in a child JVM whose HF_ENDPOINT is a {@link FakeHub} serving the tiny model with only a
 * pytorch_model.bin (as older repositories have), and whose HF_HUB_CACHE is a fresh folder.
 */
class CommandsResolveHubIdsTest {
    static final Path TINY = TestResources.tinyModel();
    static final String COMMIT = "89abcdef0123456789abcdef0123456789abcdef";

    @TempDir
    Path tmp;
    FakeHub server;
    Map<String, byte[]> small, lfs;   // the tiny model as the hub serves it

    record Run(int exit, String out, String err) {}

    @BeforeEach
    void start() throws IOException {
        server = new FakeHub();
        small = Map.of("config.json", Files.readAllBytes(TINY.resolve("config.json")),
                "vocab.txt", Files.readAllBytes(TINY.resolve("vocab.txt")),
                "tokenizer_config.json", Files.readAllBytes(TINY.resolve("tokenizer_config.json")));
        lfs = Map.of("pytorch_model.bin", Files.readAllBytes(TINY.resolveSibling("tiny_pytorch_model.bin")));
        server.addRepo("acme/tiny-bert", COMMIT, small, lfs);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    /** bert-ft in a child JVM, whose environment points the hub client at the fake hub and a fresh cache. */
    Run bertFt(Path stdin, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-Xmx512m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(stdin.toFile());
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("HF_"));
        env.put("HF_ENDPOINT", server.endpoint().toString());
        env.put("HF_HUB_CACHE", tmp.resolve("hub").toString());
        env.put("BERTFT_RELAUNCHED", "1");
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Run(p.waitFor(), new String(out, StandardCharsets.UTF_8), err);
    }

    /** bert-ft in this JVM, for a local folder. */
    static String bertFtHere(Path stdin, String... args) throws IOException {
        InputStream oldIn = System.in;
        PrintStream oldOut = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (InputStream in = Files.newInputStream(stdin)) {
            System.setIn(in);
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            assertEquals(0, Main.run(args));
        } finally {
            System.setIn(oldIn);
            System.setOut(oldOut);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void predictAndTokenizeTakeAHubIdLikeTrain() throws Exception {
        Path input = Files.writeString(tmp.resolve("in.txt"), "a great movie\nthe worst film ever\n");

        Run tokenized = bertFt(input, "tokenize", "--model", "acme/tiny-bert");
        assertEquals(0, tokenized.exit(), tokenized.err());
        assertEquals(bertFtHere(input, "tokenize", "--model", TINY.toString()), tokenized.out());
        assertEquals(0, server.cdnBytesSent.get(), "tokenize fetches the tokenizer, not the weights");

        Run predicted = bertFt(input, "predict", "--model", "acme/tiny-bert");
        assertEquals(0, predicted.exit(), predicted.err());
        // the same logits from the hub's pytorch_model.bin as from the local folder's model.safetensors
        assertEquals(bertFtHere(input, "predict", "--model", TINY.toString()), predicted.out());
        assertEquals(2, predicted.out().lines().count(), predicted.out());
        assertTrue(Files.isRegularFile(tmp.resolve("hub").resolve("models--acme--tiny-bert").resolve("snapshots").resolve(COMMIT)
                .resolve("pytorch_model.bin")));
    }

    /**
     * run_glue.py's model arguments as pasted: --model_revision picks a tag, --cache_dir another cache, --token the
     * hub token. training_args.json records the revision and the cache, never the token.
     */
    @Test
    void trainTakesTheScriptsRevisionCacheAndToken() throws Exception {
        String tagged = "fedcba9876543210fedcba9876543210fedcba98";
        server.addRevision("acme/tiny-bert", "v1", tagged, small, lfs);
        Path cache = tmp.resolve("own cache"), out = tmp.resolve("out");
        Path data = Files.writeString(tmp.resolve("train.csv"), "text,label\n\"a great movie\",pos\n\"the worst film ever\",neg\n"
                + "\"it was a film\",neu\n\"boring and long\",neg\n");   // the tiny model's three labels
        Run r = bertFt(Files.writeString(tmp.resolve("none.txt"), ""), "train", "--model_name_or_path", "acme/tiny-bert",
                "--model_revision", "v1", "--cache_dir", cache.toString(), "--token", "hf_secret", "--train_file", data.toString(),
                "--output_dir", out.toString(), "--max_steps", "1", "--per_device_train_batch_size", "4", "--max_seq_length", "16",
                "--save_strategy", "no", "--use_cpu");
        assertEquals(0, r.exit(), r.err());
        Path repo = cache.resolve("models--acme--tiny-bert");
        assertTrue(Files.isRegularFile(repo.resolve("snapshots").resolve(tagged).resolve("pytorch_model.bin")));
        assertEquals(tagged, Files.readString(repo.resolve("refs").resolve("v1")));
        assertTrue(Files.notExists(tmp.resolve("hub")), "the environment's cache is not used");
        assertTrue(server.hubAuthorizations.stream().allMatch("Bearer hf_secret"::equals), server.hubAuthorizations.toString());
        String recorded = Files.readString(out.resolve("training_args.json"));
        assertTrue(recorded.contains("\"model_revision\" : \"v1\"") || recorded.contains("\"model_revision\":\"v1\""), recorded);
        assertTrue(recorded.contains(cache.toString()), recorded);
        try (var files = Files.walk(out)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertFalse(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1).contains("hf_secret"), f + " holds the token");
            }
        }
        assertFalse(r.out().contains("hf_secret") || r.err().contains("hf_secret"), "the token is never printed");
    }

    /** doctor says where hub models come from: this JVM's environment's cache and endpoint. */
    @Test
    void doctorNamesTheHubCacheAndEndpoint() throws Exception {
        Run r = bertFt(Files.writeString(tmp.resolve("none.txt"), ""), "doctor");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("hub:      cache " + tmp.resolve("hub") + " (--cache-dir or HF_HUB_CACHE to change), endpoint "
                + server.endpoint() + ", "), r.out());
    }
}
