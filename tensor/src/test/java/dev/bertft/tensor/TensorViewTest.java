package dev.bertft.tensor;

import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Views against hand-computed element formulas. The base tensor holds x[i][j][k] = 12i + 4j + k
 * (its flat index), so every view's expected elements are written down from the index algebra.
 */
class TensorViewTest {
    private static final Backend CPU = new CpuBackend(2);

    private static Tensor iota(int... shape) {
        double[] d = new double[Tensor.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = i;
        return Tensor.of(CPU, d, shape);
    }

    private static double[] expect(int[] shape, java.util.function.ToDoubleFunction<int[]> f) {
        double[] out = new double[Tensor.numel(shape)];
        int[] idx = new int[shape.length];
        for (int flat = 0; flat < out.length; flat++) {
            int rem = flat;
            for (int d = shape.length - 1; d >= 0; d--) {
                idx[d] = rem % shape[d];
                rem /= shape[d];
            }
            out[flat] = f.applyAsDouble(idx);
        }
        return out;
    }

    @Test
    void transposeAndPermute() {
        Tensor x = iota(2, 3, 4);
        Tensor t = x.transpose(0, 2);
        assertArrayEquals(new int[] {4, 3, 2}, t.shape());
        assertArrayEquals(new int[] {1, 4, 12}, t.strides());
        assertSame(x.storage(), t.storage(), "a transpose copies nothing");
        assertArrayEquals(expect(t.shape(), i -> 12 * i[2] + 4 * i[1] + i[0]), t.toDoubleArray());

        Tensor p = x.permute(2, 0, 1); // p[a][b][c] = x[b][c][a]
        assertArrayEquals(new int[] {4, 2, 3}, p.shape());
        assertArrayEquals(expect(p.shape(), i -> 12 * i[1] + 4 * i[2] + i[0]), p.toDoubleArray());
        assertFalse(p.isContiguous());
        assertTrue(p.permute(1, 2, 0).isContiguous(), "the inverse permutation restores the layout");
    }

    @Test
    void narrowSelectAndSplit() {
        Tensor x = iota(2, 3, 4);
        Tensor n = x.narrow(1, 1, 2);
        assertEquals(4, n.offset());
        assertArrayEquals(expect(new int[] {2, 2, 4}, i -> 12 * i[0] + 4 * (i[1] + 1) + i[2]), n.toDoubleArray());
        Tensor s = x.select(2, 3);
        assertArrayEquals(new int[] {2, 3}, s.shape());
        assertArrayEquals(expect(s.shape(), i -> 12 * i[0] + 4 * i[1] + 3), s.toDoubleArray());
        Tensor last = x.narrow(-1, 1, 3).narrow(0, 1, 1); // chained views add their offsets
        assertArrayEquals(expect(last.shape(), i -> 12 + 4 * i[1] + i[2] + 1), last.toDoubleArray());
        List<Tensor> parts = x.split(-1, 1, 3);
        assertArrayEquals(expect(new int[] {2, 3, 1}, i -> 12 * i[0] + 4 * i[1]), parts.get(0).toDoubleArray());
        assertArrayEquals(expect(new int[] {2, 3, 3}, i -> 12 * i[0] + 4 * i[1] + i[2] + 1), parts.get(1).toDoubleArray());
    }

    @Test
    void reshapeOfContiguousIsAViewAndOfStridedIsARowMajorCopy() {
        Tensor x = iota(2, 3, 4);
        Tensor r = x.reshape(4, -1);
        assertArrayEquals(new int[] {4, 6}, r.shape());
        assertSame(x.storage(), r.storage());
        assertArrayEquals(expect(r.shape(), i -> 6 * i[0] + i[1]), r.toDoubleArray());
        // [2,3,4] → transpose(1,2) → [2,4,3]; reshape(8,3) reads the view in its own row-major order.
        Tensor tr = x.transpose(1, 2).reshape(8, 3);
        assertArrayEquals(expect(tr.shape(), i -> 12 * (i[0] / 4) + i[0] % 4 + 4 * i[1]), tr.toDoubleArray());
        assertTrue(tr.isContiguous());
    }

    @Test
    void unsqueezeSqueezeAndExpand() {
        Tensor v = Tensor.of(CPU, new double[] {10, 20, 30}, 3, 1);
        Tensor e = v.expand(2, 3, 4); // e[a][b][c] = v[b]
        assertArrayEquals(new int[] {0, 1, 0}, e.strides());
        assertArrayEquals(expect(e.shape(), i -> 10 * (i[1] + 1)), e.toDoubleArray());
        Tensor u = iota(2, 3).unsqueeze(1);
        assertArrayEquals(new int[] {2, 1, 3}, u.shape());
        assertArrayEquals(expect(u.shape(), i -> 3 * i[0] + i[2]), u.toDoubleArray());
        assertArrayEquals(new int[] {2, 3}, u.squeeze(1).shape());
        assertArrayEquals(new int[] {2, 3, 1}, iota(2, 3).unsqueeze(-1).shape());
    }

    @Test
    void contiguousCopyAndConcat() {
        Tensor x = iota(2, 3, 4);
        assertSame(x, x.contiguous(), "an already contiguous tensor is returned as is");
        Tensor c = x.transpose(0, 1).contiguous();
        assertTrue(c.isContiguous());
        assertArrayEquals(expect(c.shape(), i -> 12 * i[1] + 4 * i[0] + i[2]), c.toDoubleArray());
        Tensor cat = Tensor.concat(List.of(x.narrow(2, 0, 1), x.transpose(1, 2).narrow(1, 3, 1).transpose(1, 2)), 2);
        assertArrayEquals(expect(new int[] {2, 3, 2}, i -> 12 * i[0] + 4 * i[1] + 3 * i[2]), cat.toDoubleArray());
    }

    @Test
    void viewsSeeWritesToTheirStorage() {
        Tensor x = Tensor.of(CPU, new float[6], 2, 3);
        Tensor col = x.select(1, 2);
        CPU.copyInPlace(x, Tensor.of(CPU, new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        assertArrayEquals(new float[] {3, 6}, col.toFloatArray());
        // in-place through a strided destination view
        CPU.copyInPlace(x.transpose(0, 1), Tensor.of(CPU, new float[] {7, 8, 9, 10, 11, 12}, 3, 2));
        assertArrayEquals(new float[] {7, 9, 11, 8, 10, 12}, x.toFloatArray());
    }

    @Test
    void castsRoundTrip() {
        Tensor i = Tensor.of(CPU, new int[] {-2, 0, 7}, 3);
        assertArrayEquals(new double[] {-2, 0, 7}, i.toDoubleArray());
        assertArrayEquals(new int[] {1, -1}, Tensor.of(CPU, new double[] {1.9, -1.9}, 2).toIntArray(), "truncates toward zero");
    }
}
