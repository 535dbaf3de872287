package dev.bertft.nn;

import dev.bertft.autograd.Var;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A Linear trained as one stacked parameter and stored as the rows of its parts (BERT's Q, K and V):
 * the stacked product equals the parts' own products, the row views show the whole's value and
 * gradient, setting a view replaces only its rows, and a module tree names the parts for
 * checkpoints and the whole for the optimizer.
 */
class FusedLinearTest {
    private static final Backend CPU = new CpuBackend(2);

    private static Linear random(int in, int out, long seed) {
        return new Linear(Var.parameter(CPU.normal(DType.F32, new int[] {out, in}, 0, 1, seed, 0)),
                Var.parameter(CPU.normal(DType.F32, new int[] {out}, 0, 1, seed, 1 << 20)));
    }

    /** Parts a and b of a stacked Linear, as a module: trained fused, stored as "a" and "b". */
    private record Pair(Linear whole, Map<String, Module> parts) implements Module {
        @Override
        public void visit(Visitor v) {
            v.fusedChild("ab", whole, parts);
        }
    }

    @Test
    void stackedProductIsEachPartsProductAndItsViewsShowItsGradient() {
        Linear a = random(5, 3, 1), b = random(5, 4, 2);
        Linear ab = Linear.stacked(List.of(a, b));
        assertArrayEquals(new int[] {7, 5}, ab.weight.shape());
        Var x = Var.constant(CPU.normal(DType.F32, new int[] {2, 5}, 0, 1, 3, 0));
        Tensor y = ab.forward(x).value(), ya = a.forward(x).value(), yb = b.forward(x).value();
        assertArrayEquals(ya.toFloatArray(), y.narrow(1, 0, 3).contiguous().toFloatArray());
        assertArrayEquals(yb.toFloatArray(), y.narrow(1, 3, 4).contiguous().toFloatArray());

        Linear va = ab.rows(0, 3), vb = ab.rows(3, 4);
        assertNull(vb.weight.grad(), "no gradient before a backward");
        ab.forward(x).sum().backward();
        b.forward(x).sum().backward();
        assertArrayEquals(b.weight.grad().toFloatArray(), vb.weight.grad().toFloatArray());
        assertArrayEquals(b.bias.grad().toFloatArray(), vb.bias.grad().toFloatArray());
        assertArrayEquals(a.weight.value().toFloatArray(), va.weight.value().toFloatArray());
        assertThrows(IllegalStateException.class, vb.weight::zeroGrad, "the whole's gradient is cleared, not a view's");
    }

    @Test
    void settingAViewReplacesItsRowsOfTheWhole() {
        Linear a = random(5, 3, 1), b = random(5, 4, 2), c = random(5, 4, 4);
        Linear ab = Linear.stacked(List.of(a, b));
        ab.rows(3, 4).weight.setValue(c.weight.value());
        float[] whole = ab.weight.value().toFloatArray(), first = a.weight.value().toFloatArray(), second = c.weight.value().toFloatArray();
        for (int i = 0; i < first.length; i++) assertEquals(first[i], whole[i]);
        for (int i = 0; i < second.length; i++) assertEquals(second[i], whole[first.length + i]);
        assertThrows(IllegalArgumentException.class, () -> ab.rows(0, 3).weight.setValue(c.weight.value()), "4 rows into 3");
    }

    @Test
    void checkpointsNameThePartsAndTheOptimizerTheWhole() {
        Linear ab = Linear.stacked(List.of(random(5, 3, 1), random(5, 4, 2)));
        Map<String, Module> parts = new LinkedHashMap<>();
        parts.put("a", ab.rows(0, 3));
        parts.put("b", ab.rows(3, 4));
        Pair m = new Pair(ab, parts);
        Map<String, Var> stored = Module.namedParameters(m), trained = Module.trainableParameters(m);
        assertEquals(List.of("a.weight", "a.bias", "b.weight", "b.bias"), List.copyOf(stored.keySet()));
        assertEquals(List.of("ab.weight", "ab.bias"), List.copyOf(trained.keySet()));
        assertSame(ab.weight, stored.get("b.weight").base());
        assertEquals(7 * 5 + 7, Module.nonEmbeddingParameterCount(m));
        Tensor moments = CPU.normal(DType.F32, new int[] {7, 5}, 0, 1, 9, 0);
        assertArrayEquals(moments.narrow(0, 3, 4).contiguous().toFloatArray(), stored.get("b.weight").partOf(moments).toFloatArray());
    }
}
