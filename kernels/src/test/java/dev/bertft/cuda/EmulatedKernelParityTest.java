package dev.bertft.cuda;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The GPU parity tests with every kernel run from its CUDA source on the CPU emulator
 * ({@link KernelEmulator}): what the GPU will compute, short of timing and the last bits of
 * its math library, checked on every build.
 */
class EmulatedKernelParityTest extends CudaParityTest {
    @Override
    CudaBackend backend() {
        return KernelEmulator.backend();
    }

    @AfterEach
    void stopLogging() {
        KernelEmulator.restore();
    }

    /** The GELU epilogues are one GEMM launch each: no bias_gelu (or gelu_backward) kernel, no pass over the product. */
    @Test
    void geluEpiloguesAreOneLaunchEach() {
        CudaBackend gpu = backend();
        CpuBackend cpu = new CpuBackend(1);
        Random rnd = new Random(3);
        Tensor x = random(cpu, rnd, 2, 9, 16).to(gpu), w1 = random(cpu, rnd, 40, 16).to(gpu), b1 = random(cpu, rnd, 40).to(gpu);
        Tensor w2 = random(cpu, rnd, 16, 40).to(gpu), dz = random(cpu, rnd, 2, 9, 16).to(gpu);
        List<KernelEmulator.Launch> launches = new ArrayList<>();
        KernelEmulator.logLaunches(launches);
        Backend.LinearGelu forward = gpu.linearGelu(x, w1, b1, true);
        assertEquals(List.of("sgemm_tf32_nt"), names(launches), "a Linear and its GELU");
        launches.clear();
        gpu.linearGelu(x, w1, b1, false);
        assertEquals(List.of("sgemm_tf32_nt"), names(launches), "GELU over the product");
        launches.clear();
        gpu.matmulGeluBackward(dz, w2, forward.saved());
        assertEquals(List.of("sgemm_tf32_nn"), names(launches), "GELU's derivative in the input gradient");
        Tensor dzh = dz.cast(DType.BF16), w2h = w2.cast(DType.BF16), pre = gpu.linear(x, w1, b1).cast(DType.BF16);
        launches.clear();
        gpu.matmulGeluBackward(dzh, w2h, Backend.GeluSaved.ofHalfPre(pre));
        assertEquals(List.of("hgemm_bf16_nn_bf16"), names(launches), "GELU's derivative in autocast's input gradient");
    }

    /**
     * A Linear's input gradient added to a residual's is one GEMM launch (TF32, and BF16 with float32
     * sums), or where K is split the pieces and the kernel that adds them and the addend: no binary_f32.
     */
    @Test
    void matmulAddIsTheProductsLaunchesOnly() {
        CudaBackend gpu = backend();
        CpuBackend cpu = new CpuBackend(1);
        Random rnd = new Random(5);
        Tensor g = random(cpu, rnd, 2, 9, 40).to(gpu), w = random(cpu, rnd, 40, 16).to(gpu), onto = random(cpu, rnd, 2, 9, 16).to(gpu);
        Tensor longG = random(cpu, rnd, 8, 1000).to(gpu), longW = random(cpu, rnd, 1000, 16).to(gpu), longOnto = random(cpu, rnd, 8, 16).to(gpu);
        List<KernelEmulator.Launch> launches = new ArrayList<>();
        KernelEmulator.logLaunches(launches);
        gpu.matmulAdd(g, w, onto);
        assertEquals(List.of("sgemm_tf32_nn"), names(launches), "TF32");
        Tensor gh = g.cast(DType.BF16), wh = w.cast(DType.BF16);
        launches.clear();
        gpu.matmulAdd(gh, wh, onto);
        assertEquals(List.of("hgemm_bf16_nn_f32"), names(launches), "BF16 operands");
        launches.clear();
        gpu.matmulAdd(longG, longW, longOnto);
        assertEquals(List.of("sgemm_tf32_nn", "splitk_sum"), names(launches), "TF32, K split");
    }

    private static List<String> names(List<KernelEmulator.Launch> launches) {
        return launches.stream().map(KernelEmulator.Launch::kernel).toList();
    }

    private static Tensor random(CpuBackend cpu, Random rnd, int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) rnd.nextGaussian();
        return cpu.fromHost(a, DType.F32, shape);
    }
}
