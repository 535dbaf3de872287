package dev.bertft.bench;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import dev.bertft.tokenizer.EncodeOptions;
import dev.bertft.tokenizer.Encoding;
import dev.bertft.tokenizer.WordPieceTokenizer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;

/**
 * WordPiece throughput on IMDB reviews: ours against Hugging Face's Rust tokenizer (through DJL's
 * JNI layer, ids read back like ours), same reviews, same model folder, same run.
 * <p>
 * One operation encodes {@code reviews} reviews with special tokens, no truncation.
 * {@code single}: one review after another on one thread. {@code batch}: the whole list as one
 * parallel batch on all cores (ours: the fork-join pool; HF: its rayon pool).
 * tokens/s = ops/s x the "tokens per operation" printed at setup.
 * <pre>
 * java --add-modules jdk.incubator.vector -jar bench/target/benchmarks.jar TokenizerBench
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class TokenizerBench {
    @Param({"bertft", "hf"})
    public String impl;

    @Param({"2000"})
    public int reviews;

    @Param({"../shared/models/all-MiniLM-L6-v2"})
    public String model;

    @Param({"../shared/data/imdb/aclImdb_v1_labeled.tar.gz"})
    public String imdb;

    private String[] texts;
    private WordPieceTokenizer ours;
    private HuggingFaceTokenizer hf;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        texts = firstReviews(Path.of(imdb), reviews).toArray(new String[0]);
        ours = WordPieceTokenizer.load(Path.of(model));
        hf = HuggingFaceTokenizer.newInstance(Path.of(model, "tokenizer.json"), Map.of("truncation", "false", "padding", "false"));
        long tokens = 0;
        for (String t : texts) tokens += ours.encode(t).length();
        System.out.println("\ntokens per operation: " + tokens + " (" + texts.length + " reviews)");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        hf.close();
    }

    @Benchmark
    public long single() {
        long sum = 0;
        if (impl.equals("bertft")) {
            for (String t : texts) sum += ours.encode(t).ids()[1];
        } else {
            TokenizersLibrary lib = TokenizersLibrary.LIB;
            for (String t : texts) {
                long e = lib.encode(hf.getHandle(), t, true);
                sum += lib.getTokenIds(e)[1];
                lib.deleteEncoding(e);
            }
        }
        return sum;
    }

    @Benchmark
    public long batch() {
        long sum = 0;
        if (impl.equals("bertft")) {
            for (Encoding e : ours.encodeBatch(List.of(texts), null, EncodeOptions.of(0))) sum += e.ids()[1];
        } else {
            TokenizersLibrary lib = TokenizersLibrary.LIB;
            for (long e : lib.batchEncode(hf.getHandle(), texts, true)) {
                sum += lib.getTokenIds(e)[1];
                lib.deleteEncoding(e);
            }
        }
        return sum;
    }

    /** The first n review files of the IMDB tar.gz (512-byte tar headers, octal sizes). */
    static List<String> firstReviews(Path tarGz, int n) throws IOException {
        List<String> out = new ArrayList<>();
        try (DataInputStream in = new DataInputStream(new GZIPInputStream(Files.newInputStream(tarGz), 1 << 16))) {
            byte[] h = new byte[512];
            while (out.size() < n) {
                try {
                    in.readFully(h);
                } catch (EOFException e) {
                    break;
                }
                if (h[0] == 0) break;
                int nameEnd = 0;
                while (nameEnd < 100 && h[nameEnd] != 0) nameEnd++;
                String name = new String(h, 0, nameEnd, StandardCharsets.US_ASCII);
                long size = Long.parseLong(new String(h, 124, 11, StandardCharsets.US_ASCII).trim(), 8);
                byte[] data = new byte[Math.toIntExact(size)];
                in.readFully(data);
                in.skipNBytes((512 - size % 512) % 512);
                if (name.endsWith(".txt") && (name.contains("/pos/") || name.contains("/neg/"))) {
                    out.add(new String(data, StandardCharsets.UTF_8));
                }
            }
        }
        if (out.size() < n) throw new IOException(tarGz + ": only " + out.size() + " reviews, wanted " + n);
        return out;
    }
}
