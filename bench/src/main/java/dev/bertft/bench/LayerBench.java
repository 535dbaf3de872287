package dev.bertft.bench;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Backend.AttentionOut;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import java.util.Random;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.Warmup;

/**
 * The non-GEMM hot paths of one BERT layer through the CPU backend, for a training batch of 32
 * sequences of 128 tokens: fused self-attention (softmax, padding mask, dropout 0.1) forward and
 * backward on q, k, v laid out as the model keeps them ([B, T, NH·HS] Linear outputs viewed as
 * [B, NH, T, HS]), the exact GELU forward and backward on the FFN's [B, T, I] activations, with
 * the bias of the Linear before it fused in ({@code biasGelu*}) and not ({@code gelu*}: the
 * separate bias pass is not counted), and the end of each residual block, LayerNorm(dropout 0.1
 * (x) + residual) on [B, T, H], as one op ({@code residualNorm*}) and as the plain ops
 * ({@code residualNormUnfused*}). {@code model} picks all-MiniLM-L6-v2's sizes (12 heads of 32, I = 1536) or BERT-base's (12 heads
 * of 64, I = 3072). The peer is PyTorch on the same shapes: bench/scripts/layers_pytorch.py.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
// A fixed, pre-touched heap: on the development VM first touches of memory cost ~6 s a GB, and a
// lazily touched young generation made iterations 10× slower until it had been all used once.
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC", "-Xms3g", "-Xmx3g",
        "-Xmn2g", "-XX:+AlwaysPreTouch", "-XX:+UseTransparentHugePages"})
public class LayerBench {

    @Param({"minilm", "bert-base"})
    String model;

    static final int B = 32, T = 128, NH = 12;

    Backend cpu;
    Tensor q, k, v, mask, dOut, ffn, dFfn, ffnBias, hidden, residual, dHidden, gamma, beta;
    AttentionOut forward;
    Backend.ResidualNormOut normForward;
    Backend.LayerNormOut unfusedNormForward;
    Tensor unfusedSum, unfusedMask;
    double scale;

    @Setup(Level.Trial)
    public void setUp() {
        int hs = model.equals("minilm") ? 32 : 64, inter = model.equals("minilm") ? 1536 : 3072, h = NH * hs;
        cpu = new CpuBackend(2);
        Random rnd = new Random(1);
        q = heads(random(rnd, B * T * h), hs);
        k = heads(random(rnd, B * T * h), hs);
        v = heads(random(rnd, B * T * h), hs);
        dOut = heads(random(rnd, B * T * h), hs);
        float[] m = new float[B * T];
        for (int b = 0; b < B; b++) for (int t = T - 8 * (b % 4); t < T; t++) m[b * T + t] = -3.4028235e38f; // some padding
        mask = Tensor.of(cpu, m, B, T);
        scale = 1 / Math.sqrt(hs);
        ffn = Tensor.of(cpu, random(rnd, B * T * inter), B, T, inter);
        dFfn = Tensor.of(cpu, random(rnd, B * T * inter), B, T, inter);
        ffnBias = Tensor.of(cpu, random(rnd, inter), inter);
        hidden = Tensor.of(cpu, random(rnd, B * T * h), B, T, h);
        residual = Tensor.of(cpu, random(rnd, B * T * h), B, T, h);
        dHidden = Tensor.of(cpu, random(rnd, B * T * h), B, T, h);
        gamma = Tensor.of(cpu, random(rnd, h), h);
        beta = Tensor.of(cpu, random(rnd, h), h);
        forward = attentionForward();
        normForward = residualNormForward();
        unfusedMask = cpu.dropoutMask(hidden.dtype(), hidden.shape(), 0.1, 42, 7);
        unfusedSum = hidden.mul(unfusedMask).add(residual);
        unfusedNormForward = cpu.layerNorm(unfusedSum, gamma, beta, 1e-12);
    }

    private static float[] random(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rnd.nextGaussian();
        return a;
    }

    /** A [B, T, NH·HS] Linear output viewed as [B, NH, T, HS], as BertSelfAttention splits heads. */
    private Tensor heads(float[] data, int hs) {
        return Tensor.of(cpu, data, B, T, NH, hs).permute(0, 2, 1, 3);
    }

    @Benchmark
    public AttentionOut attentionForward() {
        return cpu.attention(q, k, v, mask, scale, 0.1, 42, 7);
    }

    @Benchmark
    public Backend.AttentionGrads attentionBackward() {
        return cpu.attentionBackward(dOut, q, k, v, mask, forward, scale, 0.1, 42, 7);
    }

    @Benchmark
    public Tensor geluForward() {
        return ffn.gelu();
    }

    @Benchmark
    public Tensor geluBackward() {
        return cpu.geluBackward(ffn, dFfn);
    }

    @Benchmark
    public Tensor biasGeluForward() {
        return cpu.biasGelu(ffn, ffnBias);
    }

    @Benchmark
    public Tensor biasGeluBackward() {
        return cpu.biasGeluBackward(ffn, ffnBias, dFfn);
    }

    @Benchmark
    public Backend.ResidualNormOut residualNormForward() {
        return cpu.dropoutAddLayerNorm(hidden, residual, gamma, beta, 1e-12, 0.1, 42, 7);
    }

    @Benchmark
    public Backend.ResidualNormGrads residualNormBackward() {
        return cpu.dropoutAddLayerNormBackward(dHidden, normForward, gamma, 0.1, 42, 7);
    }

    /** What the model ran before the fusion: a dropout mask, its product, the residual add, then LayerNorm. */
    @Benchmark
    public Backend.LayerNormOut residualNormUnfusedForward() {
        Tensor sum = hidden.mul(cpu.dropoutMask(hidden.dtype(), hidden.shape(), 0.1, 42, 7)).add(residual);
        return cpu.layerNorm(sum, gamma, beta, 1e-12);
    }

    /** LayerNorm's backward, then the mask's product for the dropout's input (the mask as kept by the forward). */
    @Benchmark
    public Tensor residualNormUnfusedBackward() {
        Backend.LayerNormGrads d = cpu.layerNormBackward(dHidden, unfusedSum, gamma, unfusedNormForward.mean(), unfusedNormForward.rstd());
        return d.dx().mul(unfusedMask);
    }
}
