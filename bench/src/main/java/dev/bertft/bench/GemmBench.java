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

    float[] a, b, c;
    Parallel pool;

    @Setup(Level.Trial)
    public void setUp() {
        Random rnd = new Random(1);
        a = new float[M * K];
        b = new float[K * n];
        c = new float[M * n];
        for (int i = 0; i < a.length; i++) a[i] = rnd.nextFloat() - 0.5f;
        for (int i = 0; i < b.length; i++) b[i] = rnd.nextFloat() - 0.5f;
        pool = new Parallel(threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
    }

    @Benchmark
    public float[] sgemm() {
        // B holds K×N row-major, or N×K (a Linear weight) when transB
        Gemm.sgemm(pool, false, transB, M, n, K, a, 0, K, b, 0, transB ? K : n, 0f, c, 0, n);
        return c;
    }
}
