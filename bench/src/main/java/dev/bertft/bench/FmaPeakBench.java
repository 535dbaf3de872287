package dev.bertft.bench;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * The float32 fused-multiply-add peak a Java thread reaches through the Vector API, the yardstick
 * for {@link GemmBench}: twelve independent FMA chains (more than the FMA latency times the
 * number of FMA pipes, so the pipes never wait on a result), no memory traffic. Run it in the
 * same session as the GEMM:
 * {@code java -jar bench/target/benchmarks.jar 'FmaPeakBench|GemmBench.sgemm$' -p transB=true}.
 *
 * <p>One op is {@link #STEPS} steps of 12 FMAs on {@code SPECIES_PREFERRED} vectors:
 * GFLOP/s = ops/s × {@link #flopsPerOp()} / 10⁹, summed over threads by JMH's throughput mode.
 * The counters also give GFLOP per CPU-second, {@code calls · flopsPerOp / cpuNanos}, the figure
 * to set beside {@link GemmBench.OneThreadCpuTime}'s when other processes share the cores.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class FmaPeakBench {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int STEPS = 100_000, CHAINS = 12;

    /** Multiplier and addend near 1 and 0, so the chains neither overflow nor go subnormal. */
    float x = 0.999999f, y = 1e-7f;

    /** Floating-point operations in one op: 2 per lane per FMA. */
    static long flopsPerOp() {
        return 2L * STEPS * CHAINS * S.length();
    }

    @Benchmark
    @Threads(1)
    public float oneThread(CpuTimeCounters counters) {
        return timed(counters);
    }

    @Benchmark
    @Threads(2)
    public float twoThreads(CpuTimeCounters counters) {
        return timed(counters);
    }

    private float timed(CpuTimeCounters counters) {
        long start = CpuTimeCounters.now();
        float r = chains();
        counters.add(start);
        return r;
    }

    private float chains() {
        FloatVector m = FloatVector.broadcast(S, x), a = FloatVector.broadcast(S, y);
        FloatVector c0 = a, c1 = a.add(1), c2 = a.add(2), c3 = a.add(3), c4 = a.add(4), c5 = a.add(5);
        FloatVector c6 = a.add(6), c7 = a.add(7), c8 = a.add(8), c9 = a.add(9), c10 = a.add(10), c11 = a.add(11);
        for (int s = 0; s < STEPS; s++) {
            c0 = c0.fma(m, a);
            c1 = c1.fma(m, a);
            c2 = c2.fma(m, a);
            c3 = c3.fma(m, a);
            c4 = c4.fma(m, a);
            c5 = c5.fma(m, a);
            c6 = c6.fma(m, a);
            c7 = c7.fma(m, a);
            c8 = c8.fma(m, a);
            c9 = c9.fma(m, a);
            c10 = c10.fma(m, a);
            c11 = c11.fma(m, a);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11).reduceLanes(VectorOperators.ADD);
    }
}
