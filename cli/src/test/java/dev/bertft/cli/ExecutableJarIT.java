package dev.bertft.cli;

import dev.bertft.cli.LauncherTest.Result;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The packaged, shaded {@code bert-ft.jar} as users run it: {@code java -jar}, nothing else on the
 * class path. Runs in the integration-test phase (after package) of {@code mvn verify}, which passes
 * the jar's path and the project version; the relocated picocli parses the command line and the
 * relocated Jackson reads the model's config.json.
 */
class ExecutableJarIT {
    private static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    private static final String JAR = System.getProperty("bertft.jar");

    @BeforeAll
    static void needsThePackagedJar() {
        assumeTrue(JAR != null && Files.isRegularFile(Path.of(JAR)),
                "runs against the packaged bert-ft.jar in mvn verify's integration-test phase");
    }

    static Result runJar(Path stdin, String... args) throws IOException, InterruptedException {
        return LauncherTest.run(List.of(JAVA, "-jar", JAR), stdin, args);
    }

    @Test
    void jacksonAndPicocliAreRelocated() throws Exception {
        List<String> entries;
        try (ZipFile jar = new ZipFile(JAR)) {
            entries = jar.stream().map(ZipEntry::getName).toList();
        }
        for (String original : List.of("com/fasterxml/", "picocli/")) {
            assertTrue(entries.stream().noneMatch(e -> e.startsWith(original)), "nothing left under " + original);
            assertTrue(entries.stream().anyMatch(e -> e.startsWith("dev/bertft/shaded/" + original)), "moved: " + original);
        }
    }

    @Test
    void versionIsTheProjectVersion() throws Exception {
        Result r = runJar(null, "--version");
        assertEquals(0, r.exit(), r.err());
        assertEquals("bert-ft " + System.getProperty("bertft.version"), r.out().strip());
    }

    @Test
    void helpListsTheCommands() throws Exception {
        Result r = runJar(null, "--help");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("Usage: bert-ft"), r.out());
        for (String command : List.of("train", "eval", "predict", "prepare")) assertTrue(r.out().contains(command), r.out());
    }

    @Test
    void predictsWithTheTinyModel(@TempDir Path tmp) throws Exception {
        Path input = Files.writeString(tmp.resolve("in.txt"), "a great movie\n");
        Result r = runJar(input, "predict", "--model", PredictCommandTest.TINY.toAbsolutePath().toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().startsWith("{\"label\":"), r.out());
    }
}
