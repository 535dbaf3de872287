// Scratch harness of session 15 (not built by Maven): attention forward (dropout 0 and 0.1) and backward at MiniLM's
// heads (NH 12, HS 32) from a fused [B, T, 3H] projection, 2 threads, medians of 40 calls.
import dev.bertft.tensor.*;
import dev.bertft.tensor.cpu.CpuBackend;
import java.util.*;

public class AttnBench {
    public static void main(String[] args) {
        CpuBackend be = new CpuBackend(2);
        int b = Integer.getInteger("b", 8), t = Integer.getInteger("t", 128), nh = 12, hs = 32, h = nh * hs;
        Random r = new Random(1);
        float[] a = new float[b * t * 3 * h];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian();
        Tensor qkv = Tensor.of(be, a, b, t, 3 * h);
        Tensor[] heads = new Tensor[3];
        for (int p = 0; p < 3; p++) heads[p] = qkv.narrow(2, p * h, h).reshape(b, t, nh, hs).permute(0, 2, 1, 3);
        Tensor mask = be.zeros(DType.F32, b, t);
        float[] g = new float[b * t * h];
        for (int i = 0; i < g.length; i++) g[i] = (float) r.nextGaussian();
        Tensor dOut = Tensor.of(be, g, b, t, nh, hs).permute(0, 2, 1, 3);
        double scale = 1 / Math.sqrt(hs);
        for (int rep = 0; rep < Integer.getInteger("reps", 3); rep++) {
            for (double p : new double[] {0.0, 0.1}) {
                long[] f = new long[40], bw = new long[40];
                for (int i = 0; i < 40; i++) {
                    long t0 = System.nanoTime();
                    Backend.AttentionOut out = be.attention(heads[0], heads[1], heads[2], mask, scale, p, 7, i * 1000L);
                    long t1 = System.nanoTime();
                    be.packedAttentionBackward(dOut, heads[0], heads[1], heads[2], mask, out, scale, p, 7, i * 1000L, false);
                    long t2 = System.nanoTime();
                    f[i] = t1 - t0; bw[i] = t2 - t1;
                }
                Arrays.sort(f); Arrays.sort(bw);
                System.out.printf("B=%d T=%d p=%.1f: forward %.3f ms, backward %.3f ms (medians; x6 layers: %.1f ms)%n", b, t, p,
                        f[20] / 1e6, bw[20] / 1e6, 6 * (f[20] + bw[20]) / 1e6);
            }
        }
        System.exit(0);
    }
}
