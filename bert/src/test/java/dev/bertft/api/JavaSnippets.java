package dev.bertft.api;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The README's Java examples as the tests run them: each ```java block of a section, compiled as a method body and run. */
final class JavaSnippets {
    private JavaSnippets() {}

    /** The ```java blocks of the README section that starts with {@code heading}, up to the next section. */
    static List<String> readmeBlocks(String heading) throws IOException {
        String readme = Files.readString(Path.of("..", "README.md"));
        String section = readme.substring(readme.indexOf(heading));
        section = section.substring(0, section.indexOf("\n## ", 1));
        Matcher block = Pattern.compile("```java\n(.*?)```", Pattern.DOTALL).matcher(section);
        List<String> out = new ArrayList<>();
        while (block.find()) out.add(block.group(1));
        return out;
    }

    /** Import lines for {@code names} ("java.util.List", "dev.bertft.api.*"). */
    static String imports(String... names) {
        StringBuilder sb = new StringBuilder();
        for (String n : names) sb.append("import ").append(n).append(";\n");
        return sb.toString();
    }

    /** Compiles {@code body} as the body of a static method against the test class path, runs it, returns what it printed. */
    static String compileAndRun(Path tmp, String className, String imports, String body) throws Exception {
        String source = imports + "public class " + className + " {\n public static void run() throws Exception {\n" + body + "\n }\n}\n";
        Path src = tmp.resolve(className + ".java"), classes = Files.createDirectories(tmp.resolve("classes"));
        Files.writeString(src, source);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
        int rc = javac.run(null, null, diagnostics, "-cp", classPath, "-d", classes.toString(), src.toString());
        assertEquals(0, rc, source + "\n" + diagnostics.toString(StandardCharsets.UTF_8));

        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()}, JavaSnippets.class.getClassLoader())) {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            loader.loadClass(className).getMethod("run").invoke(null);
        } finally {
            System.setOut(old);
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
