package dev.bertft.autograd;

import dev.bertft.tensor.DType;
import dev.bertft.tensor.Ops;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * torch.autocast's rules as Var applies them: a product's operands rounded once to BF16/F16 and
 * summed in float32, everything else float32, checked against float64 products of the same
 * rounded operands within float32's summation bound 2·(K+1)·2⁻²⁴·Σ|a||b| (plus one float32
 * rounding of a bias sum). Without the rounding the error against these references is of the
 * format's own size (2⁻⁹ for BF16), far above the bound.
 */
class AutocastTest {
    private static final CpuBackend CPU = new CpuBackend(1);
    private final Random random = new Random(5);

    private Tensor randn(int... shape) {
        float[] f = new float[Tensor.numel(shape)];
        for (int i = 0; i < f.length; i++) f[i] = (float) random.nextGaussian();
        return CPU.fromHost(f, DType.F32, shape);
    }

    /** The float64 value of t rounded to h: the operand autocast multiplies. */
    private static Tensor rounded(Tensor t, DType h) {
        return t.cast(h).cast(DType.F64);
    }

    private static void assertProduct(Tensor a64, Tensor b64, Tensor extra64, Tensor actual, String what) {
        double[] exact = a64.matmul(b64).toDoubleArray();
        double[] magnitude = a64.unary(Ops.Unary.ABS).matmul(b64.unary(Ops.Unary.ABS)).toDoubleArray();
        double[] add = extra64 == null ? new double[exact.length] : extra64.expand(a64.matmul(b64).shape()).contiguous().toDoubleArray();
        double[] got = actual.toDoubleArray();
        int k = a64.size(-1);
        assertEquals(DType.F32, actual.dtype(), what);
        for (int i = 0; i < exact.length; i++) {
            double want = exact[i] + add[i];
            double bound = 2.0 * (k + 1) * 0x1p-24 * magnitude[i] + 0x1p-24 * Math.abs(want) + 1e-30;
            if (!(Math.abs(got[i] - want) <= bound)) fail(what + ": element " + i + " " + got[i] + " vs " + want + " (bound " + bound + ")");
        }
    }

    @Test
    void linearMultipliesRoundedOperandsWithFloat32SumsForwardAndBackward() {
        for (DType h : new DType[] {DType.BF16, DType.F16}) {
            Tensor xt = randn(3, 5, 40), wt = randn(7, 40), bt = randn(7), gt = randn(3, 5, 7);
            Var x = Var.parameter(xt), w = Var.parameter(wt), b = Var.parameter(bt);
            Var y;
            try (Autocast on = Autocast.to(h)) {
                y = x.linear(w, b);
            }
            assertNull(Autocast.operands(), "closed autocast leaves products float32");
            assertProduct(rounded(xt, h), rounded(wt, h).transpose(0, 1), bt.cast(DType.F64), y.value(), h + " y");
            y.backward(gt);
            assertProduct(rounded(gt, h), rounded(wt, h), null, x.grad(), h + " dx");
            assertProduct(rounded(gt, h).reshape(15, 7).transpose(0, 1), rounded(xt, h).reshape(15, 40), null, w.grad(), h + " dW");
            // the bias gradient is a float32 sum of the gradient rounded to h, as torch.autocast's Linear
            // sees it (its bias was cast to h too); the unrounded gradient's sums miss these by far more than 1e-5
            double[] db = b.grad().toDoubleArray(), g = rounded(gt, h).toDoubleArray();
            for (int j = 0; j < 7; j++) {
                double s = 0;
                for (int r = 0; r < 15; r++) s += g[r * 7 + j];
                assertEquals(s, db[j], 1e-5, "db");
            }
            assertEquals(DType.F32, w.value().dtype(), "master weights stay float32");
        }
    }

    @Test
    void layerNormAndGeluWriteTheCopyTheirLinearReads() {
        DType h = DType.BF16;
        Tensor xt = randn(4, 32), wt = randn(16, 32), gamma = randn(32), beta = randn(32);
        Var x = Var.parameter(xt), w = Var.parameter(wt);
        try (Autocast on = Autocast.to(h)) {
            Var normed = x.layerNorm(Var.parameter(gamma), Var.parameter(beta), 1e-12);
            Var y = normed.linear(w, null);
            assertProduct(rounded(normed.value(), h), rounded(wt, h).transpose(0, 1), null, y.value(), "layer norm → linear");
            Var act = x.gelu();
            Var z = act.linear(w, null);
            assertProduct(rounded(act.value(), h), rounded(wt, h).transpose(0, 1), null, z.value(), "gelu → linear");
        }
    }

    /**
     * torch.autocast's weight cache: castAll casts a region's parameters at once, each with the bits
     * of its own cast, and the region's products read those casts; a parameter castAll did not cast
     * is cast on the spot, each time; a new region (after an update changed the values) casts again.
     */
    @Test
    void castAllKeepsTheParametersCastsForTheRegion() {
        Var w = Var.parameter(randn(7, 40)), b = Var.parameter(randn(7)), other = Var.parameter(randn(7, 40));
        Tensor kept;
        try (Autocast region = Autocast.to(DType.BF16)) {
            region.castAll(List.of(w, b));
            kept = Autocast.parameter(w.value());
            assertSame(kept, Autocast.parameter(w.value()), "castAll's cast, for every product");
            assertArrayEquals(w.value().cast(DType.BF16).toDoubleArray(), kept.toDoubleArray(), "castAll's cast has the bits of a cast");
            assertArrayEquals(b.value().cast(DType.BF16).toDoubleArray(), Autocast.parameter(b.value()).toDoubleArray(), "the bias");
            assertNotSame(Autocast.parameter(other.value()), Autocast.parameter(other.value()), "a parameter castAll did not cast");
        }
        try (Autocast region = Autocast.to(DType.BF16)) {
            region.castAll(List.of(w, b));
            assertNotSame(kept, Autocast.parameter(w.value()), "a new region casts again");
        }
        assertThrows(IllegalStateException.class, () -> Autocast.parameter(w.value()), "outside autocast");
    }

    @Test
    void outsideAutocastProductsStayFloat32() {
        Tensor xt = randn(6, 40), wt = randn(5, 40);
        Var y = Var.parameter(xt).linear(Var.parameter(wt), null);
        assertProduct(xt.cast(DType.F64), wt.cast(DType.F64).transpose(0, 1), null, y.value(), "float32 linear");
    }
}
