package dev.bertft.autograd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Reads the PyTorch fixtures written by src/test/python/make_fixtures.py: JSON objects in which a
 * tensor is {"shape": [...], "data": [...]} in row-major order.
 */
final class Fixtures {
    private Fixtures() {}

    static JsonNode load(String name) {
        try (InputStream in = Fixtures.class.getResourceAsStream("/fixtures/" + name)) {
            assertNotNull(in, "fixture " + name + " is missing; run autograd/src/test/python/make_fixtures.py");
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int[] shape(JsonNode t) {
        JsonNode s = t.get("shape");
        int[] out = new int[s.size()];
        for (int i = 0; i < out.length; i++) out[i] = s.get(i).asInt();
        return out;
    }

    static double[] data(JsonNode t) {
        JsonNode d = t.get("data");
        double[] out = new double[d.size()];
        for (int i = 0; i < out.length; i++) out[i] = d.get(i).asDouble();
        return out;
    }

    /** A float tensor of the given dtype (inputs are float32 values, exact in either dtype). */
    static Tensor tensor(JsonNode t, Backend be, DType dtype) {
        return Tensor.of(be, data(t), shape(t)).cast(dtype);
    }

    /**
     * The same elements as a strided view: the middle of a tensor padded by one element on both
     * sides of the last axis, so rows do not follow each other and the first element is not at 0.
     */
    static Tensor strided(Tensor t) {
        if (t.dim() == 0) return t;
        int[] padded = t.shape();
        padded[padded.length - 1] += 2;
        Tensor view = t.backend().zeros(t.dtype(), padded).narrow(-1, 1, t.size(-1));
        t.backend().copyInPlace(view, t);
        return view;
    }

    static Tensor ints(JsonNode t, Backend be) {
        double[] d = data(t);
        int[] v = new int[d.length];
        for (int i = 0; i < v.length; i++) v[i] = (int) d[i];
        return Tensor.of(be, v, shape(t));
    }

    /**
     * Elementwise |actual − expected| ≤ atol + rtol·|expected| (numpy.allclose), with a message
     * naming the quantity, the element and the worst error.
     */
    static void assertClose(String what, JsonNode expected, Tensor actual, double rtol, double atol) {
        assertNotNull(actual, what + ": no value (a gradient that never arrived?)");
        assertArrayEquals(shape(expected), actual.shape(), what + ": shape");
        double[] e = data(expected), a = actual.toDoubleArray();
        int worst = -1;
        double worstRatio = 1;
        for (int i = 0; i < e.length; i++) {
            double ratio = Math.abs(a[i] - e[i]) / (atol + rtol * Math.abs(e[i]));
            if (!(ratio <= worstRatio)) {
                worstRatio = ratio;
                worst = i;
            }
        }
        if (worst >= 0) {
            throw new AssertionError(what + ": element " + worst + " of " + Arrays.toString(actual.shape()) + " is " + a[worst]
                    + ", expected " + e[worst] + " (|diff| " + Math.abs(a[worst] - e[worst]) + " is " + worstRatio
                    + "× the bound atol " + atol + " + rtol " + rtol + "·|expected|)");
        }
    }
}
