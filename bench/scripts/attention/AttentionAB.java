package dev.bertft.tensor.cpu;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Random;

/**
 * Attention before and after side by side in one JVM: {@code OldAttention} (the kernel classes of a
 * base commit, renamed by ab.sh) against the working tree's {@link Attention}, one thread, q/k/v
 * as views of one fused [B, T, 3·NH·HS] product and dout [B, T, NH·HS] as the model passes them,
 * the last key of each sequence padded, dropout 0.1. Rounds of (old forward, new forward, old
 * backward, new backward), the first dropped; CPU ms per call of the calling thread, best and
 * median of the rest. Then whether the two give the same bits, and each one's largest error
 * against attention in float64 over the first heads. Usage: AttentionAB B,NH,T,HS ... [-rounds R] [-p P].
 */
public final class AttentionAB {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    public static void main(String[] args) {
        int rounds = 5;
        double p = 0.1;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("-rounds")) rounds = Integer.parseInt(args[++i]);
            else if (args[i].equals("-p")) p = Double.parseDouble(args[++i]);
        }
        try (Parallel one = new Parallel(1)) {
            for (String shape : args) {
                if (!shape.contains(",")) continue;
                int[] s = Arrays.stream(shape.split(",")).mapToInt(Integer::parseInt).toArray();
                run(one, new Problem(s[0], s[1], s[2], s[3], p), rounds);
            }
        }
    }

    private static void run(Parallel pool, Problem pr, int rounds) {
        Result old = new Result(pr), now = new Result(pr);
        int calls = Math.max(1, (int) (2e8 / ((double) pr.b * pr.nh * pr.t * pr.t * pr.hs)));
        double[][] ms = new double[4][rounds];
        for (int r = 0; r < rounds; r++) {
            ms[0][r] = time(calls, () -> pr.oldForward(pool, old));
            ms[1][r] = time(calls, () -> pr.newForward(pool, now));
            ms[2][r] = time(calls, () -> pr.oldBackward(pool, old));
            ms[3][r] = time(calls, () -> pr.newBackward(pool, now));
        }
        double gflop = 4.0 * pr.b * pr.nh * pr.t * pr.t * pr.hs / 1e9;
        String[] what = {"fwd old", "fwd new", "bwd old", "bwd new"};
        StringBuilder line = new StringBuilder(String.format("(%d,%d,%d,%d) p=%.1f %d calls/round:", pr.b, pr.nh, pr.t, pr.hs, pr.p, calls));
        double[] best = new double[4];
        for (int w = 0; w < 4; w++) {
            double[] kept = Arrays.copyOfRange(ms[w], 1, rounds);
            Arrays.sort(kept);
            best[w] = kept[0];
            line.append(String.format(" %s %.3f (median %.3f, %.0f GF/s)", what[w], kept[0], kept[kept.length / 2],
                    gflop * (w < 2 ? 1 : 2) / kept[0] * 1e3));
        }
        line.append(String.format(" | new/old fwd %.2f bwd %.2f", best[1] / best[0], best[3] / best[2]));
        System.out.println(line);
        System.out.println("   raw ms: " + Arrays.deepToString(ms).replaceAll("(\\.\\d{3})\\d+", "$1"));
        System.out.println("   bits: " + old.sameBits(now) + "; max |error| vs float64, first heads: old " + pr.errors(old)
                + " | new " + pr.errors(now));
    }

    private static double time(int calls, Runnable call) {
        long t0 = THREADS.getCurrentThreadCpuTime();
        for (int i = 0; i < calls; i++) call.run();
        return (THREADS.getCurrentThreadCpuTime() - t0) / 1e6 / calls;
    }

    /** One kernel's outputs. */
    private static final class Result {
        final float[] out, lse, dq, dk, dv;
        final int[] kept;

        Result(Problem pr) {
            out = new float[pr.n];
            lse = new float[pr.b * pr.nh * pr.t];
            dq = new float[pr.n];
            dk = new float[pr.n];
            dv = new float[pr.n];
            kept = new int[pr.b * pr.nh * pr.t * Attention.wordsPerRow(pr.t)];
        }

        String sameBits(Result o) {
            StringBuilder s = new StringBuilder();
            s.append("out ").append(Arrays.equals(out, o.out) ? "same" : "DIFFER");
            s.append(", lse ").append(Arrays.equals(lse, o.lse) ? "same" : "DIFFER");
            s.append(", kept ").append(Arrays.equals(kept, o.kept) ? "same" : "DIFFER");
            s.append(", dq ").append(Arrays.equals(dq, o.dq) ? "same" : "DIFFER");
            s.append(", dk ").append(Arrays.equals(dk, o.dk) ? "same" : "DIFFER");
            s.append(", dv ").append(Arrays.equals(dv, o.dv) ? "same" : "DIFFER");
            return s.toString();
        }
    }

    private static final class Problem {
        final int b, nh, t, hs, n, h;
        final double p;
        final float scale;
        final float[] qkv, dout, mask;

        Problem(int b, int nh, int t, int hs, double p) {
            this.b = b;
            this.nh = nh;
            this.t = t;
            this.hs = hs;
            this.p = p;
            h = nh * hs;
            n = b * t * h;
            scale = (float) (1 / Math.sqrt(hs));
            Random r = new Random(t * 31L + hs);
            qkv = randn(r, 3 * n);
            dout = randn(r, n);
            mask = new float[b * t];
            for (int i = 0; i < b; i++) mask[i * t + t - 1] = -Float.MAX_VALUE;
        }

        Attention.Heads part(int which) {
            return new Attention.Heads(qkv, which * h, t * 3 * h, hs, 3 * h);
        }

        Attention.Heads heads(float[] a) {
            return new Attention.Heads(a, 0, t * h, hs, h);
        }

        OldAttention.Heads oldPart(int which) {
            return new OldAttention.Heads(qkv, which * h, t * 3 * h, hs, 3 * h);
        }

        OldAttention.Heads oldHeads(float[] a) {
            return new OldAttention.Heads(a, 0, t * h, hs, h);
        }

        void newForward(Parallel pool, Result x) {
            Attention.forward(pool, new Attention.Dims(b, nh, t, hs), part(0), part(1), part(2), mask, scale, p, 11, 3,
                    heads(x.out), x.lse, p > 0 ? x.kept : null);
        }

        void newBackward(Parallel pool, Result x) {
            Attention.backward(pool, new Attention.Dims(b, nh, t, hs), heads(dout), part(0), part(1), part(2), mask, x.lse, scale, p,
                    p > 0 ? x.kept : null, heads(x.dq), heads(x.dk), heads(x.dv));
        }

        void oldForward(Parallel pool, Result x) {
            OldAttention.forward(pool, new OldAttention.Dims(b, nh, t, hs), oldPart(0), oldPart(1), oldPart(2), mask, scale, p, 11, 3,
                    oldHeads(x.out), x.lse, p > 0 ? x.kept : null);
        }

        void oldBackward(Parallel pool, Result x) {
            OldAttention.backward(pool, new OldAttention.Dims(b, nh, t, hs), oldHeads(dout), oldPart(0), oldPart(1), oldPart(2), mask,
                    x.lse, scale, p, p > 0 ? x.kept : null, oldHeads(x.dq), oldHeads(x.dk), oldHeads(x.dv));
        }

        /** Element c of row i of head bh in a [B, T, 3H] (part 0–2) or [B, T, H] (part −1) array. */
        float at(int part, int bh, int i, int c) {
            if (part < 0) return dout[(bh / nh * t + i) * h + bh % nh * hs + c];
            return qkv[(bh / nh * t + i) * 3 * h + part * h + bh % nh * hs + c];
        }

        int outAt(int bh, int i, int c) {
            return (bh / nh * t + i) * h + bh % nh * hs + c;
        }

        /** Largest absolute error of out, dq, dk, dv over the first two heads against float64, the kept bits as recorded. */
        String errors(Result x) {
            double eo = 0, eq = 0, ek = 0, ev = 0, keep = 1 / (1 - p);
            int words = Attention.wordsPerRow(t);
            for (int bh = 0; bh < Math.min(2, b * nh); bh++) {
                double[][] prob = new double[t][t], drop = new double[t][t], dpd = new double[t][t], ds = new double[t][t];
                for (int i = 0; i < t; i++) {
                    double[] s = new double[t];
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int j = 0; j < t; j++) {
                        for (int c = 0; c < hs; c++) s[j] += (double) at(0, bh, i, c) * at(1, bh, j, c);
                        s[j] = s[j] * scale + mask[bh / nh * t + j];
                        max = Math.max(max, s[j]);
                    }
                    for (int j = 0; j < t; j++) sum += Math.exp(s[j] - max);
                    for (int j = 0; j < t; j++) {
                        prob[i][j] = Math.exp(s[j] - max) / sum;
                        boolean kept = p == 0 || (x.kept[(bh * t + i) * words + j / 32] >>> (j % 32) & 1) != 0;
                        drop[i][j] = kept ? keep : 0;
                        for (int c = 0; c < hs; c++) dpd[i][j] += (double) at(-1, bh, i, c) * at(2, bh, j, c);
                    }
                    double rowDot = 0;
                    for (int j = 0; j < t; j++) rowDot += prob[i][j] * dpd[i][j] * drop[i][j];
                    for (int j = 0; j < t; j++) ds[i][j] = prob[i][j] * (dpd[i][j] * drop[i][j] - rowDot) * scale;
                }
                for (int i = 0; i < t; i++) {
                    for (int c = 0; c < hs; c++) {
                        double o = 0, gq = 0, gk = 0, gv = 0;
                        for (int j = 0; j < t; j++) {
                            o += prob[i][j] * drop[i][j] * at(2, bh, j, c);
                            gq += ds[i][j] * at(1, bh, j, c);
                            gk += ds[j][i] * at(0, bh, j, c);
                            gv += prob[j][i] * drop[j][i] * at(-1, bh, j, c);
                        }
                        int o1 = outAt(bh, i, c);
                        eo = Math.max(eo, Math.abs(o - x.out[o1]));
                        eq = Math.max(eq, Math.abs(gq - x.dq[o1]));
                        ek = Math.max(ek, Math.abs(gk - x.dk[o1]));
                        ev = Math.max(ev, Math.abs(gv - x.dv[o1]));
                    }
                }
            }
            return String.format("out %.3g dq %.3g dk %.3g dv %.3g", eo, eq, ek, ev);
        }

        private static float[] randn(Random r, int n) {
            float[] a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
            return a;
        }
    }
}
