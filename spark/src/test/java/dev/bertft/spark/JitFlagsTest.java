package dev.bertft.spark;

import dev.bertft.tensor.Simd;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Spark JVM starts the project writes down carry {@link Simd#JIT_FLAGS}, written out by hand
 * in each: {@code jvm-options} (read by the tests and the throughput script) and the README's
 * {@code spark-submit} lines. Without them an executor may run GELU boxed and slow. (The root
 * pom's test.argLine: SimdWarningTest.)
 */
class JitFlagsTest {

    @Test
    void sparksJvmOptionsCarryThem() throws Exception {
        List<String> options = Files.readAllLines(Path.of("jvm-options"));
        assertTrue(options.containsAll(Simd.JIT_FLAGS), "spark/jvm-options lacks some of " + Simd.JIT_FLAGS);
    }

    @Test
    void everySparkSubmitLineOfTheReadmeCarriesThem() throws Exception {
        List<String> lines = Files.readAllLines(Path.of("..", "README.md")).stream().filter(l -> l.contains("extraJavaOptions=")).toList();
        assertTrue(lines.size() >= 2, "the README's spark-submit lines were not found: " + lines);
        for (String line : lines) {
            for (String flag : Simd.JIT_FLAGS) assertTrue(line.contains(flag + " ") || line.contains(flag + "'"), flag + " missing from " + line);
        }
    }
}
