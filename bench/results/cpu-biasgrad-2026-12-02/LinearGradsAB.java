import com.sun.management.OperatingSystemMXBean;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Locale;
import java.util.Random;

/**
 * The CPU backend's linearGrads (db summed in the product's packing) against the default it
 * replaces (dYᵀ·x, then dY.sum(0)), and dYᵀ·x alone, alternated call by call in one JVM on MiniLM's four Linear
 * shapes at 32×128 tokens. CPU time per call, so the machine's load matters less than wall time
 * would: on one thread the calling thread's (ns resolution; the pool runs everything on it), on
 * more the whole process's (all threads, a coarser clock: run more rounds).
 *
 * java --add-modules jdk.incubator.vector -Xmx4g -cp cli/target/bert-ft.jar LinearGradsAB.java THREADS ROUNDS
 */
public class LinearGradsAB {
    static final OperatingSystemMXBean OS = (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    static final ThreadMXBean THREAD = ManagementFactory.getThreadMXBean();

    public static void main(String[] args) {
        int threads = Integer.parseInt(args[0]), rounds = Integer.parseInt(args[1]), rows = 4096;
        int[][] shapes = {{1152, 384}, {384, 384}, {1536, 384}, {384, 1536}}; // n (dY columns), k (x columns)
        CpuBackend cpu = new CpuBackend(threads);
        Random rnd = new Random(1);
        System.out.printf(Locale.ROOT, "%d threads, %d rounds, T = %d rows%n| n × k | default µs CPU/call | fused µs CPU/call | saved | dW alone | default − dW (the reduce) | fused − dW (the sums) |%n|---|---:|---:|---:|---:|---:|---:|%n",
                threads, rounds, rows);
        for (int[] s : shapes) {
            Tensor dy = random(cpu, rnd, rows, s[0]), x = random(cpu, rnd, rows, s[1]);
            long[] cpuNs = new long[3];
            for (int r = -5; r < rounds; r++) { // 5 warm-up rounds
                for (int v = 0; v < 3; v++) {
                    long t0 = cpuNow(threads);
                    try (Backend.Scope scope = cpu.openScope()) {
                        if (v == 0) {
                            dy.transpose(0, 1).matmul(x);
                            dy.sum(0);
                        } else if (v == 1) {
                            cpu.linearGrads(dy, x, DType.F32);
                        } else {
                            dy.transpose(0, 1).matmul(x);
                        }
                    }
                    if (r >= 0) cpuNs[v] += cpuNow(threads) - t0;
                }
            }
            double a = cpuNs[0] / 1e3 / rounds, b = cpuNs[1] / 1e3 / rounds, c = cpuNs[2] / 1e3 / rounds;
            System.out.printf(Locale.ROOT, "| %d × %d | %.0f | %.0f | %.1f %% | %.0f | %.0f | %.0f |%n", s[0], s[1], a, b, 100 * (a - b) / a,
                    c, a - c, b - c);
        }
        System.exit(0);
    }

    static long cpuNow(int threads) {
        return threads == 1 ? THREAD.getCurrentThreadCpuTime() : OS.getProcessCpuTime();
    }

    static Tensor random(CpuBackend cpu, Random rnd, int... shape) {
        float[] v = new float[shape[0] * shape[1]];
        for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian() * 0.05f;
        return Tensor.of(cpu, v, shape);
    }
}
