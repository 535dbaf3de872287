// Scratch harness of session 14 (not built by Maven): javac -cp tensor/target/classes; run with --add-modules
// jdk.incubator.vector, -XX:+UseTransparentHugePages and Simd.JIT_FLAGS. Results: ../../cpu-2026-12-03-s14.md.
import dev.bertft.tensor.cpu.Gemm;
import dev.bertft.tensor.cpu.Parallel;
import java.util.Random;

/** 2 threads: MiniLM's weight-gradient products Xᵀ·dY-style (TN) and the forward NT, medians of N calls. */
public class DwBench {
    public static void main(String[] args) {
        Parallel pool = new Parallel(2);
        String[] shapes = args.length > 0 ? args : new String[] {"1536x384x4096 TN", "1152x384x4096 TN", "384x384x4096 TN", "384x1536x4096 TN", "4096x1536x384 NT"};
        Random r = new Random(1);
        for (int rep = 0; rep < 3; rep++) {
            StringBuilder sb = new StringBuilder();
            for (String s : shapes) {
                String[] d = s.split(" ")[0].split("x");
                int m = Integer.parseInt(d[0]), n = Integer.parseInt(d[1]), k = Integer.parseInt(d[2]);
                boolean ta = s.charAt(s.length() - 2) == 'T', tb = s.charAt(s.length() - 1) == 'T';
                float[] a = new float[m * k], b = new float[k * n], c = new float[m * n];
                for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() - 0.5f;
                for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() - 0.5f;
                int N = 25;
                long[] ts = new long[N];
                for (int i = 0; i < 5; i++) Gemm.sgemm(pool, ta, tb, m, n, k, a, 0, ta ? m : k, b, 0, tb ? k : n, 0f, c, 0, n);
                for (int i = 0; i < N; i++) {
                    long t0 = System.nanoTime();
                    Gemm.sgemm(pool, ta, tb, m, n, k, a, 0, ta ? m : k, b, 0, tb ? k : n, 0f, c, 0, n);
                    ts[i] = System.nanoTime() - t0;
                }
                java.util.Arrays.sort(ts);
                sb.append(String.format("%s %.2f ms (%.0f GF/s) | ", s, ts[N / 2] / 1e6, 2.0 * m * n * k / ts[N / 2]));
            }
            System.out.println(sb);
        }
        System.exit(0);
    }
}
