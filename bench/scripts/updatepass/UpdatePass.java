import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The per-step pass over all parameters of MiniLM-L6 (22.7 M) as UpdateStep runs it on the CPU:
 * updateGuard (loss, norm, clip coefficient) then AdamW over the decay and no-decay groups, with
 * gradients whose norm is clipped. Loaded once per jar by UpdatePassAB, so both run in one JVM.
 */
public final class UpdatePass {
    private final CpuBackend cpu;
    private final List<List<Tensor>> p = new ArrayList<>(), g = new ArrayList<>(), m = new ArrayList<>(), v = new ArrayList<>();
    private final List<Tensor> allGrads = new ArrayList<>();
    private final Tensor loss;
    private long step;

    public UpdatePass(int threads) {
        cpu = new CpuBackend(threads);
        int h = 384, f = 1536;
        List<int[]> decay = new ArrayList<>(), plain = new ArrayList<>();
        decay.add(new int[] {30522, h});
        decay.add(new int[] {512, h});
        decay.add(new int[] {2, h});
        plain.add(new int[] {h});
        plain.add(new int[] {h});
        for (int layer = 0; layer < 6; layer++) {
            for (int i = 0; i < 4; i++) {
                decay.add(new int[] {h, h});
                plain.add(new int[] {h});
            }
            decay.add(new int[] {f, h});
            plain.add(new int[] {f});
            decay.add(new int[] {h, f});
            plain.add(new int[] {h});
            for (int i = 0; i < 4; i++) plain.add(new int[] {h});
        }
        decay.add(new int[] {h, h});
        plain.add(new int[] {h});
        decay.add(new int[] {2, h});
        plain.add(new int[] {2});
        Random r = new Random(1);
        for (List<int[]> group : List.of(decay, plain)) {
            List<Tensor> pg = new ArrayList<>(), gg = new ArrayList<>(), mg = new ArrayList<>(), vg = new ArrayList<>();
            for (int[] shape : group) {
                pg.add(random(r, shape, 0.05f));
                gg.add(random(r, shape, 0.01f));
                mg.add(cpu.zeros(DType.F32, shape));
                vg.add(cpu.zeros(DType.F32, shape));
            }
            p.add(pg);
            g.add(gg);
            m.add(mg);
            v.add(vg);
            allGrads.addAll(gg);
        }
        loss = cpu.fromHost(new float[] {0.7f}, DType.F32);
    }

    private Tensor random(Random r, int[] shape, float scale) {
        float[] a = new float[Tensor.numel(shape)];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextGaussian() * scale;
        return cpu.fromHost(a, DType.F32, shape);
    }

    /** {process CPU ns, wall ns, bytes allocated by this thread} for {@code rounds} update passes. */
    public long[] run(int rounds) {
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long cpu0 = os.getProcessCpuTime(), wall0 = System.nanoTime(), alloc0 = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < rounds; i++) {
            // the gradients as a backward pass leaves them: the old pass clips them in place
            Tensor guard = cpu.updateGuard(List.of(loss), allGrads, 1.0);
            step++;
            for (int k = 0; k < 2; k++) {
                cpu.adamW(p.get(k), g.get(k), m.get(k), v.get(k), new Backend.AdamWStep(2e-5, 0.9, 0.999, 1e-8, k == 0 ? 0.01 : 0, step), guard);
            }
            ((double[]) guard.toHost()).clone();
        }
        return new long[] {os.getProcessCpuTime() - cpu0, System.nanoTime() - wall0, threads.getCurrentThreadAllocatedBytes() - alloc0};
    }
}
