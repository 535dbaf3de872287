package dev.bertft.bert;

import dev.bertft.safetensors.SafetensorsFile;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Where the test data lives, and float comparisons with messages that locate the first bad element. */
final class Fixtures {
    private Fixtures() {}

    /** Fixtures written by src/test/python/make_bert_fixtures.py (tests run in the module folder). */
    static final Path RESOURCES = Path.of("src", "test", "resources", "bert");

    static Path tinyModel() {
        return RESOURCES.resolve("tiny");
    }

    /** ../shared/models/NAME next to the repository root, or null when it is not there. */
    static Path sharedModel(String name) {
        Path p = Path.of("..", "..", "shared", "models", name).toAbsolutePath().normalize();
        return Files.isDirectory(p) ? p : null;
    }

    static Tensor readTensor(SafetensorsFile f, String name, Backend backend) throws IOException {
        int[] shape = Arrays.stream(f.info(name).shape()).mapToInt(Math::toIntExact).toArray();
        return f.info(name).dtype().isFloatingPoint()
                ? Tensor.of(backend, f.readF32(name), shape)
                : Tensor.of(backend, f.readI32(name), shape);
    }

    /** |actual − expected| ≤ atol + rtol·|expected| element by element. */
    static void assertClose(String what, double[] expected, double[] actual, double rtol, double atol) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(actual[i] - expected[i]);
            if (!(err <= atol + rtol * Math.abs(expected[i]))) {
                fail(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i] + " (|diff| " + err + ")");
            }
        }
    }

    /**
     * max |actual − expected| ≤ rel · max |expected| + floor: relative to the tensor's scale, so
     * near-zero entries do not dominate; the floor covers tensors that are zero up to rounding.
     */
    static void assertCloseToScale(String what, double[] expected, double[] actual, double rel, double floor) {
        assertEquals(expected.length, actual.length, what + ": length");
        double scale = 0, worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            double err = Math.abs(actual[i] - expected[i]);
            if (!(err <= worst)) {
                worst = err;
                at = i;
            }
        }
        if (!(worst <= rel * scale + floor)) {
            fail(what + ": element " + at + " is " + actual[at] + ", expected " + expected[at] + "; max |diff| " + worst
                    + " > " + rel + " x scale " + scale + " + " + floor);
        }
    }

    static double[] doubles(Tensor t) {
        return t.cast(DType.F64).toDoubleArray();
    }
}
