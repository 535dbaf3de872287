package dev.bertft.bench;

import dev.bertft.tensor.cpu.Gemm;
import dev.bertft.tensor.cpu.Parallel;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Single-precision GEMM on BERT-base's projection shapes: M = 4096 tokens (batch 32 × 128),
 * K = 768, N = 768 (attention projections) or 3072 (FFN up-projection). {@code transB} = true is
 * X·Wᵀ with W stored [out, in], as Linear's forward pass does it. The peer is numpy/OpenBLAS on the
 * same shapes: bench/scripts/gemm_numpy.py. GFLOP/s = 2·M·N·K / (time per op).
 *
 * <p>{@link OneThreadCpuTime} runs the same products on one thread and also counts its CPU time.
 *
 * <p>{@link Attention} times the batched products of self-attention for the same batch: 32
 * sequences × 12 heads, scores = Q·Kᵀ (128×64 by 64×128), context = P·V (128×128 by 128×64) and
 * the value gradient Pᵀ·dC. {@link Shapes} covers the weight gradients and MiniLM's projections.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GemmBench {

    @Param({"768", "3072"})
    int n;

    @Param({"false", "true"})
    boolean transB;

    @Param({"2"})
    int threads;

    static final int M = 4096, K = 768;

    Operands x;

    @Setup(Level.Trial)
    public void setUp() {
        x = new Operands(1, M, n, K, threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        x.pool.close();
    }

    /** A (m×k), B (k×n) uniform in [-0.5, 0.5), C (m×n), and the pool that runs the product. */
    static final class Operands {
        final float[] a, b, c;
        final Parallel pool;

        Operands(long seed, int m, int n, int k, int threads) {
            Random rnd = new Random(seed);
            a = uniform(rnd, m * k);
            b = uniform(rnd, k * n);
            c = new float[m * n];
            pool = new Parallel(threads);
        }
    }

    /** size values uniform in [-0.5, 0.5). */
    static float[] uniform(Random rnd, int size) {
        float[] x = new float[size];
        for (int i = 0; i < x.length; i++) x[i] = rnd.nextFloat() - 0.5f;
        return x;
    }

    @Benchmark
    public float[] sgemm() {
        // B holds K×N row-major, or N×K (a Linear weight) when transB
        Gemm.sgemm(x.pool, false, transB, M, n, K, x.a, 0, K, x.b, 0, transB ? K : n, 0f, x.c, 0, n);
        return x.c;
    }

    /**
     * The same products on one thread, counting that thread's CPU time as well:
     * GFLOP per CPU-second = 2·M·N·K·calls / cpuNanos. Unlike wall time it holds up when other
     * processes share the cores (wall time then mostly measures the scheduler).
     */
    @State(Scope.Benchmark)
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 3, time = 2)
    @Measurement(iterations = 5, time = 2)
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
    public static class OneThreadCpuTime {
        @Param({"768", "3072"})
        int n;

        @Param({"false", "true"})
        boolean transB;

        Operands x;

        @Setup(Level.Trial)
        public void setUp() {
            x = new Operands(1, M, n, K, 1);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            x.pool.close();
        }

        @Benchmark
        public float[] sgemm(CpuTimeCounters counters) {
            long start = CpuTimeCounters.now();
            Gemm.sgemm(x.pool, false, transB, M, n, K, x.a, 0, K, x.b, 0, transB ? K : n, 0f, x.c, 0, n);
            counters.add(start);
            return x.c;
        }
    }

    /**
     * The other products of a training step, on one thread with its CPU time counted (GFLOP per
     * CPU-second = 2·M·N·K·calls / cpuNanos; run with {@code -p threads=2} for wall-clock rates, where
     * the counters see only the calling thread). Shape "M×N×K op" with op(A)·op(B), T = transposed:
     * BERT-base's weight gradients Xᵀ·dY (K = 4096 tokens) and input gradients dY·W, and the products
     * of a MiniLM training step at batch 32 × 128 (hidden 384, fused Q/K/V 1152, FFN 1536): forward
     * X·Wᵀ (NT), input gradients dY·W (NN), weight gradients dYᵀ·X (TN).
     */
    @State(Scope.Benchmark)
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 3, time = 2)
    @Measurement(iterations = 5, time = 2)
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
    public static class Shapes {
        @Param({"768x768x4096 TN", "3072x768x4096 TN", "768x3072x4096 TN", "4096x768x3072 NN",
                "4096x1152x384 NT", "4096x384x384 NT", "4096x1536x384 NT", "4096x384x1536 NT",
                "4096x384x1152 NN", "4096x384x384 NN", "4096x1536x384 NN", "4096x384x1536 NN",
                "1152x384x4096 TN", "384x384x4096 TN", "1536x384x4096 TN", "384x1536x4096 TN"})
        String shape;

        @Param({"1"})
        int threads;

        int m, n, k;
        boolean transA, transB;
        Operands x;

        @Setup(Level.Trial)
        public void setUp() {
            String[] sizes = shape.split(" ")[0].split("x");
            m = Integer.parseInt(sizes[0]);
            n = Integer.parseInt(sizes[1]);
            k = Integer.parseInt(sizes[2]);
            transA = shape.charAt(shape.length() - 2) == 'T';
            transB = shape.charAt(shape.length() - 1) == 'T';
            x = new Operands(3, m, n, k, threads);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            x.pool.close();
        }

        @Benchmark
        public float[] sgemm(CpuTimeCounters counters) {
            long start = CpuTimeCounters.now();
            Gemm.sgemm(x.pool, transA, transB, m, n, k, x.a, 0, transA ? m : k, x.b, 0, transB ? k : n, 0f, x.c, 0, n);
            counters.add(start);
            return x.c;
        }
    }

    /** Batched attention products, 384 = 32 sequences × 12 heads of 128 tokens, head size 64. */
    @State(Scope.Benchmark)
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    @Warmup(iterations = 3, time = 2)
    @Measurement(iterations = 5, time = 2)
    @Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
    public static class Attention {
        static final int HEADS = 384, T = 128, D = 64;

        @Param({"2"})
        int threads;

        float[] q, k, v, scores, context;
        Parallel pool;

        @Setup(Level.Trial)
        public void setUp() {
            Random rnd = new Random(2);
            q = new float[HEADS * T * D];
            k = new float[HEADS * T * D];
            v = new float[HEADS * T * D];
            scores = new float[HEADS * T * T];
            context = new float[HEADS * T * D];
            for (float[] x : new float[][] {q, k, v, scores}) {
                for (int i = 0; i < x.length; i++) x[i] = rnd.nextFloat() - 0.5f;
            }
            pool = new Parallel(threads);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            pool.close();
        }

        /** scores[h] = Q[h]·K[h]ᵀ: 2·384·128·128·64 = 0.805 GFLOP. */
        @Benchmark
        public float[] scores() {
            Gemm.sgemmBatched(pool, HEADS, false, true, T, T, D, q, 0, D, T * D, k, 0, D, T * D, 0f, scores, 0, T, T * T);
            return scores;
        }

        /** context[h] = P[h]·V[h]: 2·384·128·64·128 = 0.805 GFLOP. */
        @Benchmark
        public float[] context() {
            Gemm.sgemmBatched(pool, HEADS, false, false, T, D, T, scores, 0, T, T * T, v, 0, D, T * D, 0f, context, 0, D, T * D);
            return context;
        }

        /** The backward pass's transposed-A product, dV[h] = P[h]ᵀ·dContext[h] (here into q): 0.805 GFLOP. */
        @Benchmark
        public float[] valueGradient() {
            Gemm.sgemmBatched(pool, HEADS, true, false, T, D, T, scores, 0, T, T * T, v, 0, D, T * D, 0f, q, 0, D, T * D);
            return q;
        }
    }
}
