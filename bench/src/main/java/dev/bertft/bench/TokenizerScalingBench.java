package dev.bertft.bench;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
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

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Encoding time against input size on hostile input, ours beside HF's Rust tokenizer: {@code words}
 * repeats "a b " (two one-letter words), {@code word} is one word of that many letters (over
 * the 100-character limit, so a single [UNK]). Linear code takes 10x the time for 10x the
 * characters; a quadratic scan would take 100x.
 * <pre>
 * java --add-modules jdk.incubator.vector -jar bench/target/benchmarks.jar TokenizerScalingBench
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class TokenizerScalingBench {
    @Param({"bertft", "hf"})
    public String impl;

    @Param({"words", "word"})
    public String input;

    @Param({"400000", "4000000"})
    public int chars;

    @Param({"../shared/models/all-MiniLM-L6-v2"})
    public String model;

    private String text;
    private WordPieceTokenizer ours;
    private HuggingFaceTokenizer hf;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        text = input.equals("words") ? "a b ".repeat(chars / 4) : "a".repeat(chars);
        ours = WordPieceTokenizer.load(Path.of(model));
        hf = HuggingFaceTokenizer.newInstance(Path.of(model, "tokenizer.json"), Map.of("truncation", "false", "padding", "false"));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        hf.close();
    }

    @Benchmark
    public int encode() {
        if (impl.equals("bertft")) return ours.encode(text).length();
        TokenizersLibrary lib = TokenizersLibrary.LIB;
        long e = lib.encode(hf.getHandle(), text, true);
        int n = lib.getTokenIds(e).length;
        lib.deleteEncoding(e);
        return n;
    }
}
