package dev.bertft.safetensors;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

/** Paths of the fixtures written by src/test/python/make_safetensors_fixtures.py. */
final class Fixtures {

    private Fixtures() {
    }

    static Path resource(String name) {
        URL url = Fixtures.class.getResource("/safetensors/" + name);
        if (url == null) throw new IllegalStateException("missing test resource safetensors/" + name);
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Asserts two floats have the same bits, or are both NaN (NaN payloads may differ by platform). */
    static boolean sameFloat(float expected, float actual) {
        return Float.isNaN(expected) ? Float.isNaN(actual) : Float.floatToRawIntBits(expected) == Float.floatToRawIntBits(actual);
    }

    static boolean sameDouble(double expected, double actual) {
        return Double.isNaN(expected) ? Double.isNaN(actual) : Double.doubleToRawLongBits(expected) == Double.doubleToRawLongBits(actual);
    }
}
