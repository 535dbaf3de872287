package dev.bertft.cuda;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Ops;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every Backend op on the GPU against the CPU backend, the reference: float32 ops to 1e-5
 * relative (with a small absolute floor for values near zero), float64 to 1e-10, TF32 GEMMs
 * within the bound of operands truncated to 10 mantissa bits, dropout masks and gathers bit for bit, and the deterministic
 * reductions bit-identical from run to run. Skipped, with the reason, where no GPU is usable.
 */
class CudaParityTest {
    private static final CpuBackend CPU = new CpuBackend(2);
    private CudaBackend gpu;
    private final Random random = new Random(12345);

    @BeforeEach
    void gpu() {
        gpu = backend();
    }

    /** The backend under test: the GPU here, the kernels on the CPU emulator in {@link EmulatedKernelParityTest}. */
    CudaBackend backend() {
        return Gpu.require();
    }

    // ---- helpers ------------------------------------------------------------------------------

    private Tensor randn(DType dtype, int... shape) {
        int n = Tensor.numel(shape);
        if (dtype == DType.F64) {
            double[] d = new double[n];
            for (int i = 0; i < n; i++) d[i] = random.nextGaussian();
            return CPU.fromHost(d, dtype, shape);
        }
        float[] f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float) random.nextGaussian();
        return CPU.fromHost(f, dtype, shape);
    }

    private Tensor positive(DType dtype, int... shape) {
        return randn(dtype, shape).unary(Ops.Unary.ABS).add(0.1);
    }

    private Tensor onGpu(Tensor t) {
        return t.to(gpu);
    }

    /** |gpu − cpu| ≤ rtol·|cpu| + atol elementwise, same shape. */
    private static void assertClose(Tensor expected, Tensor actual, double rtol, double atol, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        double[] e = expected.toDoubleArray(), a = actual.toDoubleArray();
        for (int i = 0; i < e.length; i++) {
            if (Double.isNaN(e[i]) && Double.isNaN(a[i])) continue;
            if (e[i] == a[i]) continue;
            double tol = rtol * Math.abs(e[i]) + atol;
            if (!(Math.abs(e[i] - a[i]) <= tol)) fail(what + ": element " + i + " cpu " + e[i] + " gpu " + a[i] + " (tolerance " + tol + ")");
        }
    }

    private static void assertClose(Tensor expected, Tensor actual, String what) {
        boolean f64 = expected.dtype() == DType.F64;
        assertClose(expected, actual, f64 ? 1e-10 : 1e-5, f64 ? 1e-12 : 1e-6, what);
    }

    /** TF32 products: error relative to the scale of the output, 1e-3. */
    private static void assertCloseScaled(Tensor expected, Tensor actual, double rtol, String what) {
        double scale = 0;
        for (double v : expected.toDoubleArray()) scale = Math.max(scale, Math.abs(v));
        assertClose(expected, actual, 0, rtol * Math.max(scale, 1e-30), what);
    }

    private static void assertBitwise(Tensor expected, Tensor actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        Object e = expected.toHost(), a = actual.toHost();
        if (e instanceof float[] f) {
            float[] g = (float[]) a;
            // NaN for NaN, payload aside: on the H200 the GPU's F16 -> F32 conversion did not keep the payload
            // the CPU keeps (2026-12-04), and neither PyTorch nor HF reads a NaN's bits
            for (int i = 0; i < f.length; i++) {
                boolean same = Float.isNaN(f[i]) ? Float.isNaN(g[i]) : Float.floatToRawIntBits(f[i]) == Float.floatToRawIntBits(g[i]);
                if (!same) fail(what + ": element " + i + " cpu " + f[i] + " gpu " + g[i]);
            }
        } else if (e instanceof double[] d) {
            assertArrayEquals(d, (double[]) a, 0.0, what);
        } else if (e instanceof short[] h) {
            assertArrayEquals(h, (short[]) a, what);
        } else {
            assertArrayEquals((int[]) e, (int[]) a, what);
        }
    }

    private static final DType[] FLOATS = {DType.F32, DType.F64};

    // ---- memory -------------------------------------------------------------------------------

    @Test
    void hostRoundTripsAreExactIncludingTransfersLargerThanTheStagingBuffer() {
        int big = (int) (PinnedStaging.CAPACITY / 4) * 2 + 12345; // more than two staging chunks of floats
        float[] f = new float[big];
        for (int i = 0; i < big; i++) f[i] = i * 0.5f - 7;
        assertArrayEquals(f, (float[]) gpu.toHost(gpu.fromHost(f, DType.F32, big)));
        double[] d = {1, -2.5, Double.MIN_VALUE, Double.MAX_VALUE, Double.NaN};
        assertArrayEquals(d, (double[]) gpu.toHost(gpu.fromHost(d, DType.F64, 5)));
        int[] n = {0, -1, Integer.MAX_VALUE, Integer.MIN_VALUE};
        assertArrayEquals(n, (int[]) gpu.toHost(gpu.fromHost(n, DType.I32, 2, 2)));
        assertArrayEquals(new float[0], (float[]) gpu.toHost(gpu.zeros(DType.F32, 0, 3)));
    }

    @Test
    void zerosFullContiguousAndCasts() {
        for (DType t : DType.values()) {
            assertBitwise(CPU.zeros(t, 3, 5), gpu.zeros(t, 3, 5), "zeros " + t);
            assertBitwise(CPU.full(t, new int[] {7, 3}, -2.75), gpu.full(t, new int[] {7, 3}, -2.75), "full " + t);
        }
        Tensor x = randn(DType.F32, 4, 5, 6);
        Tensor gx = onGpu(x);
        assertBitwise(x.permute(2, 0, 1).contiguous(), gx.permute(2, 0, 1).contiguous(), "permuted contiguous");
        assertBitwise(x.narrow(1, 1, 3).transpose(0, 2).contiguous(), gx.narrow(1, 1, 3).transpose(0, 2).contiguous(), "narrowed");
        assertBitwise(x.select(0, 2).unsqueeze(0).expand(3, 5, 6).contiguous(), gx.select(0, 2).unsqueeze(0).expand(3, 5, 6).contiguous(), "expanded");
        // with, for BF16 and F16, ties on either side of an even neighbour, overflow, subnormals
        float[] special = {1.5f, -1.5f, Float.NaN, 3e9f, -3e9f, 0.99f, -0.99f, 1 + 0x1p-8f, 1 + 0x3p-8f, 1 + 0x1p-11f, 1 + 0x3p-11f,
                65520f, 65519.99f, 0x1.8p-24f, 0x1p-25f, -0x1.8p-25f, Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_NORMAL};
        Tensor s = CPU.fromHost(special, DType.F32, special.length);
        for (DType from : DType.values()) {
            for (DType to : DType.values()) {
                if (from == to) continue;
                Tensor src = from == DType.F32 ? s : s.cast(from);
                assertBitwise(src.cast(to), onGpu(src).cast(to), "cast " + from + " -> " + to);
            }
        }
    }

    // ---- pointwise ----------------------------------------------------------------------------

    @Test
    void unaryScalarAndGeluBackward() {
        for (DType t : FLOATS) {
            Tensor x = randn(t, 33, 17), p = positive(t, 33, 17);
            for (Ops.Unary op : Ops.Unary.values()) {
                Tensor in = op == Ops.Unary.LOG || op == Ops.Unary.SQRT ? p : x;
                assertClose(in.unary(op), onGpu(in).unary(op), "unary " + op + " " + t);
            }
            for (Ops.Scalar op : Ops.Scalar.values()) {
                Tensor in = op == Ops.Scalar.POW || op == Ops.Scalar.RDIV ? p : x;
                assertClose(in.scalarOp(op, 1.7), onGpu(in).scalarOp(op, 1.7), "scalar " + op + " " + t);
            }
            Tensor dy = randn(t, 33, 17);
            assertClose(CPU.geluBackward(x, dy), gpu.geluBackward(onGpu(x), onGpu(dy)), "gelu backward " + t);
        }
    }

    @Test
    void biasGeluAndItsBackward() {
        for (DType t : FLOATS) {
            for (int[] shape : new int[][] {{2, 5, 96}, {7, 33}, {3, 1}}) {
                int n = shape[shape.length - 1];
                Tensor x = randn(t, shape).mul(2), bias = randn(t, n), dy = randn(t, shape);
                String what = "bias+gelu " + Arrays.toString(shape) + " " + t;
                assertClose(CPU.biasGelu(x, bias), gpu.biasGelu(onGpu(x), onGpu(bias)), what);
                assertClose(CPU.biasGeluBackward(x, bias, dy), gpu.biasGeluBackward(onGpu(x), onGpu(bias), onGpu(dy)), what + " backward");
            }
        }
    }

    /**
     * A Linear layer and its GELU from one product, GELU written beside the product or over it,
     * and GELU's derivative applied inside the next Linear's input gradient: the bits of the TF32
     * product followed by the bias_gelu kernels. Tiles past the first and ragged ones (m and n not
     * multiples of 128 or of 4), a batch of sequences made one tall product.
     */
    @Test
    void geluEpiloguesGiveTheBitsOfTheProductThenTheGeluKernels() {
        for (int[] s : new int[][] {{2, 70, 48, 200}, {1, 33, 37, 129}, {3, 5, 64, 7}}) {
            int batch = s[0], tokens = s[1], hidden = s[2], inner = s[3];
            Tensor x = onGpu(randn(DType.F32, batch, tokens, hidden)), w1 = onGpu(randn(DType.F32, inner, hidden));
            Tensor b1 = onGpu(randn(DType.F32, inner)), w2 = onGpu(randn(DType.F32, hidden, inner));
            Tensor dz = onGpu(randn(DType.F32, batch, tokens, hidden));
            String what = "tokens " + batch + " x " + tokens + ", " + hidden + " -> " + inner;
            Tensor product = gpu.linear(x, w1, null);
            Tensor y = gpu.biasGelu(product, b1);
            Backend.LinearGelu kept = gpu.linearGelu(x, w1, b1, true);
            assertBitwise(product, kept.saved().product(), what + ": product");
            assertBitwise(y, kept.y(), what + ": GELU");
            assertBitwise(y, gpu.linearGelu(x, w1, b1, false).y(), what + ": GELU over the product");
            assertBitwise(gpu.biasGeluBackward(product, b1, dz.matmul(w2)), gpu.matmulGeluBackward(dz, w2, kept.saved()),
                    what + ": GELU's derivative");
        }
    }

    /**
     * Under autocast, GELU's derivative taken in the input-gradient product of the Linear after it
     * (dz·W2 summed in float32, times GELU' of the half pre-activation, rounded once): the bits of
     * the float32 product followed by GELU's backward kernel, for a width with a ragged last tile
     * (304) and one whose rows are not on 16 bytes (37: the ops composed, as the half kernels have
     * the epilogue in their 16-byte-copy form only), a batch of sequences made one tall product.
     */
    @Test
    void halfGeluDerivativeInTheInputGradientProductGivesTheBitsOfTheProductThenTheKernel() {
        for (DType h : new DType[] {DType.BF16, DType.F16}) {
            for (int inner : new int[] {304, 37}) {
                Tensor dz = onGpu(randn(DType.F32, 2, 70, 48).cast(h)), w = onGpu(randn(DType.F32, 48, inner).mul(0.5).cast(h));
                Tensor pre = onGpu(randn(DType.F32, 2, 70, inner).mul(2).cast(h));
                String what = h + " GELU' in dz·w to " + inner;
                Tensor fused = gpu.matmulGeluBackward(dz, w, Backend.GeluSaved.ofHalfPre(pre));
                assertEquals(h, fused.dtype(), what);
                assertBitwise(gpu.geluBackward(pre, gpu.matmul(dz, w, DType.F32), h), fused, what);
            }
        }
    }

    /**
     * A Linear's input gradient added to the one a residual collected, in the product's epilogue
     * (or, where K is split, by the kernel that adds the pieces): the bits of the product followed
     * by binary_f32's add, for TF32 and for BF16/F16 operands with float32 sums; a batch of
     * sequences made one tall product, ragged tiles (33 x 37), and a long K on few tiles (1000:
     * split on the emulator's 2 SMs).
     */
    @Test
    void matmulAddGivesTheBitsOfTheProductThenTheAdd() {
        for (DType in : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            for (int[] s : new int[][] {{2, 70, 48, 200}, {1, 33, 37, 129}, {1, 8, 16, 1000}}) {
                int batch = s[0], tokens = s[1], n = s[2], k = s[3];
                Tensor g = onGpu(randn(DType.F32, batch, tokens, k).cast(in)), w = onGpu(randn(DType.F32, k, n).cast(in));
                Tensor onto = onGpu(randn(DType.F32, batch, tokens, n));
                String what = in + " " + batch + " x " + tokens + " x " + k + " -> " + n;
                Tensor sum = gpu.matmulAdd(g, w, onto);
                assertEquals(DType.F32, sum.dtype(), what);
                assertBitwise(onto.add(gpu.matmul(g, w, DType.F32)), sum, what);
            }
        }
    }

    /**
     * Contiguous float32 operands of one shape: 16-byte accesses where every pointer is on a
     * 16-byte boundary, then the last n mod 4 elements; 4-byte accesses off such a boundary.
     */
    @Test
    void pointwiseOpsOfContiguousOperandsAtEveryAlignment() {
        for (int offset : new int[] {0, 1, 4}) {
            for (int n : new int[] {3, 562}) {
                Tensor baseA = randn(DType.F32, offset + n), baseB = positive(DType.F32, offset + n), baseD = randn(DType.F32, offset + n);
                Tensor a = baseA.narrow(0, offset, n), b = baseB.narrow(0, offset, n);
                Tensor ga = onGpu(baseA).narrow(0, offset, n), gb = onGpu(baseB).narrow(0, offset, n);
                String what = n + " elements from offset " + offset;
                for (Ops.Binary op : Ops.Binary.values()) assertClose(a.binary(op, b), ga.binary(op, gb), "binary " + op + ", " + what);
                for (Ops.Unary op : Ops.Unary.values()) {
                    boolean positiveOnly = op == Ops.Unary.LOG || op == Ops.Unary.SQRT;
                    assertClose((positiveOnly ? b : a).unary(op), (positiveOnly ? gb : ga).unary(op), "unary " + op + ", " + what);
                }
                assertClose(CPU.geluBackward(a, b), gpu.geluBackward(ga, gb), "gelu backward, " + what);
                Tensor gd = onGpu(baseD);
                CPU.addInPlace(baseD.narrow(0, offset, n), b, -0.3);
                gpu.addInPlace(gd.narrow(0, offset, n), gb, -0.3);
                assertClose(baseD, gd, "add in place, " + what);
            }
        }
    }

    @Test
    void binaryOpsBroadcastOverStridedViews() {
        for (DType t : FLOATS) {
            Tensor a = randn(t, 2, 3, 4), bias = randn(t, 4), col = randn(t, 3, 1), other = randn(t, 4, 3, 2);
            Tensor ga = onGpu(a), gbias = onGpu(bias), gcol = onGpu(col), gother = onGpu(other);
            for (Ops.Binary op : Ops.Binary.values()) {
                Tensor pb = op == Ops.Binary.DIV ? bias.unary(Ops.Unary.ABS).add(0.5) : bias;
                assertClose(a.binary(op, pb), ga.binary(op, onGpu(pb)), "binary " + op + " [2,3,4]·[4] " + t);
                assertClose(a.binary(op, col), ga.binary(op, gcol), "binary " + op + " [2,3,4]·[3,1] " + t);
                // a transposed operand: other^T has shape [2,3,4] with reversed strides
                Tensor ot = other.permute(2, 1, 0), got = gother.permute(2, 1, 0);
                if (op != Ops.Binary.DIV) assertClose(a.binary(op, ot), ga.binary(op, got), "binary " + op + " transposed " + t);
            }
            Tensor eqA = CPU.fromHost(t == DType.F32 ? new float[] {1, 2, 3} : new double[] {1, 2, 3}, t, 3);
            Tensor eqB = CPU.fromHost(t == DType.F32 ? new float[] {1, 0, 3} : new double[] {1, 0, 3}, t, 3);
            assertBitwise(eqA.binary(Ops.Binary.EQ, eqB), onGpu(eqA).binary(Ops.Binary.EQ, onGpu(eqB)), "eq " + t);
        }
    }

    @Test
    void dropoutMasksAreBitIdenticalToTheCpu() {
        for (DType t : FLOATS) {
            for (int[] shape : new int[][] {{1}, {3}, {5, 7}, {2, 3, 129, 65}}) {
                for (double p : new double[] {0.1, 0.5, 0.9}) {
                    long seed = random.nextLong(), offset = random.nextInt(1 << 20);
                    assertBitwise(CPU.dropoutMask(t, shape, p, seed, offset), gpu.dropoutMask(t, shape, p, seed, offset),
                            "dropout " + Arrays.toString(shape) + " p=" + p + " " + t);
                }
            }
        }
        assertBitwise(CPU.dropoutMask(DType.F32, new int[] {1001}, 0.3, -1L, Long.MAX_VALUE),
                gpu.dropoutMask(DType.F32, new int[] {1001}, 0.3, -1L, Long.MAX_VALUE), "dropout extreme seed/offset");
    }

    /**
     * The dropout factors of attention probabilities for the first Tq query rows: the full
     * [B, NH, T, T] mask's first Tq rows of each head, bit for bit, drawn alone (B·NH·Tq·T elements
     * held, where the full mask narrowed held B·NH·T·T), rows of T = 7, 24 and 70 starting inside
     * and on a Philox block.
     */
    @Test
    void attentionDropoutMaskIsTheFullMasksFirstRowsDrawnAlone() {
        for (DType t : FLOATS) {
            for (int[] bhT : new int[][] {{2, 3, 24}, {1, 2, 7}, {3, 2, 70}}) {
                int b = bhT[0], nh = bhT[1], len = bhT[2];
                long seed = random.nextLong(), offset = random.nextInt(1 << 20);
                Tensor full = CPU.dropoutMask(t, new int[] {b, nh, len, len}, 0.1, seed, offset);
                for (int tq : new int[] {1, 5, len}) {
                    Tensor rows = gpu.attentionDropoutMask(t, new int[] {b, nh, tq, len}, 0.1, seed, offset);
                    String what = "attention dropout " + t + " B=" + b + " NH=" + nh + " Tq=" + tq + " T=" + len;
                    assertBitwise(full.narrow(2, 0, tq).contiguous(), rows, what);
                    assertEquals((long) b * nh * tq * len, rows.storage().size(), what + ": elements drawn and held");
                }
            }
        }
    }

    @Test
    void normalSamplesMatchTheCpuStream() {
        for (DType t : FLOATS) {
            for (int n : new int[] {1, 2, 3, 5, 4099}) {
                Tensor c = CPU.normal(t, new int[] {n}, 0.5, 0.02, 77, 3), g = gpu.normal(t, new int[] {n}, 0.5, 0.02, 77, 3);
                assertClose(c, g, 1e-6, 1e-9, "normal n=" + n + " " + t);
            }
        }
    }

    // ---- reductions ---------------------------------------------------------------------------

    @Test
    void reductionsOverAnyAxesAndArgmax() {
        for (DType t : FLOATS) {
            Tensor x = randn(t, 6, 5, 300);
            Tensor gx = onGpu(x);
            for (Ops.Reduce op : Ops.Reduce.values()) {
                for (int[] axes : new int[][] {{0}, {1}, {2}, {0, 1}, {1, 2}, {0, 2}, {0, 1, 2}}) {
                    for (boolean keep : new boolean[] {false, true}) {
                        assertClose(x.reduce(op, keep, axes), gx.reduce(op, keep, axes), op + " " + Arrays.toString(axes) + " keep=" + keep + " " + t);
                    }
                }
                // a strided view takes the permute-then-rows path
                assertClose(x.transpose(0, 2).reduce(op, false, 0), gx.transpose(0, 2).reduce(op, false, 0), op + " transposed " + t);
                // leading axes over more rows than one chunk of the column reduction (300 and 2100)
                Tensor tall = randn(t, 300, 7, 5);
                for (int[] axes : new int[][] {{0}, {0, 1}}) {
                    assertClose(tall.reduce(op, false, axes), onGpu(tall).reduce(op, false, axes), op + " tall " + Arrays.toString(axes) + " " + t);
                }
            }
            for (int axis = 0; axis < 3; axis++) assertBitwise(x.argmax(axis), gx.argmax(axis), "argmax axis " + axis + " " + t);
        }
        float[] ties = {1, 3, 3, 2, 5, 5, 5, 0};
        Tensor tt = CPU.fromHost(ties, DType.F32, 2, 4);
        assertBitwise(tt.argmax(1), onGpu(tt).argmax(1), "argmax ties: first index");
    }

    // ---- matmul -------------------------------------------------------------------------------

    @Test
    void tf32MatmulStaysWithinTheTruncationBoundForEveryLayout() {
        // the last three have few tiles and a long K, so they are split along K (on the emulator's
        // 2 SMs as on a GPU's hundred), with 16-byte copies and, for K = 777, 4-byte ones
        int[][] mnk = {{1, 1, 1}, {7, 5, 3}, {128, 128, 32}, {130, 257, 65}, {64, 768, 768}, {300, 200, 1000}, {100, 200, 1000},
                {33, 40, 777}};
        for (int[] s : mnk) {
            int m = s[0], n = s[1], k = s[2];
            Tensor a = randn(DType.F32, m, k), b = randn(DType.F32, k, n);
            Tensor at = randn(DType.F32, k, m).transpose(0, 1), bt = randn(DType.F32, n, k).transpose(0, 1);
            for (Tensor[] ab : new Tensor[][] {{a, b}, {at, b}, {a, bt}, {at, bt}}) {
                assertTf32Product(ab[0], ab[1], onGpu(ab[0].contiguous()).matmul(onGpu(ab[1].contiguous())), "matmul " + Arrays.toString(s));
                // the same product through transposed views on the GPU (no copies: the kernel's transpose flags)
                Tensor ga = ab[0].isContiguous() ? onGpu(ab[0]) : onGpu(ab[0].transpose(0, 1).contiguous()).transpose(0, 1);
                Tensor gb = ab[1].isContiguous() ? onGpu(ab[1]) : onGpu(ab[1].transpose(0, 1).contiguous()).transpose(0, 1);
                assertTf32Product(ab[0], ab[1], ga.matmul(gb), "matmul view " + Arrays.toString(s));
            }
        }
        // batched, and batched with a shared 2-D right operand (a linear layer over [B, T, H])
        Tensor x = randn(DType.F32, 3, 4, 70, 64), y = randn(DType.F32, 3, 4, 64, 50), w = randn(DType.F32, 64, 96);
        assertTf32Product(x, y, onGpu(x).matmul(onGpu(y)), "batched");
        assertTf32Product(x, w, onGpu(x).matmul(onGpu(w)), "shared weight");
        // 16-byte copies only where every row starts on 16 bytes: A a view whose base is one float
        // past a boundary (its leading dimension 68 and K 64 multiples of 4), and A and Bᵀ views of
        // rows of 6 floats in rows of 8 (a 16-byte chunk would take two floats past K from both)
        Tensor wide = randn(DType.F32, 100, 68), narrow = randn(DType.F32, 100, 8), weight = randn(DType.F32, 40, 8);
        Tensor rhs64 = randn(DType.F32, 64, 40);
        assertTf32Product(wide.narrow(1, 1, 64), rhs64, onGpu(wide).narrow(1, 1, 64).matmul(onGpu(rhs64)), "A one float past 16 bytes");
        assertTf32Product(narrow.narrow(1, 0, 6), weight.narrow(1, 0, 6).transpose(0, 1),
                onGpu(narrow).narrow(1, 0, 6).matmul(onGpu(weight).narrow(1, 0, 6).transpose(0, 1)), "rows of 6 floats");
        // a Linear layer, the bias added as the kernel writes the product out (also after a K split,
        // and with 4-byte copies for K = 33)
        for (int[] s : new int[][] {{3, 70, 64, 96}, {1, 100, 1000, 200}, {1, 7, 33, 5}}) {
            Tensor in = randn(DType.F32, s[0], s[1], s[2]), lw = randn(DType.F32, s[3], s[2]), lb = randn(DType.F32, s[3]);
            Tensor gb = onGpu(lb), lwt = lw.transpose(0, 1);
            assertTf32Product(in, lwt, onGpu(in).linear(onGpu(lw), gb).sub(gb), "linear " + Arrays.toString(s));
            // the weight stored transposed, and then the input too: the bias on the nn and tn kernels' stores
            Tensor gw = onGpu(lw.transpose(0, 1).contiguous()).transpose(0, 1);
            Tensor x2 = in.reshape(s[0] * s[1], s[2]), gx2 = onGpu(x2.transpose(0, 1).contiguous()).transpose(0, 1);
            assertTf32Product(in, lwt, onGpu(in).linear(gw, gb).sub(gb), "linear, wᵀ stored " + Arrays.toString(s));
            assertTf32Product(x2, lwt, gx2.linear(gw, gb).sub(gb), "linear, x and wᵀ stored transposed " + Arrays.toString(s));
        }
        Tensor q = randn(DType.F32, 2, 3, 33, 16);
        assertTf32Product(q, q.transpose(-1, -2), onGpu(q).matmul(onGpu(q).transpose(-1, -2)), "q·qᵀ");
        Tensor d = randn(DType.F64, 2, 37, 19), e = randn(DType.F64, 19, 23);
        assertClose(d.matmul(e), onGpu(d).matmul(onGpu(e)), 1e-10, 1e-12, "float64 matmul");
        assertClose(d.transpose(1, 2).matmul(d), onGpu(d).transpose(1, 2).matmul(onGpu(d)), 1e-10, 1e-12, "float64 dᵀ·d");
    }

    /**
     * K steps of 32 (gemm.cu): K below, at and past one step, one short of it (31, 33: the last
     * step zero-filled, with 4-byte copies), and BERT's 768 and 3072 (24 and 96 steps; on the
     * emulator's 2 SMs the single tile of 3072 is cut in 4 splits of 768), in every transpose
     * variant (copies and views, so both 16-byte swizzled layouts and the tt one), batched, and a
     * Linear with its bias on the store, each element within the TF32 bound of float64's product.
     */
    @Test
    void tf32KStepsOf32AtRaggedAndLongK() {
        int m = 36, n = 40;
        for (int k : new int[] {1, 31, 32, 33, 768, 3072}) {
            Tensor a = randn(DType.F32, m, k), b = randn(DType.F32, k, n);
            Tensor at = randn(DType.F32, k, m).transpose(0, 1), bt = randn(DType.F32, n, k).transpose(0, 1);
            for (Tensor[] ab : new Tensor[][] {{a, b}, {at, b}, {a, bt}, {at, bt}}) {
                Tensor ga = ab[0].isContiguous() ? onGpu(ab[0]) : onGpu(ab[0].transpose(0, 1).contiguous()).transpose(0, 1);
                Tensor gb = ab[1].isContiguous() ? onGpu(ab[1]) : onGpu(ab[1].transpose(0, 1).contiguous()).transpose(0, 1);
                String what = "K = " + k + (ab[0] == at ? " Aᵀ" : "") + (ab[1] == bt ? " Bᵀ" : "");
                assertTf32Product(ab[0], ab[1], ga.matmul(gb), what);
            }
            Tensor w = randn(DType.F32, n, k), bias = randn(DType.F32, n), gbias = onGpu(bias);
            assertTf32Product(a, w.transpose(0, 1), onGpu(a).linear(onGpu(w), gbias).sub(gbias), "linear, K = " + k);
            if (k <= 768) {
                Tensor x = randn(DType.F32, 3, 20, k), y = randn(DType.F32, 3, k, 12);
                assertTf32Product(x, y, onGpu(x).matmul(onGpu(y)), "batched, K = " + k);
            }
        }
    }

    /**
     * --tf32 false: float32 products in IEEE arithmetic, as PyTorch's default. Each element within
     * the float32 summation bound of a float64 product of the same inputs, 2·(K+1)·2⁻²⁴·Σ|a||b|,
     * which TF32's 2⁻¹¹ operand rounding exceeds; a Linear's bias is added after the product.
     */
    @Test
    void ieeeFloat32MatmulWhenTf32IsOff() {
        gpu.useTf32(false);
        try {
            for (int[] s : new int[][] {{7, 5, 3}, {70, 33, 100}, {3, 40, 300}}) {
                int m = s[0], n = s[1], k = s[2];
                Tensor a = randn(DType.F32, m, k), b = randn(DType.F32, k, n), bt = randn(DType.F32, n, k).transpose(0, 1);
                for (Tensor rhs : new Tensor[] {b, bt}) {
                    Tensor ga = onGpu(a), gb = rhs.isContiguous() ? onGpu(rhs) : onGpu(rhs.transpose(0, 1).contiguous()).transpose(0, 1);
                    assertFloat32Sum(a, rhs, ga.matmul(gb), "matmul " + Arrays.toString(s));
                }
                Tensor w = randn(DType.F32, n, k), bias = randn(DType.F32, n);
                assertFloat32Sum(a, w.transpose(0, 1), onGpu(a).linear(onGpu(w), onGpu(bias)).sub(onGpu(bias)), "linear " + Arrays.toString(s));
            }
        } finally {
            gpu.useTf32(true);
        }
    }

    private static void assertFloat32Sum(Tensor a, Tensor b, Tensor actual, String what) {
        assertProductBound(a, b, actual, 0, what);
    }

    /**
     * TF32 products as the tensor cores make them: each operand truncated to 10 mantissa bits
     * (relative error below 2⁻¹⁰, twice round-to-nearest's 2⁻¹¹), so each term is off by less than
     * (2·2⁻¹⁰ + 2⁻²⁰)·|a·b|, and then the float32 sum's 2·(K+1)·2⁻²⁴·Σ|a||b|.
     */
    private static void assertTf32Product(Tensor a, Tensor b, Tensor actual, String what) {
        assertProductBound(a, b, actual, 0x1p-10, what);
    }

    /** Each element of a·b within ((1 + u)² − 1 + 2·(K+1)·2⁻²⁴)·Σ|a||b| of the float64 product, u the operands' relative error. */
    private static void assertProductBound(Tensor a, Tensor b, Tensor actual, double u, String what) {
        Tensor a64 = a.cast(DType.F64), b64 = b.cast(DType.F64);
        double[] exact = a64.matmul(b64).toDoubleArray();
        double[] magnitude = a64.unary(Ops.Unary.ABS).matmul(b64.unary(Ops.Unary.ABS)).toDoubleArray();
        double[] got = actual.toDoubleArray();
        int k = a.size(-1);
        for (int i = 0; i < exact.length; i++) {
            double bound = (2 * u + u * u + 2.0 * (k + 1) * 0x1p-24) * magnitude[i] + 1e-30;
            if (!(Math.abs(got[i] - exact[i]) <= bound)) fail(what + ": element " + i + " " + got[i] + " vs " + exact[i] + " (bound " + bound + ")");
        }
    }

    /** ±1 in float32, [rows, cols], drawn from the test's random stream. */
    private Tensor signs(int rows, int cols) {
        float[] f = new float[rows * cols];
        for (int i = 0; i < f.length; i++) f[i] = random.nextBoolean() ? 1f : -1f;
        return CPU.fromHost(f, DType.F32, rows, cols);
    }

    /**
     * The tensor cores read a TF32 operand's top 19 bits and drop the rest (gemm.cu hands them the
     * float32 bits, with no rounding instruction): ±(1 + 3·2⁻¹²), which rounds to 1 + 2⁻¹⁰ but
     * truncates to 1, multiplies as ±1, so every element is the exact integer of the signs' product,
     * in all four layouts and after a K split (the second shape, on the emulator's 2 SMs).
     */
    @Test
    void tf32ProductsTruncateTheirOperands() {
        float between = 1 + 3 * 0x1p-12f;
        for (int[] s : new int[][] {{130, 70, 65}, {40, 30, 1500}}) {
            int m = s[0], n = s[1], k = s[2];
            Tensor a = signs(m, k), at = signs(k, m), b = signs(k, n), bt = signs(n, k); // at, bt stored transposed
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    Tensor sa = ta ? at.transpose(0, 1) : a, sb = tb ? bt.transpose(0, 1) : b;
                    Tensor ga = ta ? onGpu(at.mul(between)).transpose(0, 1) : onGpu(a.mul(between));
                    Tensor gb = tb ? onGpu(bt.mul(between)).transpose(0, 1) : onGpu(b.mul(between));
                    Tensor expected = sa.cast(DType.F64).matmul(sb.cast(DType.F64)).cast(DType.F32);
                    assertBitwise(expected, ga.matmul(gb), "signs " + Arrays.toString(s) + (ta ? " Aᵀ" : "") + (tb ? " Bᵀ" : ""));
                }
            }
        }
    }

    /**
     * A Linear's weight and bias gradients from one product, the bias gradient added up by the tn
     * kernel from the dY it reads: dW within the TF32 bound of float64's dYᵀ·x, db within float32
     * summation's 2·T·2⁻²⁴·Σ|dY| of float64's column sums. Row tiles past the first (260 features),
     * K splits (T = 1000 and 1200 on the emulator's 2 SMs), 4-byte copies and stores (33 × 5 × 7).
     */
    @Test
    void weightAndBiasGradientsComeFromOneProduct() {
        for (int[] s : new int[][] {{70, 96, 64}, {1000, 100, 200}, {33, 5, 7}, {1200, 260, 40}}) {
            int t = s[0], n = s[1], k = s[2];
            Tensor dy = randn(DType.F32, t, n), x = randn(DType.F32, t, k);
            Backend.LinearGrads got = gpu.linearGrads(onGpu(dy), onGpu(x), DType.F32);
            String what = "T, N, K = " + Arrays.toString(s);
            assertTf32Product(dy.transpose(0, 1), x, got.weight(), "dW, " + what);
            assertColumnSums(dy, got.bias(), 0, 0, what);
        }
    }

    /**
     * The same from BF16/F16 dY and x (autocast's Q, K and V): dW, in the format or float32, within
     * {@link #assertHalfProduct}'s bound of float64's dYᵀ·x of the same rounded inputs; db, the
     * kernel's float32 column sums, within 2·T·2⁻²⁴·Σ|dY| (the float32 sum) of float64's, beside a
     * half dW rounded once to the format, plus one rounding (2⁻⁸ of |db| for BF16, 2⁻¹¹ and 2⁻²⁵
     * absolute for F16); beside a float32 dW (autocast's parameter gradients) kept float32.
     * Two of the shapes above: row tiles past the first and a K split (1200 × 260 × 40 on the
     * emulator's 2 SMs, dW in the format), element copies (33 × 5 × 7, dW in float32).
     */
    @Test
    void halfWeightAndBiasGradientsComeFromOneProduct() {
        for (DType h : new DType[] {DType.BF16, DType.F16}) {
            double rounding = h == DType.BF16 ? 0x1p-8 : 0x1p-11, floor = h == DType.F16 ? 0x1p-25 : 0;
            for (int[] s : new int[][] {{1200, 260, 40}, {33, 5, 7}}) {
                int t = s[0], n = s[1], k = s[2];
                Tensor dy = randn(DType.F32, t, n).cast(h), x = randn(DType.F32, t, k).cast(h);
                String what = h + " T, N, K = " + Arrays.toString(s);
                DType out = t > 100 ? h : DType.F32;
                Backend.LinearGrads got = gpu.linearGrads(onGpu(dy), onGpu(x), out);
                assertHalfProduct(dy.transpose(0, 1), x, null, got.weight(), out, "dW to " + out + ", " + what);
                assertEquals(out == DType.F32 ? DType.F32 : h, got.bias().dtype(), "db dtype, " + what);
                assertColumnSums(dy, got.bias(), out == DType.F32 ? 0 : rounding, out == DType.F32 ? 0 : floor, what);
            }
        }
    }

    /** db against float64's column sums of dY: the float32 sum's 2·T·2⁻²⁴·Σ|dY|, then {@code rounding} of |db| and {@code floor}. */
    private static void assertColumnSums(Tensor dy, Tensor bias, double rounding, double floor, String what) {
        int t = dy.size(0), n = dy.size(1);
        assertArrayEquals(new int[] {n}, bias.shape(), "db shape, " + what);
        double[] g = dy.toDoubleArray(), db = bias.toDoubleArray();
        for (int j = 0; j < n; j++) {
            double sum = 0, magnitude = 0;
            for (int i = 0; i < t; i++) {
                sum += g[i * n + j];
                magnitude += Math.abs(g[i * n + j]);
            }
            double bound = 2.0 * t * 0x1p-24 * magnitude * (1 + rounding) + rounding * Math.abs(sum) + floor;
            if (!(Math.abs(db[j] - sum) <= bound)) fail("db[" + j + "] = " + db[j] + ", float64 " + sum + " (bound " + bound + "), " + what);
        }
    }

    /**
     * BF16/F16 products on tensor cores, every transpose variant (as copies and as views), batched,
     * with a shared weight, split along K (64×130×512: 2 tiles on the emulator's 2 SMs), with 16-byte
     * copies and with element copies (K = 77), and a Linear layer's bias, written as float32 and in the format.
     * The reference is the float64 product of the same rounded inputs; see {@link #assertHalfProduct}.
     */
    @Test
    void halfMatmulStaysWithinTheFormatsBoundForEveryLayout() {
        int[][] mnk = {{7, 5, 3}, {130, 70, 72}, {33, 40, 77}};
        for (DType h : new DType[] {DType.BF16, DType.F16}) {
            for (int[] s : mnk) {
                int m = s[0], n = s[1], k = s[2];
                Tensor a = randn(DType.F32, m, k).cast(h), b = randn(DType.F32, k, n).cast(h);
                Tensor at = randn(DType.F32, k, m).cast(h).transpose(0, 1), bt = randn(DType.F32, n, k).cast(h).transpose(0, 1);
                for (Tensor[] ab : new Tensor[][] {{a, b}, {at, b}, {a, bt}, {at, bt}}) {
                    Tensor ga = ab[0].isContiguous() ? onGpu(ab[0]) : onGpu(ab[0].transpose(0, 1).contiguous()).transpose(0, 1);
                    Tensor gb = ab[1].isContiguous() ? onGpu(ab[1]) : onGpu(ab[1].transpose(0, 1).contiguous()).transpose(0, 1);
                    String what = h + " " + Arrays.toString(s) + (ab[0] == at ? " Aᵀ" : "") + (ab[1] == bt ? " Bᵀ" : "");
                    for (DType out : new DType[] {DType.F32, h}) assertHalfProduct(ab[0], ab[1], null, ga.matmul(gb, out), out, what + " to " + out);
                }
            }
            Tensor tall = randn(DType.F32, 64, 512).cast(h), wide = randn(DType.F32, 512, 130).cast(h);
            for (DType out : new DType[] {DType.F32, h}) {
                assertHalfProduct(tall, wide, null, onGpu(tall).matmul(onGpu(wide), out), out, h + " split along K to " + out);
            }
            Tensor x = randn(DType.F32, 3, 2, 70, 64).cast(h), y = randn(DType.F32, 3, 2, 64, 50).cast(h), w = randn(DType.F32, 64, 96).cast(h);
            assertHalfProduct(x, y, null, onGpu(x).matmul(onGpu(y)), h, h + " batched");
            assertHalfProduct(x, w, null, onGpu(x).matmul(onGpu(w), DType.F32), DType.F32, h + " shared weight");
            Tensor in = randn(DType.F32, 3, 70, 64).cast(h), lw = randn(DType.F32, 96, 64).cast(h), lb = randn(DType.F32, 96).cast(h);
            assertHalfProduct(in, lw.transpose(0, 1), lb, onGpu(in).linear(onGpu(lw), onGpu(lb)), h, h + " linear");
        }
    }

    /**
     * LayerNorm and GELU that also write their result in BF16/F16 for the Linear they feed: the
     * float32 result is bit for bit the plain op's, and the copy bit for bit its cast (rows of 256
     * take LayerNorm's register path, rows of 100 the other).
     */
    @Test
    void producersWriteTheHalfCopyTheirLinearReads() {
        for (DType h : new DType[] {DType.BF16, DType.F16}) {
            for (int len : new int[] {256, 100}) {
                Tensor x = onGpu(randn(DType.F32, 3, 5, len).mul(4)), gamma = onGpu(randn(DType.F32, len)), beta = onGpu(randn(DType.F32, len));
                var ln = gpu.layerNorm(x, gamma, beta, 1e-5, h);
                var plain = gpu.layerNorm(x, gamma, beta, 1e-5);
                assertBitwise(plain.y(), ln.out().y(), "layerNorm y " + len);
                assertBitwise(plain.mean(), ln.out().mean(), "layerNorm mean " + len);
                assertBitwise(plain.rstd(), ln.out().rstd(), "layerNorm rstd " + len);
                assertEquals(h, ln.copy().dtype());
                assertBitwise(plain.y().cast(h), ln.copy(), "layerNorm copy " + h + " " + len);
                var gelu = gpu.gelu(x, h);
                assertBitwise(x.unary(Ops.Unary.GELU), gelu.out(), "gelu " + len);
                assertBitwise(x.unary(Ops.Unary.GELU).cast(h), gelu.copy(), "gelu copy " + h + " " + len);
            }
        }
    }

    /**
     * The feed-forward Linear and its GELU under autocast from one GEMM: the epilogue's
     * pre-activation is bit for bit the plain Linear's rounded product + bias, and its GELU bit for
     * bit the GELU kernel's of that (gelu.cuh's float operations in both), kept or not, for widths
     * with a ragged last tile and an odd one (single stores).
     */
    @Test
    void halfLinearGeluEpilogueGivesTheBitsOfTheLinearThenTheGeluKernel() {
        for (DType h : new DType[] {DType.BF16, DType.F16}) {
            for (int n : new int[] {300, 37}) {
                Tensor x = onGpu(randn(DType.F32, 3, 70, 64).cast(h)), w = onGpu(randn(DType.F32, n, 64).mul(0.5).cast(h));
                Tensor b = onGpu(randn(DType.F32, n).cast(h));
                String what = h + " linear+gelu to " + n;
                Tensor pre = gpu.linear(x, w, b);
                Tensor y = gpu.gelu(pre, h).copy();
                var kept = gpu.halfLinearGelu(x, w, b, true);
                assertBitwise(pre, kept.pre(), what + ": pre-activation");
                assertBitwise(y, kept.y(), what + ": GELU");
                var alone = gpu.halfLinearGelu(x, w, b, false);
                assertEquals(null, alone.pre(), what);
                assertBitwise(y, alone.y(), what + ": GELU alone");
            }
        }
    }

    /**
     * GELU of the BF16/F16 pre-activation a Linear wrote under autocast, and its backward writing dx
     * in that format only (the dY operand of the Linear's products): bit for bit what the cast to
     * float32, the float32 kernels and the cast back give, and against float64 on the
     * CPU of the same rounded inputs. Bounds: the float32 GELU forms 1 + erf(x/√2) with an absolute
     * error of a few 2⁻²⁴, scaled by ½|x| (2⁻²¹·|x| allowed), GELU' the same plus the e^(−x²/2) term
     * (2⁻²¹·(1 + |x|) allowed, times |dy|), and a product rounds once (2⁻²³ relative); a result in
     * the format rounds once more, 2⁻⁸ relative for BF16 (8 significant bits) and 2⁻¹¹ for F16 (11),
     * doubled here as float32's error may move a value across a rounding midpoint, and F16's
     * subnormals add 2⁻²⁵ absolute.
     */
    @Test
    void halfGeluAndItsBackwardWriteTheLinearsOperands() {
        for (DType h : new DType[] {DType.BF16, DType.F16}) {
            double unit = h == DType.BF16 ? 0x1p-8 : 0x1p-11, subnormal = h == DType.BF16 ? 0 : 0x1p-25;
            Tensor x = onGpu(randn(DType.F32, 3, 5, 67).mul(3)).cast(h), dy = onGpu(randn(DType.F32, 3, 5, 67));
            var gelu = gpu.gelu(x, h);
            assertEquals(h, gelu.copy().dtype());
            assertBitwise(gpu.gelu(x.cast(DType.F32), h).copy(), gelu.copy(), "gelu of " + h);
            Tensor back = gpu.geluBackward(x, dy, h), float32 = gpu.geluBackward(x.cast(DType.F32), dy);
            assertEquals(h, back.dtype());
            assertBitwise(float32.cast(h), back, "gelu backward in " + h);

            double[] xs = x.toDoubleArray(), g = dy.toDoubleArray(), y = gelu.copy().toDoubleArray(), dx = float32.toDoubleArray(),
                    dxh = back.toDoubleArray();
            Tensor x64 = CPU.fromHost(xs, DType.F64, x.shape()), dy64 = CPU.fromHost(g, DType.F64, x.shape());
            double[] y64 = x64.unary(Ops.Unary.GELU).toDoubleArray(), dx64 = CPU.geluBackward(x64, dy64).toDoubleArray();
            for (int i = 0; i < xs.length; i++) {
                double a = Math.abs(xs[i]), gelu32 = 0x1p-21 * a, grad32 = Math.abs(g[i]) * 0x1p-21 * (1 + a) + 0x1p-23 * Math.abs(dx64[i]);
                assertTrue(Math.abs(y[i] - y64[i]) <= gelu32 + 2 * unit * Math.abs(y64[i]) + subnormal,
                        h + " gelu at x = " + xs[i] + ": " + y[i] + " against " + y64[i]);
                assertTrue(Math.abs(dx[i] - dx64[i]) <= grad32, h + " gelu backward at x = " + xs[i] + ": " + dx[i] + " against " + dx64[i]);
                assertTrue(Math.abs(dxh[i] - dx64[i]) <= grad32 + 2 * unit * Math.abs(dx64[i]) + subnormal,
                        h + " gelu backward copy at x = " + xs[i] + ": " + dxh[i] + " against " + dx64[i]);
            }
        }
    }

    /**
     * The GPU's product against the float64 one of the same (exactly widened) inputs. Each of the K
     * products of two 16-bit floats is exact in float32, so the error is the float32 sum's, at most
     * (K − 1)·2⁻²⁴·Σ|a·b| to first order; the bound takes twice that (tensor cores may truncate
     * instead of rounding) over K + 1 terms (the bias, itself one). A result in the format is then
     * rounded once more: 2⁻⁸ of it for BF16 (8 significant bits), 2⁻¹¹ for F16, whose subnormals add
     * 2⁻²⁵ absolute. At K = 64 the sum's share is 7.8e-6 of Σ|a·b|, at K = 512 6.1e-5.
     */
    private static void assertHalfProduct(Tensor a, Tensor b, Tensor bias, Tensor actual, DType out, String what) {
        int m = a.size(-2), k = a.size(-1), n = b.size(-1), batch = a.numel() / (m * k);
        double[] x = a.contiguous().toDoubleArray(), y = b.contiguous().toDoubleArray(), got = actual.toDoubleArray();
        double[] c = bias == null ? new double[n] : bias.toDoubleArray();
        double sumError = 2.0 * (k + 1) * 0x1p-24, rounding = out == DType.BF16 ? 0x1p-8 : out == DType.F16 ? 0x1p-11 : 0;
        assertEquals(out, actual.dtype(), what);
        for (int e = 0; e < batch; e++) {
            int yBase = b.dim() == 2 ? 0 : e * k * n;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = c[j], magnitude = Math.abs(c[j]);
                    for (int p = 0; p < k; p++) {
                        double term = x[(e * m + i) * k + p] * y[yBase + p * n + j];
                        sum += term;
                        magnitude += Math.abs(term);
                    }
                    double tol = sumError * magnitude * (1 + rounding) + rounding * Math.abs(sum) + (out == DType.F16 ? 0x1p-25 : 0);
                    double g = got[(e * m + i) * n + j];
                    if (!(Math.abs(g - sum) <= tol)) fail(what + ": C[" + e + ", " + i + ", " + j + "] = " + g + ", float64 " + sum + " (bound " + tol + ")");
                }
            }
        }
    }

    // ---- attention ----------------------------------------------------------------------------

    private static Tensor paddingMask(int b, int t, int[] lengths) {
        float[] m = new float[b * t];
        for (int i = 0; i < b; i++) for (int j = lengths[i]; j < t; j++) m[i * t + j] = -10000f;
        return CPU.fromHost(m, DType.F32, b, t);
    }

    /**
     * The fused forward keeps the dropout mask it applied for the backward as bits, word for word
     * the CPU backend's (⌈T/32⌉ words a query row, 0 past T), drawn by its own kernel; the composed
     * fallback keeps none.
     */
    private static void assertSameDropoutBits(Backend.AttentionOut cpu, Backend.AttentionOut gpu, boolean fused, String what) {
        if (!fused) {
            assertNull(gpu.dropoutBits(), what + ": bits only from the fused kernels' forward");
            return;
        }
        assertArrayEquals(cpu.dropoutBits().toIntArray(), gpu.dropoutBits().toIntArray(), what + " dropout bits");
    }

    @Test
    void fusedAttentionForwardAndBackwardMatchTheCpu() {
        for (int hs : new int[] {16, 32, 64, 8}) { // 8: the composed fallback
            for (int t : new int[] {5, 64, 70, 128}) {
                for (double p : new double[] {0.0, 0.1}) {
                    // T = 5: one sequence, so 15 query rows, an odd number (the dot kernel's lanes past the last row)
                    int[] lengths = t == 5 ? new int[] {4} : new int[] {t, t - 3};
                    int b = lengths.length, nh = 3;
                    Tensor q = randn(DType.F32, b, nh, t, hs), k = randn(DType.F32, b, nh, t, hs), v = randn(DType.F32, b, nh, t, hs);
                    Tensor mask = paddingMask(b, t, lengths);
                    Tensor dOut = randn(DType.F32, b, nh, t, hs);
                    double scale = 1 / Math.sqrt(hs);
                    long seed = 99, offset = 5;
                    var cf = CPU.attention(q, k, v, mask, scale, p, seed, offset);
                    var gf = gpu.attention(onGpu(q), onGpu(k), onGpu(v), onGpu(mask), scale, p, seed, offset);
                    String what = "attention hs=" + hs + " T=" + t + " p=" + p;
                    // TF32 products, as every float32 matmul on the GPU: the fused forward's two products
                    // on tensor cores (the backward recomputes from its output and lse) and the composed
                    // fallback's (hs 8), whose GEMMs truncate their operands instead of rounding them:
                    // twice the error bound
                    double tol = hs == 8 ? 6e-3 : 3e-3, lseTol = 3e-3;
                    assertCloseScaled(cf.out(), gf.out(), tol, what + " out");
                    assertClose(cf.logSumExp(), gf.logSumExp(), lseTol, lseTol, what + " lse");
                    assertSameDropoutBits(cf, gf, hs != 8 && p > 0, what);
                    var cb = CPU.attentionBackward(dOut, q, k, v, mask, cf, scale, p, seed, offset);
                    var gb = gpu.attentionBackward(onGpu(dOut), onGpu(q), onGpu(k), onGpu(v), onGpu(mask), gf, scale, p, seed, offset);
                    assertCloseScaled(cb.dq(), gb.dq(), tol, what + " dq");
                    assertCloseScaled(cb.dk(), gb.dk(), tol, what + " dk");
                    assertCloseScaled(cb.dv(), gb.dv(), tol, what + " dv");
                    var again = gpu.attentionBackward(onGpu(dOut), onGpu(q), onGpu(k), onGpu(v), onGpu(mask), gf, scale, p, seed, offset);
                    assertBitwise(gb.dk(), again.dk(), what + " dk deterministic");
                    if (hs != 8 && t == 70) { // dO one element off a 16-byte boundary: the dot kernel's element loop
                        Tensor shifted = onGpu(Tensor.concat(List.of(randn(DType.F32, 1), dOut.reshape(-1)), 0)).narrow(0, 1, (int) dOut.numel())
                                .reshape(b, nh, t, hs);
                        var odd = gpu.attentionBackward(shifted, onGpu(q), onGpu(k), onGpu(v), onGpu(mask), gf, scale, p, seed, offset);
                        assertCloseScaled(cb.dq(), odd.dq(), tol, what + " dq, dO off a boundary");
                        assertCloseScaled(cb.dv(), odd.dv(), tol, what + " dv, dO off a boundary");
                    }
                }
            }
        }
    }

    /**
     * The fused kernels for the first Tq query rows of each head (the [CLS] rows, Tq = 1, and Tq = 5,
     * which does not fill a 64-row tile) with every key, against the CPU backend's attention of
     * those rows, with padding and dropout: the same TF32 tolerances as the all-rows test above.
     * dq has Tq rows, dk and dv all T, summed over those query rows alone.
     */
    @Test
    void fusedAttentionOfTheFirstQueryRowsMatchesTheCpu() {
        for (int hs : new int[] {16, 64}) {
            for (int t : new int[] {24, 70}) {
                for (int tq : new int[] {1, 5}) {
                    for (double p : new double[] {0.0, 0.1}) {
                        int b = 2, nh = 3;
                        Tensor q = randn(DType.F32, b, nh, tq, hs), k = randn(DType.F32, b, nh, t, hs), v = randn(DType.F32, b, nh, t, hs);
                        Tensor mask = paddingMask(b, t, new int[] {t, t - 3}), dOut = randn(DType.F32, b, nh, tq, hs);
                        double scale = 1 / Math.sqrt(hs);
                        long seed = 99, offset = 5;
                        String what = "attention of " + tq + " query rows hs=" + hs + " T=" + t + " p=" + p;
                        var cf = CPU.attention(q, k, v, mask, scale, p, seed, offset);
                        var gf = gpu.attention(onGpu(q), onGpu(k), onGpu(v), onGpu(mask), scale, p, seed, offset);
                        assertCloseScaled(cf.out(), gf.out(), 3e-3, what + " out");
                        assertClose(cf.logSumExp(), gf.logSumExp(), 3e-3, 3e-3, what + " lse");
                        assertSameDropoutBits(cf, gf, p > 0, what);
                        var cb = CPU.attentionBackward(dOut, q, k, v, mask, cf, scale, p, seed, offset);
                        var gb = gpu.attentionBackward(onGpu(dOut), onGpu(q), onGpu(k), onGpu(v), onGpu(mask), gf, scale, p, seed, offset);
                        assertCloseScaled(cb.dq(), gb.dq(), 3e-3, what + " dq");
                        assertCloseScaled(cb.dk(), gb.dk(), 3e-3, what + " dk");
                        assertCloseScaled(cb.dv(), gb.dv(), 3e-3, what + " dv");
                        // laid out [B, Tq, NH, HS] as the fused kernels write it (plain ops would give [B, NH, Tq, HS])
                        assertTrue(gf.out().permute(0, 2, 1, 3).isContiguous() && gb.dq().permute(0, 2, 1, 3).isContiguous(), what + ": fused kernels");
                    }
                }
            }
        }
    }

    /**
     * The BF16/F16 attention kernels against float64 from the same rounded inputs, rounding where
     * autocast rounds (the probabilities before P·V; dO, P̃ and dS before the backward's products):
     * ‖err‖/‖ref‖ ≤ 2 ulp of the format (2⁻⁶ BF16, 2⁻⁹ F16), since the kernel rounds each product
     * operand once where the reference may round its neighbour; the log-sum-exp, whose inputs are
     * exact products summed in float32, to 1e-5. Outputs and gradients are float32. All query rows,
     * and the first Tq (1 and 5) with every key, the dropout factors those rows' of the full mask.
     * The kernels that write out, dq, dk and dv in the format (autocast's attentionHalfOut and
     * attentionHalfBackward): bit for bit the float32 kernels' results rounded once to nearest, and
     * chained as autocast runs them (half out into the backward's D = dO·out, dO in the format)
     * within 3 ulp of float64's gradients (the 2 above plus the output's and D's roundings).
     */
    @Test
    void halfAttentionKernelsMatchFloat64OfTheRoundedInputs() {
        for (DType h : new DType[] {DType.BF16, DType.F16}) {
            double ulp = h == DType.BF16 ? 0x1p-7 : 0x1p-10;
            for (int[] hsTq : new int[][] {{16, 70}, {64, 70}, {16, 1}, {64, 5}}) {
                int hs = hsTq[0], tq = hsTq[1], t = 70, b = 2, nh = 2;
                Tensor q = randn(DType.F32, b, nh, tq, hs).cast(h), k = randn(DType.F32, b, nh, t, hs).cast(h);
                Tensor v = randn(DType.F32, b, nh, t, hs).cast(h), dOut = randn(DType.F32, b, nh, tq, hs);
                Tensor mask = paddingMask(b, t, new int[] {t, t - 5});
                double scale = 1 / Math.sqrt(hs), p = 0.1;
                long seed = 7, offset = 3;
                String what = h + " attention hs=" + hs + " Tq=" + tq;
                var gf = gpu.attention(onGpu(q), onGpu(k), onGpu(v), onGpu(mask), scale, p, seed, offset);
                var gb = gpu.attentionBackward(onGpu(dOut), onGpu(q), onGpu(k), onGpu(v), onGpu(mask), gf, scale, p, seed, offset);
                assertEquals(DType.F32, gf.out().dtype());
                assertEquals(DType.F32, gb.dq().dtype());

                Tensor q64 = q.cast(DType.F64), k64 = k.cast(DType.F64), v64 = v.cast(DType.F64);
                Tensor scores = q64.matmul(k64.transpose(-1, -2)).mul(scale).add(mask.cast(DType.F64).unsqueeze(1).unsqueeze(1));
                Tensor max = scores.reduce(Ops.Reduce.MAX, true, -1);
                Tensor lse = scores.sub(max).exp().reduce(Ops.Reduce.SUM, true, -1).log().add(max).squeeze(-1);
                Tensor probs = scores.softmax(), drop = CPU.dropoutMask(DType.F64, new int[] {b, nh, t, t}, p, seed, offset).narrow(2, 0, tq);
                Tensor dropped = roundedTo(probs.mul(drop), h);
                assertRelative(dropped.matmul(v64), gf.out(), 2 * ulp, what + " out");
                assertClose(lse, gf.logSumExp(), 1e-5, 1e-5, what + " lse");
                Tensor g64 = roundedTo(dOut.cast(DType.F64), h);
                Tensor dp = g64.matmul(v64.transpose(-1, -2)).mul(drop);
                Tensor ds = roundedTo(CPU.softmaxBackward(probs, dp).mul(scale), h);
                assertRelative(ds.matmul(k64), gb.dq(), 2 * ulp, what + " dq");
                assertRelative(ds.transpose(-1, -2).matmul(q64), gb.dk(), 2 * ulp, what + " dk");
                assertRelative(dropped.transpose(-1, -2).matmul(g64), gb.dv(), 2 * ulp, what + " dv");

                var hf = gpu.attentionHalfOut(onGpu(q), onGpu(k), onGpu(v), onGpu(mask), scale, p, seed, offset);
                assertEquals(h, hf.out().dtype(), what + ": out in the format");
                assertArrayEquals(gf.out().cast(h).contiguous().toFloatArray(), hf.out().contiguous().toFloatArray(), what + " out rounded once");
                assertArrayEquals(gf.logSumExp().toFloatArray(), hf.logSumExp().toFloatArray(), what + " lse");
                var hb = gpu.attentionHalfBackward(onGpu(dOut), onGpu(q), onGpu(k), onGpu(v), onGpu(mask), gf, scale, p, seed, offset);
                for (Tensor[] d : new Tensor[][] {{gb.dq(), hb.dq()}, {gb.dk(), hb.dk()}, {gb.dv(), hb.dv()}}) {
                    assertEquals(h, d[1].dtype(), what + ": gradients in the format");
                    assertArrayEquals(d[0].cast(h).contiguous().toFloatArray(), d[1].contiguous().toFloatArray(), what + " gradient rounded once");
                }
                var chained = gpu.attentionHalfBackward(onGpu(dOut).cast(h), onGpu(q), onGpu(k), onGpu(v), onGpu(mask), hf, scale, p, seed, offset);
                assertRelative(ds.matmul(k64), chained.dq(), 3 * ulp, what + " dq from the half out");
                assertRelative(ds.transpose(-1, -2).matmul(q64), chained.dk(), 3 * ulp, what + " dk from the half out");
                assertRelative(dropped.transpose(-1, -2).matmul(g64), chained.dv(), 3 * ulp, what + " dv from the half out");
            }
        }
    }

    private static Tensor roundedTo(Tensor x64, DType h) {
        return x64.cast(DType.F32).cast(h).cast(DType.F64);
    }

    private static void assertRelative(Tensor expected, Tensor actual, double bound, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        double[] e = expected.contiguous().toDoubleArray(), a = actual.contiguous().toDoubleArray();
        double err = 0, norm = 0;
        for (int i = 0; i < e.length; i++) {
            err += (a[i] - e[i]) * (a[i] - e[i]);
            norm += e[i] * e[i];
        }
        double rel = Math.sqrt(err / norm);
        if (!(rel <= bound)) fail(what + ": relative error " + rel + " over " + bound);
    }

    /**
     * As BERT calls it: the heads are views of [B, T, H] projections (one fused [B, T, 3H] for q, k
     * and v), and the output and gradients come back laid out as [B, T, NH, HS], so the model's
     * transpose back to [B, T, H] needs no copy.
     */
    @Test
    void fusedAttentionReadsHeadViewsAndWritesTokenMajorOutputs() {
        int b = 2, t = 70, nh = 3, hs = 32;
        Tensor qkv = randn(DType.F32, b, t, 3 * nh * hs), dOut = randn(DType.F32, b, t, nh * hs);
        Tensor mask = paddingMask(b, t, new int[] {t, t - 9});
        double scale = 1 / Math.sqrt(hs);
        java.util.function.BiFunction<Tensor, Integer, Tensor> head = (x, part) ->
                x.narrow(2, part * nh * hs, nh * hs).reshape(b, t, nh, hs).permute(0, 2, 1, 3);
        Tensor gqkv = onGpu(qkv), gdOut = onGpu(dOut);
        var cf = CPU.attention(head.apply(qkv, 0), head.apply(qkv, 1), head.apply(qkv, 2), mask, scale, 0.1, 5, 6);
        var gf = gpu.attention(head.apply(gqkv, 0), head.apply(gqkv, 1), head.apply(gqkv, 2), onGpu(mask), scale, 0.1, 5, 6);
        assertCloseScaled(cf.out(), gf.out(), 3e-3, "out from head views");
        assertTrue(gf.out().permute(0, 2, 1, 3).isContiguous(), "out is [B, T, NH, HS] in memory");
        Tensor cg = dOut.reshape(b, t, nh, hs).permute(0, 2, 1, 3), gg = gdOut.reshape(b, t, nh, hs).permute(0, 2, 1, 3);
        var cb = CPU.attentionBackward(cg, head.apply(qkv, 0), head.apply(qkv, 1), head.apply(qkv, 2), mask, cf, scale, 0.1, 5, 6);
        var gb = gpu.attentionBackward(gg, head.apply(gqkv, 0), head.apply(gqkv, 1), head.apply(gqkv, 2), onGpu(mask), gf, scale, 0.1, 5, 6);
        for (Tensor[] pair : new Tensor[][] {{cb.dq(), gb.dq()}, {cb.dk(), gb.dk()}, {cb.dv(), gb.dv()}}) {
            assertCloseScaled(pair[0], pair[1], 3e-3, "gradient from head views");
            assertTrue(pair[1].permute(0, 2, 1, 3).isContiguous(), "gradient is [B, T, NH, HS] in memory");
        }
    }

    /**
     * The gradient of the fused Q/K/V product that attention's backward writes in place: bit for
     * bit the kernels' dq, dk and dv (float32, and BF16 heads' gradients in BF16) side by side per
     * token, as [B, T, 3·H]; with the first Tq query rows only, dq zero past them.
     */
    @Test
    void packedAttentionGradientsAreTheKernelsGradientsSideBySide() {
        int b = 2, t = 70, nh = 3, hs = 32, features = nh * hs;
        double scale = 1 / Math.sqrt(hs);
        for (DType h : new DType[] {DType.F32, DType.BF16}) {
            for (int tq : new int[] {t, 5}) {
                String what = h + " packed attention gradients of " + tq + " query rows";
                Tensor qkv = onGpu(randn(DType.F32, b, t, 3 * features)).cast(h), mask = onGpu(paddingMask(b, t, new int[] {t, t - 9}));
                Tensor dOut = onGpu(randn(DType.F32, b, nh, tq, hs));
                java.util.function.IntFunction<Tensor> head = part -> qkv.narrow(2, part * features, features).reshape(b, t, nh, hs).permute(0, 2, 1, 3);
                Tensor q = head.apply(0).narrow(2, 0, tq), k = head.apply(1), v = head.apply(2);
                boolean half = h != DType.F32;
                var forward = gpu.attention(q, k, v, mask, scale, 0.1, 5, 6);
                var grads = half ? gpu.attentionHalfBackward(dOut, q, k, v, mask, forward, scale, 0.1, 5, 6)
                        : gpu.attentionBackward(dOut, q, k, v, mask, forward, scale, 0.1, 5, 6);
                Tensor dq = gpu.zeros(grads.dq().dtype(), b, t, features);
                gpu.copyInPlace(dq.narrow(1, 0, tq), grads.dq().permute(0, 2, 1, 3).reshape(b, tq, features));
                Tensor expected = Tensor.concat(List.of(dq, grads.dk().permute(0, 2, 1, 3).reshape(b, t, features),
                        grads.dv().permute(0, 2, 1, 3).reshape(b, t, features)), 2);
                Tensor packed = gpu.packedAttentionBackward(dOut, q, k, v, mask, forward, scale, 0.1, 5, 6, half);
                assertEquals(expected.dtype(), packed.dtype(), what + ": dtype");
                assertBitwise(expected.cast(DType.F32), packed.cast(DType.F32), what);
            }
        }
    }

    // ---- rows: softmax, LayerNorm, cross-entropy ----------------------------------------------

    @Test
    void softmaxAndLogSoftmaxWithBackwards() {
        for (DType t : FLOATS) {
            for (int len : new int[] {1, 7, 128, 1000, 30522}) {
                Tensor x = randn(t, 9, len).mul(3), dy = randn(t, 9, len);
                Tensor gx = onGpu(x), gdy = onGpu(dy);
                Tensor y = x.softmax(), ly = x.logSoftmax();
                assertClose(y, gx.softmax(), "softmax len " + len + " " + t);
                assertClose(ly, gx.logSoftmax(), 1e-5, 1e-5, "log-softmax len " + len + " " + t);
                assertClose(CPU.softmaxBackward(y, dy), gpu.softmaxBackward(onGpu(y), gdy), 1e-5, 1e-6, "softmax backward " + t);
                assertClose(CPU.logSoftmaxBackward(ly, dy), gpu.logSoftmaxBackward(onGpu(ly), gdy), 1e-5, 1e-5, "log-softmax backward " + t);
            }
        }
    }

    @Test
    void layerNormForwardBackwardAndDeterministicParameterGradients() {
        for (DType t : FLOATS) {
            // BERT's widths run with rows in registers; 33, 1152 and rows off 16-byte boundaries do not
            for (int[] shape : new int[][] {{4, 7, 384}, {1000, 768}, {3, 33}, {5, 1152}, {9, 256, -1}}) {
                boolean offset = shape[shape.length - 1] == -1;
                if (offset) shape = Arrays.copyOf(shape, shape.length - 1);
                int h = shape[shape.length - 1];
                Tensor x = randn(t, shape).mul(2).add(0.5), g = randn(t, h), b = randn(t, h), dy = randn(t, shape);
                Tensor gx = offset ? shifted(x) : onGpu(x);
                var c = CPU.layerNorm(x, g, b, 1e-12);
                var d = gpu.layerNorm(gx, onGpu(g), onGpu(b), 1e-12);
                String what = "layernorm " + Arrays.toString(shape) + (offset ? " one element past a 16-byte boundary " : " ") + t;
                assertClose(c.y(), d.y(), 1e-5, 1e-5, what + " y");
                assertClose(c.mean(), d.mean(), 1e-5, 1e-6, what + " mean");
                assertClose(c.rstd(), d.rstd(), what + " rstd");
                var cg = CPU.layerNormBackward(dy, x, g, c.mean(), c.rstd());
                var dg = gpu.layerNormBackward(offset ? shifted(dy) : onGpu(dy), gx, onGpu(g), d.mean(), d.rstd());
                assertClose(cg.dx(), dg.dx(), 1e-4, 1e-5, what + " dx");
                assertClose(cg.dgamma(), dg.dgamma(), 1e-4, 1e-4, what + " dgamma");
                assertClose(cg.dbeta(), dg.dbeta(), 1e-5, 1e-5, what + " dbeta");
                var dg2 = gpu.layerNormBackward(onGpu(dy), onGpu(x), onGpu(g), d.mean(), d.rstd());
                assertBitwise(dg.dgamma(), dg2.dgamma(), what + " dgamma deterministic");
                assertBitwise(dg.dbeta(), dg2.dbeta(), what + " dbeta deterministic");
            }
        }
    }

    /**
     * Against the CPU, whose dγ and dβ sum every row in order in double: the GPU's sum a few rows a
     * warp in float32, then warps and blocks in double ({600, 128}: many blocks, several rows a
     * warp); rows wider than the kernel's sums ({3, 1040}) take the composed ops.
     */
    @Test
    void dropoutAddLayerNormMatchesTheCpuWithTheSameMask() {
        for (int[] shape : new int[][] {{4, 7, 384}, {3, 33}, {5, 6}, {2, 1}, {600, 128}, {3, 1040}}) {
            for (double p : new double[] {0, 0.1}) {
                int h = shape[shape.length - 1];
                Tensor x = randn(DType.F32, shape), r = randn(DType.F32, shape).mul(2).add(0.5);
                Tensor g = randn(DType.F32, h), b = randn(DType.F32, h), dy = randn(DType.F32, shape);
                String what = "dropout+residual+layernorm " + Arrays.toString(shape) + " p=" + p;
                var c = CPU.dropoutAddLayerNorm(x, r, g, b, 1e-12, p, 77, 5);
                var d = gpu.dropoutAddLayerNorm(onGpu(x), onGpu(r), onGpu(g), onGpu(b), 1e-12, p, 77, 5);
                // the sum is one multiply and one add per element on both: equal bits mean equal masks
                assertBitwise(c.sum(), d.sum(), what + " sum");
                assertClose(c.y(), d.y(), 1e-5, 1e-5, what + " y");
                assertClose(c.mean(), d.mean(), 1e-5, 1e-6, what + " mean");
                assertClose(c.rstd(), d.rstd(), what + " rstd");
                var cg = CPU.dropoutAddLayerNormBackward(dy, c, g, p, 77, 5);
                var dg = gpu.dropoutAddLayerNormBackward(onGpu(dy), d, onGpu(g), p, 77, 5);
                assertClose(cg.dresidual(), dg.dresidual(), 1e-4, 1e-5, what + " d residual");
                assertClose(cg.dx(), dg.dx(), 1e-4, 1e-5, what + " dx");
                assertClose(cg.dgamma(), dg.dgamma(), 1e-4, 1e-4, what + " dgamma");
                assertClose(cg.dbeta(), dg.dbeta(), 1e-5, 1e-5, what + " dbeta");
                double[] dx = dg.dx().toDoubleArray(), ds = dg.dresidual().toDoubleArray();
                double[] mask = CPU.dropoutMask(DType.F32, shape, p, 77, 5).toDoubleArray();
                for (int i = 0; i < dx.length && p > 0; i++) {
                    if ((float) (ds[i] * mask[i]) != dx[i]) fail(what + ": dx[" + i + "] " + dx[i] + " is not " + ds[i] + " times the mask " + mask[i]);
                }
            }
        }
    }

    /**
     * Rows of BERT's widths on 16-byte boundaries go through the kernels' register path (16-byte
     * accesses, the row held between passes); the same rows one element off a boundary go through
     * the element loop. Both take the same elements per lane in the same order, so every output
     * has the same bits, with and without dropout and with a BF16 copy.
     */
    @Test
    void dropoutAddLayerNormGivesTheSameBitsOnBothPaths() {
        int rows = 6, len = 384;
        for (double p : new double[] {0, 0.1}) {
            Tensor x = randn(DType.F32, rows * len + 1), r = randn(DType.F32, rows * len + 1), dy = randn(DType.F32, rows * len + 1);
            Tensor g = onGpu(randn(DType.F32, len)), b = onGpu(randn(DType.F32, len));
            // the aligned tensors are copies of the shifted views, so both paths see the same values
            Tensor xs = onGpu(x).narrow(0, 1, rows * len).reshape(rows, len), rs = onGpu(r).narrow(0, 1, rows * len).reshape(rows, len);
            Tensor dys = onGpu(dy).narrow(0, 1, rows * len).reshape(rows, len);
            Tensor xa = onGpu(x.narrow(0, 1, rows * len).contiguous().reshape(rows, len));
            Tensor ra = onGpu(r.narrow(0, 1, rows * len).contiguous().reshape(rows, len));
            Tensor dya = onGpu(dy.narrow(0, 1, rows * len).contiguous().reshape(rows, len));
            String what = "dropout+residual+layernorm, p=" + p + ", register path against element loop";
            var loop = gpu.dropoutAddLayerNorm(xs, rs, g, b, 1e-12, p, 77, 5, DType.BF16);
            var regs = gpu.dropoutAddLayerNorm(xa, ra, g, b, 1e-12, p, 77, 5, DType.BF16);
            assertBitwise(loop.out().sum(), regs.out().sum(), what + ": sum");
            assertBitwise(loop.out().y(), regs.out().y(), what + ": y");
            assertBitwise(loop.out().mean(), regs.out().mean(), what + ": mean");
            assertBitwise(loop.out().rstd(), regs.out().rstd(), what + ": rstd");
            assertBitwise(loop.copy(), regs.copy(), what + ": copy");
            var loopBack = gpu.dropoutAddLayerNormBackward(dys, regs.out(), g, p, 77, 5);
            var regsBack = gpu.dropoutAddLayerNormBackward(dya, regs.out(), g, p, 77, 5);
            assertBitwise(loopBack.dresidual(), regsBack.dresidual(), what + ": d residual");
            assertBitwise(loopBack.dgamma(), regsBack.dgamma(), what + ": dgamma");
            assertBitwise(loopBack.dbeta(), regsBack.dbeta(), what + ": dbeta");
            if (p > 0) assertBitwise(loopBack.dx(), regsBack.dx(), what + ": dx");
            var loopHalf = gpu.dropoutAddLayerNormBackward(dys, regs.out(), g, p, 77, 5, DType.BF16);
            var regsHalf = gpu.dropoutAddLayerNormBackward(dya, regs.out(), g, p, 77, 5, DType.BF16);
            assertBitwise(loopHalf.dresidual(), regsHalf.dresidual(), what + ": d residual (BF16 dx)");
            assertBitwise(loopHalf.dx(), regsHalf.dx(), what + ": BF16 dx");
        }
    }

    /**
     * Dropout's x ⊙ mask under autocast also written in BF16/F16 for the Linear it feeds: the
     * float32 product bit for bit binary MUL's, the copy bit for bit its cast, and against the exact
     * product in float64: 2⁻²⁴ relative for float32, plus 2⁻⁸ (BF16, 8 significant bits) or 2⁻¹¹
     * (F16, 11) for the rounding to the format, F16's subnormals 2⁻²⁵ absolute.
     */
    @Test
    void dropoutProductWritesTheHalfCopyItsLinearReads() {
        for (DType h : new DType[] {DType.BF16, DType.F16}) {
            double unit = h == DType.BF16 ? 0x1p-8 : 0x1p-11, subnormal = h == DType.BF16 ? 0 : 0x1p-25;
            Tensor a = onGpu(randn(DType.F32, 3, 5, 67)), mask = gpu.dropoutMask(DType.F32, a.shape(), 0.1, 77, 5);
            var y = gpu.mul(a, mask, h);
            Tensor plain = a.mul(mask);
            assertBitwise(plain, y.out(), h + " dropout product");
            assertBitwise(plain.cast(h), y.copy(), h + " dropout product copy");
            double[] x = a.toDoubleArray(), m = mask.toDoubleArray(), out = y.out().toDoubleArray(), copy = y.copy().toDoubleArray();
            for (int i = 0; i < x.length; i++) {
                double ref = x[i] * m[i];
                assertTrue(Math.abs(out[i] - ref) <= 0x1p-24 * Math.abs(ref), h + ": float32 product " + i);
                assertTrue(Math.abs(copy[i] - ref) <= (unit + 0x1p-24) * Math.abs(ref) + subnormal, h + ": copy " + copy[i] + " against " + ref);
            }
        }
    }

    /**
     * The backward of dropout + residual + LayerNorm under autocast writes x's gradient in BF16/F16
     * only, the dY operand of the products of the Linear before the block: the float32 gradients
     * bit for bit the plain kernel's and dx bit for bit the plain dx's cast (dresidual's when
     * p = 0), and against float64 on the CPU of the same float32 dy, sum and statistics. Bound: the
     * float32 kernel's own (1e-4 relative, 1e-5 absolute, as against the CPU above) plus one
     * rounding to the format, 2⁻⁸ relative for BF16 and 2⁻¹¹ for F16 (doubled: float32's error may
     * cross a rounding midpoint), F16's subnormals 2⁻²⁵ absolute.
     */
    @Test
    void dropoutAddLayerNormBackwardWritesOnlyTheHalfDyOfTheLinearBefore() {
        for (DType half : new DType[] {DType.BF16, DType.F16}) {
            double unit = half == DType.BF16 ? 0x1p-8 : 0x1p-11, subnormal = half == DType.BF16 ? 0 : 0x1p-25;
            for (int[] shape : new int[][] {{4, 7, 384}, {3, 33}}) {
                for (double p : new double[] {0, 0.1}) {
                    int h = shape[shape.length - 1];
                    Tensor x = onGpu(randn(DType.F32, shape)), r = onGpu(randn(DType.F32, shape)), g = onGpu(randn(DType.F32, h)),
                            b = onGpu(randn(DType.F32, h)), dy = onGpu(randn(DType.F32, shape));
                    String what = half + " dropout+residual+layernorm backward " + Arrays.toString(shape) + " p=" + p;
                    var fwd = gpu.dropoutAddLayerNorm(x, r, g, b, 1e-12, p, 77, 5);
                    var plain = gpu.dropoutAddLayerNormBackward(dy, fwd, g, p, 77, 5);
                    var rounded = gpu.dropoutAddLayerNormBackward(dy, fwd, g, p, 77, 5, half);
                    assertBitwise(plain.dresidual(), rounded.dresidual(), what + " dresidual");
                    assertBitwise(plain.dgamma(), rounded.dgamma(), what + " dgamma");
                    assertBitwise(plain.dbeta(), rounded.dbeta(), what + " dbeta");
                    assertEquals(half, rounded.dx().dtype());
                    assertBitwise(plain.dx().cast(half), rounded.dx(), what + " dx");

                    Tensor sum64 = CPU.fromHost(fwd.sum().toDoubleArray(), DType.F64, shape);
                    var fwd64 = new Backend.ResidualNormOut(null, sum64, CPU.fromHost(fwd.mean().toDoubleArray(), DType.F64, fwd.mean().shape()),
                            CPU.fromHost(fwd.rstd().toDoubleArray(), DType.F64, fwd.rstd().shape()), null);
                    double[] ref = CPU.dropoutAddLayerNormBackward(CPU.fromHost(dy.toDoubleArray(), DType.F64, shape), fwd64,
                            CPU.fromHost(g.toDoubleArray(), DType.F64, h), p, 77, 5).dx().toDoubleArray(), got = rounded.dx().toDoubleArray();
                    for (int i = 0; i < ref.length; i++) {
                        double tol = (1e-4 + 2 * unit) * Math.abs(ref[i]) + 1e-5 + subnormal;
                        if (!(Math.abs(got[i] - ref[i]) <= tol)) fail(what + ": dx[" + i + "] " + got[i] + " against float64 " + ref[i]);
                    }
                }
            }
        }
    }

    /**
     * dropout + residual + LayerNorm under autocast: y also written in BF16/F16 for the Linear it
     * feeds, and x read in that format (the Linear before it wrote its product so). With float32 x
     * the float32 outputs are bit for bit the plain op's and the copy is bit for bit y's cast. With
     * half x, the sum is bit for bit the CPU's on the widened x (the same mask, an exact widening),
     * y is within 2⁻¹⁶·(|γ|·(|x̂| + 1) + |β|) of float64's LayerNorm of the same rounded inputs
     * (far under one rounding to either format), and the copy within that plus one rounding: 2⁻⁸
     * of |y| for BF16 (8 significant bits), 2⁻¹¹ for F16 and 2⁻²⁵ absolute for its subnormals.
     */
    @Test
    void dropoutAddLayerNormWritesTheHalfCopyAndReadsAHalfProduct() {
        for (DType h : new DType[] {DType.BF16, DType.F16}) {
            double rounding = h == DType.BF16 ? 0x1p-8 : 0x1p-11, floor = h == DType.F16 ? 0x1p-25 : 0;
            for (int[] shape : new int[][] {{4, 7, 384}, {3, 33}}) {
                for (double p : new double[] {0, 0.1}) {
                    int len = shape[shape.length - 1];
                    Tensor x = randn(DType.F32, shape), r = randn(DType.F32, shape).mul(2).add(0.5);
                    Tensor g = randn(DType.F32, len), b = randn(DType.F32, len);
                    String what = h + " dropout+residual+layernorm " + Arrays.toString(shape) + " p=" + p;
                    var plain = gpu.dropoutAddLayerNorm(onGpu(x), onGpu(r), onGpu(g), onGpu(b), 1e-12, p, 77, 5);
                    var copied = gpu.dropoutAddLayerNorm(onGpu(x), onGpu(r), onGpu(g), onGpu(b), 1e-12, p, 77, 5, h);
                    assertBitwise(plain.sum(), copied.out().sum(), what + " sum");
                    assertBitwise(plain.y(), copied.out().y(), what + " y");
                    assertBitwise(plain.mean(), copied.out().mean(), what + " mean");
                    assertBitwise(plain.rstd(), copied.out().rstd(), what + " rstd");
                    assertEquals(h, copied.copy().dtype(), what);
                    assertBitwise(plain.y().cast(h), copied.copy(), what + " copy");

                    Tensor xh = x.cast(h);
                    var fromHalf = gpu.dropoutAddLayerNorm(onGpu(xh), onGpu(r), onGpu(g), onGpu(b), 1e-12, p, 77, 5, h);
                    assertBitwise(CPU.dropoutAddLayerNorm(xh.cast(DType.F32), r, g, b, 1e-12, p, 77, 5).sum(), fromHalf.out().sum(),
                            what + " sum from " + h);
                    double[] mask = p > 0 ? CPU.dropoutMask(DType.F32, shape, p, 77, 5).toDoubleArray() : null;
                    double[] xs = xh.toDoubleArray(), rs = r.toDoubleArray(), gs = g.toDoubleArray(), bs = b.toDoubleArray();
                    double[] y = fromHalf.out().y().toDoubleArray(), copy = fromHalf.copy().toDoubleArray();
                    for (int row = 0; row < xs.length / len; row++) {
                        double[] sum = new double[len];
                        double mu = 0, var = 0;
                        for (int j = 0; j < len; j++) {
                            int i = row * len + j;
                            sum[j] = xs[i] * (mask == null ? 1 : mask[i]) + rs[i];
                            mu += sum[j] / len;
                        }
                        for (int j = 0; j < len; j++) var += (sum[j] - mu) * (sum[j] - mu) / len;
                        for (int j = 0; j < len; j++) {
                            int i = row * len + j;
                            double normed = (sum[j] - mu) / Math.sqrt(var + 1e-12), expected = normed * gs[j] + bs[j];
                            double tol = 0x1p-16 * (Math.abs(gs[j]) * (Math.abs(normed) + 1) + Math.abs(bs[j]));
                            if (!(Math.abs(y[i] - expected) <= tol)) fail(what + " from " + h + ": y[" + i + "] " + y[i] + ", float64 " + expected);
                            double copyTol = tol * (1 + rounding) + rounding * Math.abs(expected) + floor;
                            if (!(Math.abs(copy[i] - expected) <= copyTol)) {
                                fail(what + " from " + h + ": copy[" + i + "] " + copy[i] + ", float64 " + expected + " (bound " + copyTol + ")");
                            }
                        }
                    }
                }
            }
        }
    }

    /** {@code t} on the GPU as a contiguous view that starts one element into its storage. */
    Tensor shifted(Tensor t) {
        Tensor flat = onGpu(Tensor.concat(List.of(CPU.zeros(t.dtype(), 1), t.reshape(t.numel())), 0));
        return flat.narrow(0, 1, t.numel()).reshape(t.shape());
    }

    @Test
    void crossEntropyWithIgnoredRows() {
        for (DType t : FLOATS) {
            Tensor logits = randn(t, 12, 50).mul(2);
            int[] lab = {0, 3, -100, 49, 7, 7, -100, 1, 2, 30, 31, 11};
            Tensor labels = CPU.fromHost(lab, DType.I32, 12);
            Tensor gl = onGpu(logits), glab = onGpu(labels);
            for (double smoothing : new double[] {0, 0.1}) {
                String what = "cross-entropy " + t + " smoothed by " + smoothing;
                assertClose(CPU.crossEntropy(logits, labels, -100, smoothing), gpu.crossEntropy(gl, glab, -100, smoothing), what);
                Tensor dLoss = CPU.full(t, new int[0], 0.75);
                assertClose(CPU.crossEntropyBackward(logits, labels, -100, smoothing, dLoss),
                        gpu.crossEntropyBackward(gl, glab, -100, smoothing, onGpu(dLoss)), 1e-5, 1e-7, what + ", backward");
            }
        }
        Tensor bad = gpu.fromHost(new int[] {0, 5}, DType.I32, 2);
        var e = assertThrows(IllegalArgumentException.class, () -> gpu.crossEntropy(gpu.zeros(DType.F32, 2, 5), bad, -100, 0));
        assertTrue(e.getMessage().contains("label 5 at row 1"), e.getMessage());
    }

    // ---- indexing -----------------------------------------------------------------------------

    @Test
    void embeddingGatherAndDeterministicScatterAddMatchBitForBit() {
        for (DType t : FLOATS) {
            Tensor w = randn(t, 50, 40);
            int[] ids = new int[4 * 33];
            for (int i = 0; i < ids.length; i++) ids[i] = random.nextInt(i % 3 == 0 ? 3 : 50); // many repeats
            Tensor id = CPU.fromHost(ids, DType.I32, 4, 33);
            Tensor dy = randn(t, 4, 33, 40);
            assertBitwise(CPU.embedding(w, id), gpu.embedding(onGpu(w), onGpu(id)), "embedding " + t);
            // summed in position order on both sides, without fused multiply-adds: the same bits
            assertBitwise(CPU.embeddingBackward(id, dy, 50), gpu.embeddingBackward(onGpu(id), onGpu(dy), 50), "embedding backward " + t);
        }
        // segments of 256 positions or more go to the kernel of a block a segment: one of 800
        // positions (13 chunks, the last ragged) and one of 300, beside short ones; 40 columns, the
        // second group of 32 partly past the row
        for (DType t : FLOATS) {
            int[] ids = new int[1200];
            for (int i = 0; i < ids.length; i++) ids[i] = i % 3 != 2 ? 0 : i % 4 != 3 ? 7 : random.nextInt(50);
            Tensor id = CPU.fromHost(ids, DType.I32, 4, 300);
            Tensor dy = randn(t, 4, 300, 40);
            assertBitwise(CPU.embeddingBackward(id, dy, 50), gpu.embeddingBackward(onGpu(id), onGpu(dy), 50), "long segments " + t);
        }
        Tensor badIds = gpu.fromHost(new int[] {1, 50}, DType.I32, 2);
        var e = assertThrows(IllegalArgumentException.class, () -> gpu.embedding(gpu.zeros(DType.F32, 50, 4), badIds));
        assertTrue(e.getMessage().contains("id 50 at position 1"), e.getMessage());
    }

    /** Ids are checked on the host from their upload, without a read back, until the device writes them. */
    @Test
    void idsAreCheckedFromTheirUploadUntilTheDeviceWritesThem() {
        Tensor w = randn(DType.F32, 50, 8), gw = onGpu(w);
        Tensor ids = gpu.fromHost(new int[] {1, 2, 3, 4, 5, 6}, DType.I32, 6);
        assertBitwise(CPU.embedding(w, CPU.fromHost(new int[] {3, 4, 5}, DType.I32, 3)), gpu.embedding(gw, ids.narrow(0, 2, 3)), "a view");
        int[] written = {7, 7, 0, 49, 9, 8};
        gpu.copyInPlace(ids, gpu.fromHost(written, DType.I32, 6));
        assertBitwise(CPU.embedding(w, CPU.fromHost(written, DType.I32, 6)), gpu.embedding(gw, ids), "ids written in place");
        gpu.copyInPlace(ids.narrow(0, 5, 1), gpu.fromHost(new int[] {50}, DType.I32, 1));
        var e = assertThrows(IllegalArgumentException.class, () -> gpu.embedding(gw, ids));
        assertTrue(e.getMessage().contains("id 50 at position 5"), e.getMessage());
        Tensor made = gpu.fromHost(new float[] {4, 0, 2}, DType.F32, 3).cast(DType.I32);
        assertBitwise(CPU.embedding(w, CPU.fromHost(new int[] {4, 0, 2}, DType.I32, 3)), gpu.embedding(gw, made), "ids made on the device");
    }

    @Test
    void concatAlongEveryAxis() {
        for (DType t : DType.values()) {
            Tensor a = randn(DType.F32, 2, 3, 4).cast(t), b = randn(DType.F32, 2, 5, 4).cast(t), c = randn(DType.F32, 2, 1, 4).cast(t);
            assertBitwise(Tensor.concat(List.of(a, b, c), 1), Tensor.concat(List.of(onGpu(a), onGpu(b), onGpu(c)), 1), "concat axis 1 " + t);
            Tensor d = randn(DType.F32, 2, 3, 7).cast(t);
            assertBitwise(Tensor.concat(List.of(a, d), 2), Tensor.concat(List.of(onGpu(a), onGpu(d)), 2), "concat axis 2 " + t);
            assertBitwise(Tensor.concat(List.of(a, a.narrow(0, 1, 1)), 0),
                    Tensor.concat(List.of(onGpu(a), onGpu(a).narrow(0, 1, 1)), 0), "concat axis 0 with a view " + t);
        }
    }

    // ---- in place and the optimizer -----------------------------------------------------------

    @Test
    void inPlaceOpsSumOfSquaresAndAdamW() {
        for (DType t : FLOATS) {
            Tensor dst = randn(t, 1000), src = randn(t, 1000);
            Tensor gdst = onGpu(dst), gsrc = onGpu(src);
            CPU.addInPlace(dst, src, -0.3);
            gpu.addInPlace(gdst, gsrc, -0.3);
            assertClose(dst, gdst, "addInPlace " + t);
            CPU.scaleInPlace(dst, 1.7);
            gpu.scaleInPlace(gdst, 1.7);
            assertClose(dst, gdst, "scaleInPlace " + t);
            Tensor big = randn(t, 6, 100);
            Tensor gbig = onGpu(big);
            CPU.copyInPlace(big.narrow(1, 10, 50), src.narrow(0, 0, 300).reshape(6, 50));
            gpu.copyInPlace(gbig.narrow(1, 10, 50), gsrc.narrow(0, 0, 300).reshape(6, 50));
            assertBitwise(big, gbig, "copyInPlace into a strided view " + t);

            // the CPU sums float32 squares in float32 runs (SimdSquares: within 2⁻¹⁸), the GPU in double
            double sumTolerance = t == DType.F32 ? 0x1p-18 : 1e-12;
            Tensor x = randn(t, 3_000_001);
            double cs = CPU.sumOfSquares(x), gs = gpu.sumOfSquares(onGpu(x));
            assertEquals(cs, gs, sumTolerance * cs, "sumOfSquares " + t);
            assertEquals(gs, gpu.sumOfSquares(onGpu(x)), 0.0, "sumOfSquares deterministic " + t);
            // over several tensors at once, one of them empty and one a strided view: a gradient norm
            List<Tensor> several = List.of(x, randn(t, 0), randn(t, 70000), randn(t, 3, 5).transpose(0, 1));
            double cl = CPU.sumOfSquares(several), gl = gpu.sumOfSquares(several.stream().map(this::onGpu).toList());
            assertEquals(cl, gl, sumTolerance * cl, "sumOfSquares of a list " + t);

            Tensor p = randn(t, 5000), m = CPU.zeros(t, 5000), v = CPU.zeros(t, 5000);
            Tensor gp = onGpu(p), gm = onGpu(m), gv = onGpu(v);
            for (int step = 1; step <= 5; step++) {
                Tensor g = randn(t, 5000);
                var st = new Backend.AdamWStep(1e-3, 0.9, 0.999, 1e-8, 0.01, step);
                CPU.adamW(p, g, m, v, st);
                gpu.adamW(gp, onGpu(g), gm, gv, st);
            }
            assertClose(p, gp, 1e-6, 1e-7, "adamW param " + t);
            assertClose(m, gm, 1e-6, 1e-8, "adamW m " + t);
            assertClose(v, gv, 1e-6, 1e-10, "adamW v " + t);

            // the list forms over 50 parameters of assorted sizes (more than one launch holds, and
            // some longer than a block's chunk), against the CPU one tensor at a time
            List<Tensor> ps = new ArrayList<>(), ms = new ArrayList<>(), vs = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                int n = i % 7 == 0 ? 9000 + i : 1 + 37 * i;
                ps.add(randn(t, n));
                ms.add(CPU.zeros(t, n));
                vs.add(CPU.zeros(t, n));
            }
            List<Tensor> gps = ps.stream().map(this::onGpu).toList(), gms = ms.stream().map(this::onGpu).toList();
            List<Tensor> gvs = vs.stream().map(this::onGpu).toList();
            for (int step = 1; step <= 3; step++) {
                List<Tensor> grads = ps.stream().map(q -> randn(t, q.shape())).toList();
                List<Tensor> clipped = CPU.scaled(grads, 0.37), gclipped = gpu.scaled(grads.stream().map(this::onGpu).toList(), 0.37);
                for (int i = 0; i < grads.size(); i++) assertBitwise(clipped.get(i), gclipped.get(i), "scaled " + i + " " + t);
                // in place (an fp16 update's unscale): each tensor the list product, where it lies
                List<Tensor> inPlace = grads.stream().map(this::onGpu).toList();
                gpu.scaleInPlace(inPlace, 0.37);
                for (int i = 0; i < grads.size(); i++) assertBitwise(clipped.get(i), inPlace.get(i), "scaled in place " + i + " " + t);
                var st = new Backend.AdamWStep(2e-3, 0.9, 0.999, 1e-8, 0.01, step);
                CPU.adamW(ps, clipped, ms, vs, st);
                gpu.adamW(gps, gclipped, gms, gvs, st);
            }
            for (int i = 0; i < ps.size(); i++) {
                assertClose(ps.get(i), gps.get(i), 1e-6, 1e-7, "adamW list param " + i + " " + t);
                assertClose(vs.get(i), gvs.get(i), 1e-6, 1e-10, "adamW list v " + i + " " + t);
            }
        }
    }

    /**
     * The guarded list update clips each gradient as it reads it: the same bits as the update on the
     * gradients scaled by the guard's coefficient (torch's clip_grad_norm_ writes g·c in float32),
     * for lengths off four elements, a parameter one element into its storage (no 16-byte accesses)
     * and one longer than a block's chunk. A guard that says skip leaves everything as it was.
     */
    @Test
    void guardedAdamWClipsEachGradientAsItReadsIt() {
        Tensor storage = randn(DType.F32, 1001);
        List<Tensor> values = List.of(randn(DType.F32, 9000), randn(DType.F32, 3), randn(DType.F32, 4096 + 6));
        List<Tensor> guarded = new ArrayList<>(values.stream().map(this::onGpu).toList());
        List<Tensor> composed = new ArrayList<>(values.stream().map(this::onGpu).toList());
        guarded.add(onGpu(storage).narrow(0, 1, 1000));
        composed.add(onGpu(storage).narrow(0, 1, 1000));
        List<Tensor> ps = List.copyOf(guarded);
        List<Tensor> gm = zerosLike(ps), cm = zerosLike(ps), gv = zerosLike(ps), cv = zerosLike(ps);
        Tensor loss = gpu.fromHost(new float[] {0.7f}, DType.F32);
        for (int step = 1; step <= 2; step++) {
            List<Tensor> grads = ps.stream().map(p -> onGpu(randn(DType.F32, p.shape()))).toList();
            double norm = Math.sqrt(CPU.sumOfSquares(grads.stream().map(g -> g.to(CPU)).toList()));
            Tensor guard = gpu.updateGuard(List.of(loss), grads, 0.5);
            double coef = ((double[]) guard.toHost())[2];
            assertEquals(Backend.clipCoefficient(0.5, norm), coef, 1e-6 * coef, "the guard's clipping coefficient");
            assertTrue(coef < 1, "clipping at a norm of " + norm);
            var st = new Backend.AdamWStep(2e-3, 0.9, 0.999, 1e-8, 0.01, step);
            gpu.adamW(composed, gpu.scaled(grads, coef), cm, cv, st);
            gpu.adamW(guarded, grads, gm, gv, st, guard);
            for (int i = 0; i < ps.size(); i++) {
                assertBitwise(composed.get(i), guarded.get(i), "param " + i + " at step " + step);
                assertBitwise(cm.get(i), gm.get(i), "m " + i + " at step " + step);
                assertBitwise(cv.get(i), gv.get(i), "v " + i + " at step " + step);
            }
        }
        List<Tensor> before = guarded.stream().map(p -> p.to(CPU)).toList();
        List<Tensor> grads = ps.stream().map(p -> onGpu(randn(DType.F32, p.shape()))).toList();
        Tensor skip = gpu.updateGuard(List.of(gpu.fromHost(new float[] {Float.NaN}, DType.F32)), grads, 0.5);
        gpu.adamW(guarded, grads, gm, gv, new Backend.AdamWStep(2e-3, 0.9, 0.999, 1e-8, 0.01, 3), skip);
        for (int i = 0; i < ps.size(); i++) assertBitwise(before.get(i), guarded.get(i), "param " + i + " after a skipped update");
    }

    /**
     * The halted word makes a skip final, on the device as in the default on the host: finite updates
     * before the first non-finite one go through and leave it 0; the non-finite one sets it; a finite
     * one after that is skipped too, its own loss and norm still reported. Without the word the same
     * finite update goes through.
     */
    @Test
    void aHaltedWordKeepsSkippingAfterANonFiniteUpdate() {
        List<Tensor> grads = List.of(onGpu(randn(DType.F32, 300)), onGpu(randn(DType.F32, 7)));
        List<Tensor> cpuGrads = grads.stream().map(g -> g.to(CPU)).toList();
        Tensor halted = gpu.zeros(DType.F64, 1), cpuHalted = CPU.zeros(DType.F64, 1);
        float[] losses = {0.7f, Float.POSITIVE_INFINITY, 0.6f, 0.5f};
        double[] skips = {0, 1, 1, 1}, haltedAfter = {0, 1, 1, 1};
        for (int i = 0; i < losses.length; i++) {
            Tensor loss = gpu.fromHost(new float[] {losses[i]}, DType.F32);
            double[] got = (double[]) gpu.updateGuard(List.of(loss), grads, 0.5, halted).toHost();
            double[] want = (double[]) CPU.updateGuard(List.of(loss.to(CPU)), cpuGrads, 0.5, cpuHalted).toHost();
            assertEquals(want[3], got[3], "skip of update " + i + " against the host's");
            assertEquals(want[1], got[1], 1e-6 * want[1], "norm of update " + i + " against the host's");
            assertEquals(skips[i], got[3], "skip of update " + i);
            assertEquals(losses[i], got[0], "update " + i + " reports its own loss");
            assertEquals(haltedAfter[i], ((double[]) halted.toHost())[0], "halted after update " + i);
            assertEquals(haltedAfter[i], ((double[]) cpuHalted.toHost())[0], "the host's halted after update " + i);
        }
        double[] unhalted = (double[]) gpu.updateGuard(List.of(gpu.fromHost(new float[] {0.5f}, DType.F32)), grads, 0.5).toHost();
        assertEquals(0, unhalted[3], "without the word, a finite update goes through");
    }

    /**
     * castAll (autocast's parameters, 48 to a launch) gives each tensor the bits of the CPU's cast, for
     * more tensors than one launch takes, an empty one and a transposed view.
     */
    @Test
    void castAllHasTheBitsOfACastEach() {
        for (DType h : new DType[] {DType.BF16, DType.F16}) {
            List<Tensor> ts = new ArrayList<>();
            for (int i = 0; i < 50; i++) ts.add(onGpu(randn(DType.F32, i % 7 == 0 ? 5000 + i : 1 + 37 * i).mul(i % 3 == 0 ? 1e-6 : 30)));
            ts.add(onGpu(randn(DType.F32, 0)));
            ts.add(onGpu(randn(DType.F32, 9, 13)).transpose(0, 1));
            List<Tensor> all = gpu.castAll(ts, h);
            for (int i = 0; i < ts.size(); i++) {
                assertEquals(h, all.get(i).dtype());
                assertBitwise(ts.get(i).to(CPU).cast(h), all.get(i), h + " castAll of tensor " + i);
            }
        }
    }

    private List<Tensor> zerosLike(List<Tensor> ts) {
        return ts.stream().map(t -> gpu.zeros(t.dtype(), t.shape())).toList();
    }

    // ---- failures -----------------------------------------------------------------------------

    @Test
    void runningOutOfGpuMemoryIsAnExceptionNamingTheRequest() {
        List<Tensor> hold = new ArrayList<>();
        var e = assertThrows(DeviceOutOfMemoryException.class, () -> {
            for (int i = 0; i < 40; i++) hold.add(gpu.zeros(DType.F64, 1 << 30)); // 8 GiB each, the most one tensor holds
        });
        assertTrue(e.getMessage().startsWith("out of GPU memory allocating 8192.0 MiB for a F64 tensor of shape [1073741824]"),
                e.getMessage());
        hold.clear();
        // the device still works afterwards
        assertBitwise(CPU.full(DType.F32, new int[] {3}, 2), gpu.full(DType.F32, new int[] {3}, 2), "after out of memory");
    }

    @Test
    void describeNamesTheGpuDriverAndGemmPath() {
        String d = gpu.describe();
        assertTrue(d.contains("compute capability"), d);
        assertTrue(d.contains("driver:   CUDA"), d);
        assertTrue(d.contains("gemm:"), d);
        System.out.println(d);
    }
}
