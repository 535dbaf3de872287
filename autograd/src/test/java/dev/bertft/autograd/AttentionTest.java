package dev.bertft.autograd;

import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The fused attention op against the same math spelled out with plain ops (matmul, softmax,
 * dropout), forward and backward; the plain ops are themselves checked by finite differences
 * and PyTorch fixtures.
 */
class AttentionTest {
    private static final CpuBackend CPU = new CpuBackend(2);
    private static final int B = 2, NH = 3, T = 7, HS = 5;

    private static Tensor random(long seed, DType dtype, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] d = new double[Tensor.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = r.nextDouble(-1, 1);
        return Tensor.of(CPU, d, shape).cast(dtype);
    }

    /** Batch 0 has two padded keys, batch 1 none. */
    private static Tensor mask(DType dtype) {
        double min = -3.4028234663852886e38;
        double[] m = new double[B * T];
        m[T - 1] = min;
        m[T - 2] = min;
        return Tensor.of(CPU, m, B, T).cast(dtype);
    }

    private static Var composed(Var q, Var k, Var v, Tensor mask, double scale, double p, long seed, long offset) {
        Var scores = q.matmul(k.transpose(-1, -2)).mul(scale).add(Var.constant(mask.unsqueeze(1).unsqueeze(1)));
        return scores.softmax().dropout(p, true, seed, offset).matmul(v);
    }

    @Test
    void fusedFloatMatchesComposition() {
        for (double p : new double[] {0.0, 0.3}) {
            List<Var> fused = List.of(Var.parameter(random(1, DType.F32, B, NH, T, HS)), Var.parameter(random(2, DType.F32, B, NH, T, HS)),
                    Var.parameter(random(3, DType.F32, B, NH, T, HS)));
            List<Var> plain = List.of(Var.parameter(fused.get(0).value()), Var.parameter(fused.get(1).value()),
                    Var.parameter(fused.get(2).value()));
            Tensor mask = mask(DType.F32), seedGrad = random(4, DType.F32, B, NH, T, HS);
            double scale = 1 / Math.sqrt(HS);
            Var a = Var.attention(fused.get(0), fused.get(1), fused.get(2), mask, scale, p, true, 99, 5);
            Var c = composed(plain.get(0), plain.get(1), plain.get(2), mask, scale, p, 99, 5);
            assertClose(c.value(), a.value(), 2e-6, "out p=" + p);
            a.backward(seedGrad);
            c.backward(seedGrad);
            for (int i = 0; i < 3; i++) assertClose(plain.get(i).grad(), fused.get(i).grad(), 2e-5, "grad " + "qkv".charAt(i) + " p=" + p);
        }
    }

    /**
     * Attention asked at the first query positions only (the [CLS] rows) is those rows of the full
     * attention, dropout included, bit for bit: float32 through the CPU kernel, float64 through the
     * composed ops; T = 64 draws the dropout bits a block of rows at a time, T = 7 a row at a time.
     * With the output's gradient zero at the other rows, as a head that reads only these leaves it,
     * the packed gradient is the full attention's to the bit (zeros at the other queries).
     */
    @Test
    void firstQueryRowsAreTheFullAttentionsRows() {
        for (DType dtype : new DType[] {DType.F32, DType.F64}) {
            for (int t : new int[] {7, 64}) {
                for (int rows : new int[] {1, 3}) {
                    double[] m = new double[B * t];
                    m[t - 1] = m[t - 2] = -3.4028234663852886e38;  // batch 0 has two padded keys
                    Tensor mask = Tensor.of(CPU, m, B, t).cast(dtype), x = random(20 + t, dtype, B, t, 3 * NH * HS);
                    Tensor up = random(21, dtype, B, NH, rows, HS), upAll = CPU.zeros(dtype, B, NH, t, HS);
                    CPU.copyInPlace(upAll.narrow(2, 0, rows), up);
                    Var all = Var.parameter(x), first = Var.parameter(x);
                    Var full = Var.packedAttention(all, NH, t, mask, 0.4, 0.3, true, 7, 3);
                    Var part = Var.packedAttention(first, NH, rows, mask, 0.4, 0.3, true, 7, 3);
                    String at = dtype + " T=" + t + " rows=" + rows;
                    assertArrayEquals(full.value().narrow(2, 0, rows).contiguous().toDoubleArray(), part.value().toDoubleArray(), at + ": out");
                    full.backward(upAll);
                    part.backward(up);
                    assertArrayEquals(all.grad().toDoubleArray(), first.grad().toDoubleArray(), at + ": packed gradient");
                }
            }
        }
    }

    /**
     * Q, K and V packed in one [B, T, 3·NH·HS] tensor, as a fused Q/K/V linear makes them: the
     * output is attention's on the heads sliced out by hand (the same math, so the same bits), and
     * the gradient is attention's three gradients laid back side by side: float64 through the
     * composed ops, float32 through the CPU kernel, which writes the packed gradient in place.
     */
    @Test
    void packedHeadsAreAttentionOfTheirSlices() {
        for (DType dtype : new DType[] {DType.F64, DType.F32}) {
            for (double p : new double[] {0.0, 0.3}) {
                Var packed = Var.parameter(random(9, dtype, B, T, 3 * NH * HS));
                List<Var> heads = new java.util.ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    heads.add(Var.parameter(packed.value().narrow(2, i * NH * HS, NH * HS).reshape(B, T, NH, HS).permute(0, 2, 1, 3).contiguous()));
                }
                Tensor mask = mask(dtype), up = random(10, dtype, B, NH, T, HS);
                Var a = Var.packedAttention(packed, NH, T, mask, 0.4, p, true, 7, 3);
                Var c = Var.attention(heads.get(0), heads.get(1), heads.get(2), mask, 0.4, p, true, 7, 3);
                String at = dtype + " p=" + p;
                assertArrayEquals(c.value().toDoubleArray(), a.value().toDoubleArray(), "out " + at);
                a.backward(up);
                c.backward(up);
                for (int i = 0; i < 3; i++) {
                    Tensor expected = heads.get(i).grad().permute(0, 2, 1, 3).contiguous();
                    Tensor got = packed.grad().narrow(2, i * NH * HS, NH * HS).reshape(B, T, NH, HS);
                    assertArrayEquals(expected.toDoubleArray(), got.toDoubleArray(), "grad " + "qkv".charAt(i) + " " + at);
                }
            }
        }
    }

    @Test
    void float64PathPassesGradientCheck() {
        // eval-mode (no dropout) and train-mode (fixed mask) attention, differentiated numerically in float64
        for (double p : new double[] {0.0, 0.25}) {
            Tensor mask = mask(DType.F64), up = random(8, DType.F64, B, NH, T, HS);
            Var q = Var.parameter(random(5, DType.F64, B, NH, T, HS)), k = Var.parameter(random(6, DType.F64, B, NH, T, HS)),
                    v = Var.parameter(random(7, DType.F64, B, NH, T, HS));
            Var y = Var.attention(q, k, v, mask, 0.4, p, true, 3, 11);
            y.backward(up);
            for (Var x : List.of(q, k, v)) {
                Tensor base = x.value();
                double[] data = base.toDoubleArray();
                double[] analytic = x.grad().toDoubleArray();
                for (int i = 0; i < data.length; i += 7) {
                    double keep = data[i], eps = 1e-6;
                    data[i] = keep + eps;
                    x.setValue(Tensor.of(CPU, data.clone(), base.shape()));
                    double plus = dot(Var.attention(q, k, v, mask, 0.4, p, true, 3, 11).value(), up);
                    data[i] = keep - eps;
                    x.setValue(Tensor.of(CPU, data.clone(), base.shape()));
                    double minus = dot(Var.attention(q, k, v, mask, 0.4, p, true, 3, 11).value(), up);
                    data[i] = keep;
                    x.setValue(Tensor.of(CPU, data.clone(), base.shape()));
                    double numeric = (plus - minus) / (2 * eps);
                    assertEquals(numeric, analytic[i], 1e-5 + 1e-3 * Math.abs(numeric), "element " + i + " p=" + p);
                }
            }
        }
    }

    @Test
    void paddedKeysGetNoAttention() {
        Tensor mask = mask(DType.F32);
        Var q = Var.constant(random(1, DType.F32, B, NH, T, HS)), k = Var.constant(random(2, DType.F32, B, NH, T, HS));
        // v is zero except at the padded keys of batch 0: the output there must stay exactly zero
        double[] vd = new double[B * NH * T * HS];
        for (int h = 0; h < NH; h++) for (int t = T - 2; t < T; t++) for (int c = 0; c < HS; c++) vd[((h * T) + t) * HS + c] = 1e6;
        Var v = Var.constant(Tensor.of(CPU, vd, B, NH, T, HS).cast(DType.F32));
        float[] out = Var.attention(q, k, v, mask, 1, 0, false, 0, 0).value().toFloatArray();
        for (int i = 0; i < NH * T * HS; i++) assertEquals(0f, out[i], "batch 0 element " + i);
    }

    private static double dot(Tensor a, Tensor b) {
        double[] x = a.toDoubleArray(), y = b.toDoubleArray();
        double s = 0;
        for (int i = 0; i < x.length; i++) s += x[i] * y[i];
        return s;
    }

    private static void assertClose(Tensor expected, Tensor actual, double tol, String what) {
        float[] e = expected.toFloatArray(), a = actual.toFloatArray();
        assertEquals(e.length, a.length, what);
        for (int i = 0; i < e.length; i++) assertEquals(e[i], a[i], tol * (1 + Math.abs(e[i])), what + " [" + i + "]");
    }
}
