package dev.bertft.autograd;

import dev.bertft.cuda.CudaBackend;
import dev.bertft.cuda.KernelEmulator;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A backward pass on the emulated GPU frees each gradient once no node waits for it: through a
 * chain of twelve ops the pass never holds more than a few gradients at once, where keeping them
 * all to the end of the step would hold twelve. Gradients shared as views (reshape, transpose,
 * concat's pieces, add's two inputs) live until their last reader has run: the parameters'
 * gradients equal the CPU's, which frees nothing.
 */
class EmulatedGradientMemoryTest {
    private static final int N = 1 << 16; // 256 KiB per float tensor
    private static final CpuBackend CPU = new CpuBackend(1);

    /** x → twelve ops, some of whose backwards pass views of their gradient on, two of them to two inputs at once. */
    private static Var chain(Var x, Var w) {
        Var y = x.mul(1.5).tanh().reshape(256, 256).transpose(0, 1).mul(w).contiguous();
        Var halves = Var.concat(List.of(y.narrow(0, 0, 128).exp(), y.narrow(0, 128, 128).mul(0.5)), 0);
        return halves.add(y).tanh().mul(2.0).sum();
    }

    /** x and w as parameters on {@code on}, from seeded normal values (the same for equal seeds). */
    private static Var[] parameters(Backend on, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[N], w = new float[N];
        for (int i = 0; i < N; i++) {
            x[i] = (float) r.nextGaussian() * 0.5f;
            w[i] = (float) r.nextGaussian() * 0.5f;
        }
        return new Var[] {Var.parameter(Tensor.of(on, x, N)), Var.parameter(Tensor.of(on, w, 256, 256))};
    }

    /** The CPU's gradients of x and w, which nothing frees early. */
    private static float[][] cpuGradients(long seed) {
        Var[] p = parameters(CPU, seed);
        chain(p[0], p[1]).backward();
        return new float[][] {p[0].grad().toFloatArray(), p[1].grad().toFloatArray()};
    }

    @Test
    void aBackwardPassFreesEachGradientAfterItsLastUse() {
        CudaBackend gpu = KernelEmulator.freshBackend();
        float[][] expected = cpuGradients(1);
        Var[] p = parameters(gpu, 1);
        try (Backend.Scope step = gpu.openScope()) {
            Var loss = chain(p[0], p[1]);
            long forward = gpu.memoryStats().inUseBytes();
            loss.backward();
            long peak = gpu.memoryStats().peakInUseBytes(), tensor = 4L * N;
            assertTrue(peak - forward <= 6 * tensor, "the pass held " + (peak - forward) / tensor + " tensors' worth at once");
            assertArrayEquals(expected[0], p[0].grad().toFloatArray(), 1e-5f, "x's gradient");
            assertArrayEquals(expected[1], p[1].grad().toFloatArray(), 1e-5f, "w's gradient");
            step.keep(p[0].grad());
        }
        assertArrayEquals(expected[0], p[0].grad().toFloatArray(), 1e-5f, "a kept gradient outlives the step");
        assertThrows(IllegalStateException.class, () -> p[1].grad().toFloatArray(), "the other went with the step's scope");
    }

    /** With no scope open around it the pass still frees its gradients, and the leaves' stay for the collector. */
    @Test
    void withoutAnEnclosingScopeTheLeavesGradientsStay() {
        CudaBackend gpu = KernelEmulator.freshBackend();
        float[][] expected = cpuGradients(2);
        Var[] p = parameters(gpu, 2);
        Var loss = chain(p[0], p[1]);
        long forward = gpu.memoryStats().inUseBytes();
        loss.backward();
        long kept = gpu.memoryStats().inUseBytes() - forward;
        assertTrue(kept >= 2 * 4L * N && kept <= 2 * 4L * N + 4096, "the two leaves' gradients and the seed stayed: " + kept + " bytes");
        assertArrayEquals(expected[0], p[0].grad().toFloatArray(), 1e-5f);
        assertArrayEquals(expected[1], p[1].grad().toFloatArray(), 1e-5f);
    }
}
