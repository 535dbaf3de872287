package dev.bertft.autograd;

import dev.bertft.cuda.CudaBackend;
import dev.bertft.cuda.KernelEmulator;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
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

    private static float[] random(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[N];
        for (int i = 0; i < N; i++) v[i] = (float) r.nextGaussian() * 0.5f;
        return v;
    }

    @Test
    void aBackwardPassFreesEachGradientAfterItsLastUse() {
        CudaBackend gpu = KernelEmulator.freshBackend();
        float[] xs = random(1), ws = random(2);
        Var cx = Var.parameter(Tensor.of(CPU, xs, N)), cw = Var.parameter(Tensor.of(CPU, ws, 256, 256));
        chain(cx, cw).backward();

        Var gx = Var.parameter(Tensor.of(gpu, xs, N)), gw = Var.parameter(Tensor.of(gpu, ws, 256, 256));
        try (Backend.Scope step = gpu.openScope()) {
            Var loss = chain(gx, gw);
            long forward = gpu.memoryStats().inUseBytes();
            loss.backward();
            long peak = gpu.memoryStats().peakInUseBytes(), tensor = 4L * N;
            assertTrue(peak - forward <= 6 * tensor, "the pass held " + (peak - forward) / tensor + " tensors' worth at once");
            assertArrayEquals(cx.grad().toFloatArray(), gx.grad().toFloatArray(), 1e-5f, "x's gradient");
            assertArrayEquals(cw.grad().toFloatArray(), gw.grad().toFloatArray(), 1e-5f, "w's gradient");
            step.keep(gx.grad());
        }
        assertArrayEquals(cx.grad().toFloatArray(), gx.grad().toFloatArray(), 1e-5f, "a kept gradient outlives the step");
        assertThrows(IllegalStateException.class, () -> gw.grad().toFloatArray(), "the other went with the step's scope");
    }

    /** With no scope open around it the pass still frees its gradients, and the leaves' stay for the collector. */
    @Test
    void withoutAnEnclosingScopeTheLeavesGradientsStay() {
        CudaBackend gpu = KernelEmulator.freshBackend();
        float[] xs = random(3), ws = random(4);
        Var cx = Var.parameter(Tensor.of(CPU, xs, N)), cw = Var.parameter(Tensor.of(CPU, ws, 256, 256));
        chain(cx, cw).backward();
        Var gx = Var.parameter(Tensor.of(gpu, xs, N)), gw = Var.parameter(Tensor.of(gpu, ws, 256, 256));
        Var loss = chain(gx, gw);
        long forward = gpu.memoryStats().inUseBytes();
        loss.backward();
        long kept = gpu.memoryStats().inUseBytes() - forward;
        assertTrue(kept >= 2 * 4L * N && kept <= 2 * 4L * N + 4096, "the two leaves' gradients and the seed stayed: " + kept + " bytes");
        assertArrayEquals(cx.grad().toFloatArray(), gx.grad().toFloatArray(), 1e-5f);
        assertArrayEquals(cw.grad().toFloatArray(), gw.grad().toFloatArray(), 1e-5f);
    }
}
