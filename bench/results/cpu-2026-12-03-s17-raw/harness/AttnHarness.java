// Scratch harness of session 17 (not built by Maven; javac against the jar, class path ahead of it): the fused attention at MiniLM 8x128 (contiguous heads, or as the model lays q, k, v out: 'model'): AttnHarness 8 32 200 2 model
package dev.bertft.tensor.cpu;

import java.util.Arrays;
import java.util.Random;

/** Scratch: the fused attention at MiniLM 8x128 (8 x 12 heads x 128 x 32), its parts timed. */
public class AttnHarness {
    public static void main(String[] args) {
        int b = Integer.parseInt(args[0]), nh = 12, t = 128, hs = Integer.parseInt(args[1]), iters = Integer.parseInt(args[2]);
        Parallel pool = new Parallel(Integer.parseInt(args[3]));
        Random r = new Random(1);
        int size = b * nh * t * hs;
        float[] q = rnd(r, size), k = rnd(r, size), v = rnd(r, size), dout = rnd(r, size), out = new float[size];
        float[] dq = new float[size], dk = new float[size], dv = new float[size], mask = new float[b * t];
        float[] lse = new float[b * nh * t];
        int[] kept = new int[b * nh * t * Attention.wordsPerRow(t)];
        Attention.Dims d = new Attention.Dims(b, nh, t, hs);
        Attention.Heads Q, K, V, O, dO, dQ, dK, dV;
        if (args.length > 4 && args[4].equals("model")) {
            // as the model lays them out: q, k, v in one [B, T, 3H] product, out and dout [B, T, H], grads into [B, T, 3H]
            int h = nh * hs;
            float[] qkv = rnd(r, b * t * 3 * h), g = new float[b * t * 3 * h];
            float[] o = new float[b * t * h], dof = rnd(r, b * t * h);
            Q = new Attention.Heads(qkv, 0, t * 3 * h, hs, 3 * h);
            K = new Attention.Heads(qkv, h, t * 3 * h, hs, 3 * h);
            V = new Attention.Heads(qkv, 2 * h, t * 3 * h, hs, 3 * h);
            dQ = new Attention.Heads(g, 0, t * 3 * h, hs, 3 * h);
            dK = new Attention.Heads(g, h, t * 3 * h, hs, 3 * h);
            dV = new Attention.Heads(g, 2 * h, t * 3 * h, hs, 3 * h);
            O = new Attention.Heads(o, 0, t * h, hs, h);
            dO = new Attention.Heads(dof, 0, t * h, hs, h);
        } else {
            Q = heads(q, nh, t, hs); K = heads(k, nh, t, hs); V = heads(v, nh, t, hs); O = heads(out, nh, t, hs);
            dO = heads(dout, nh, t, hs); dQ = heads(dq, nh, t, hs); dK = heads(dk, nh, t, hs); dV = heads(dv, nh, t, hs);
        }
        float scale = (float) (1 / Math.sqrt(hs));
        float[] s = new float[t * t], kT = new float[t * hs];
        String[] names = {"fwd p=0.1", "fwd p=0", "bwd p=0.1", "bwd p=0"};
        long[][] times = new long[names.length][iters];
        for (int it = 0; it < iters + 30; it++) {
            for (int w = 0; w < names.length; w++) {
                long st = System.nanoTime();
                switch (w) {
                    case 0 -> Attention.forward(pool, d, Q, K, V, mask, scale, 0.1, 42, it * 1000L, O, lse, kept);
                    case 1 -> Attention.forward(pool, d, Q, K, V, mask, scale, 0.0, 42, 0, O, lse, kept);
                    case 2 -> Attention.backward(pool, d, dO, Q, K, V, mask, lse, scale, 0.1, kept, dQ, dK, dV);
                    case 3 -> Attention.backward(pool, d, dO, Q, K, V, mask, lse, scale, 0.0, kept, dQ, dK, dV);
                    default -> {
                        for (int bh = 0; bh < b * nh; bh++) {
                            K.gatherTransposed(bh, d, kT);
                            HeadProduct.product(t, t, hs, q, bh * t * hs, hs, false, kT, 0, t, s, 0, t);
                            HeadProduct.product(t, hs, t, s, 0, t, false, v, bh * t * hs, hs, out, bh * t * hs, hs);
                        }
                    }
                }
                if (it >= 30) times[w][it - 30] = System.nanoTime() - st;
            }
        }
        for (int w = 0; w < names.length; w++) {
            long[] a = times[w].clone();
            Arrays.sort(a);
            System.out.printf("%-30s median %.3f ms (p25 %.3f p75 %.3f)%n", names[w], a[a.length / 2] / 1e6, a[a.length / 4] / 1e6, a[3 * a.length / 4] / 1e6);
        }
        pool.close();
    }

    static Attention.Heads heads(float[] a, int nh, int t, int hs) {
        return new Attention.Heads(a, 0, nh * t * hs, t * hs, hs);
    }

    static float[] rnd(Random r, int size) {
        float[] a = new float[size];
        for (int i = 0; i < size; i++) a[i] = r.nextFloat() - 0.5f;
        return a;
    }
}
