package dev.bertft.bench;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Exact per-call times of the CPU backend's ops in the sequence a MiniLM step (H = 384, I = 1536,
 * 6 layers) calls them, outside the model: each call wrapped in nanoTime, so a per-call cost that
 * sampling spreads over the neighbouring frames shows as it is. Attention is left out (its own
 * kernel); the Linear products stay in, so the pool sees the alternation of GEMMs and row ops
 * that a real step makes.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.bertft.bench.SmallStepOps
 *     train|predict BATCH SEQ THREADS [STEPS [WARMUP]]</pre>
 */
public final class SmallStepOps {
    private static final int H = 384, I = 1536, LAYERS = 6, VOCAB = 30522;
    private static final double P = 0.1, EPS = 1e-12;

    private final Backend cpu;
    private final boolean train;
    private final double p;
    private final Map<String, long[]> times = new LinkedHashMap<>(); // op → {wall nanos, calls, caller's CPU nanos}
    private final Tensor wQkv, bQkv, wO, bO, wUp, bUp, wDown, bDown, gamma, beta, emb;

    private SmallStepOps(Backend cpu, boolean train) {
        this.cpu = cpu;
        this.train = train;
        this.p = train ? P : 0;
        Random rnd = new Random(1);
        wQkv = random(rnd, 3 * H, H);
        bQkv = random(rnd, 3 * H);
        wO = random(rnd, H, H);
        bO = random(rnd, H);
        wUp = random(rnd, I, H);
        bUp = random(rnd, I);
        wDown = random(rnd, H, I);
        bDown = random(rnd, H);
        gamma = random(rnd, H);
        beta = random(rnd, H);
        emb = random(rnd, VOCAB, H);
    }

    private Tensor random(Random rnd, int... shape) {
        int n = 1;
        for (int s : shape) n *= s;
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rnd.nextGaussian() * 0.05f;
        return Tensor.of(cpu, a, shape);
    }

    private <T> T time(String op, Supplier<T> call) {
        long c0 = CpuTimeCounters.now(), t0 = System.nanoTime();
        T out = call.get();
        long t1 = System.nanoTime(), c1 = CpuTimeCounters.now();
        long[] acc = times.computeIfAbsent(op, k -> new long[3]);
        acc[0] += t1 - t0;
        acc[1]++;
        acc[2] += c1 - c0;
        return out;
    }

    /** One step's non-attention ops: embedding, 6 layers forward, and in training their backward. */
    private void step(Tensor ids, long seed) {
        try (Backend.Scope scope = cpu.openScope()) {
            Tensor x = time("embedding", () -> cpu.embedding(emb, ids)).reshape(-1, H);
            Backend.ResidualNormOut[] n1 = new Backend.ResidualNormOut[LAYERS], n2 = new Backend.ResidualNormOut[LAYERS];
            Tensor[] in = new Tensor[LAYERS], up = new Tensor[LAYERS], act = new Tensor[LAYERS];
            for (int l = 0; l < LAYERS; l++) {
                Tensor xl = x;
                in[l] = xl;
                time("linear", () -> cpu.linear(xl, wQkv, bQkv));
                Tensor o = time("linear", () -> cpu.linear(xl, wO, bO));
                n1[l] = time("dropoutAddLayerNorm", () -> cpu.dropoutAddLayerNorm(o, xl, gamma, beta, EPS, p, seed, 0));
                Tensor y1 = n1[l].y();
                up[l] = time("linear", () -> cpu.linear(y1, wUp, null));
                Tensor u = up[l];
                act[l] = time("biasGelu", () -> cpu.biasGelu(u, bUp));
                Tensor a = act[l];
                Tensor down = time("linear", () -> cpu.linear(a, wDown, bDown));
                n2[l] = time("dropoutAddLayerNorm", () -> cpu.dropoutAddLayerNorm(down, y1, gamma, beta, EPS, p, seed, 1));
                x = n2[l].y();
            }
            if (!train) return;
            Tensor g = x;
            for (int l = LAYERS - 1; l >= 0; l--) {
                Tensor gl = g, y1 = n1[l].y(), a = act[l], u = up[l], xl = in[l];
                Backend.ResidualNormOut f2 = n2[l], f1 = n1[l];
                Backend.ResidualNormGrads d2 = time("dropoutAddLayerNormBackward",
                        () -> cpu.dropoutAddLayerNormBackward(gl, f2, gamma, p, seed, 1));
                time("linearGrads", () -> cpu.linearGrads(d2.dx(), a, DType.F32));
                Tensor dAct = time("matmul", () -> cpu.matmul(d2.dx(), wDown));
                Tensor dUp = time("biasGeluBackward", () -> cpu.biasGeluBackward(u, bUp, dAct));
                time("linearGrads", () -> cpu.linearGrads(dUp, y1, DType.F32));
                Tensor dY1 = time("matmul", () -> cpu.matmul(dUp, wUp));
                time("addInPlace", () -> {
                    cpu.addInPlace(dY1, d2.dresidual(), 1);
                    return null;
                });
                Backend.ResidualNormGrads d1 = time("dropoutAddLayerNormBackward",
                        () -> cpu.dropoutAddLayerNormBackward(dY1, f1, gamma, p, seed, 0));
                time("linearGrads", () -> cpu.linearGrads(d1.dx(), xl, DType.F32));
                Tensor dx = time("matmul", () -> cpu.matmul(d1.dx(), wO));
                time("addInPlace", () -> {
                    cpu.addInPlace(dx, d1.dresidual(), 1);
                    return null;
                });
                g = dx;
            }
            Tensor dEmb = g;
            time("embeddingBackward", () -> cpu.embeddingBackward(ids, dEmb, VOCAB));
        }
    }

    public static void main(String[] args) {
        boolean train = args[0].equals("train");
        int batch = Integer.parseInt(args[1]), seq = Integer.parseInt(args[2]), threads = Integer.parseInt(args[3]);
        int steps = args.length > 4 ? Integer.parseInt(args[4]) : 200, warmup = args.length > 5 ? Integer.parseInt(args[5]) : steps;
        CpuBackend cpu = new CpuBackend(threads);
        SmallStepOps s = new SmallStepOps(cpu, train);
        int[] idv = new int[batch * seq];
        for (int i = 0; i < idv.length; i++) idv[i] = (i * 7919) % VOCAB;
        Tensor ids = Tensor.of(cpu, idv, batch, seq);
        for (int i = 0; i < warmup; i++) s.step(ids, i); // warm-up: compiled, pool settled
        s.times.clear();
        long t0 = System.nanoTime();
        for (int i = 0; i < steps; i++) s.step(ids, i);
        double stepMs = (System.nanoTime() - t0) / 1e6 / steps;
        System.out.printf(Locale.ROOT, "%s %dx%d, %d threads, %d steps after %d warm-up steps: %.2f ms a step (attention left out)%n",
                args[0], batch, seq, threads, steps, warmup, stepMs);
        System.out.println("| op | calls/step | wall µs/call | caller CPU µs/call | wall ms/step |\n|---|---:|---:|---:|---:|");
        s.times.forEach((op, t) -> System.out.printf(Locale.ROOT, "| %s | %d | %.1f | %.1f | %.3f |%n",
                op, t[1] / steps, t[0] / 1e3 / t[1], t[2] / 1e3 / t[1], t[0] / 1e6 / steps));
        System.exit(0);
    }
}
