package dev.bertft;

import dev.bertft.autograd.Var;
import dev.bertft.bert.BertConfig;
import dev.bertft.cuda.CudaBackend;
import dev.bertft.io.AtomicFiles;
import dev.bertft.safetensors.SafetensorsFile;
import dev.bertft.tensor.Tensor;
import dev.bertft.tokenizer.WordPieceTokenizer;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The layering the library promises, read from the compiled classes by the JDK's jdeps (so an
 * import, a fully qualified name or a reflection-free static call all count): the model never
 * reaches the Trainer, the CLI or CUDA; the Trainer and the data never reach the Java API above them;
 * autograd and the layers never reach CUDA; the tensor core knows no file format, and the formats know
 * no model, autograd or CUDA; no library code uses picocli, which belongs to the CLI alone.
 */
class DependencyRulesTest {

    /** Package prefix that must not use any of the forbidden prefixes. */
    private record Rule(String from, List<String> forbidden) {}

    private static final List<Rule> RULES = List.of(
            new Rule("dev.bertft.bert", List.of("dev.bertft.train", "dev.bertft.cli", "dev.bertft.cuda")),
            new Rule("dev.bertft.classifier", List.of("dev.bertft.train", "dev.bertft.cli", "dev.bertft.cuda")),
            // the Java API sits on the Trainer and the data, never under them
            new Rule("dev.bertft.train", List.of("dev.bertft.api", "dev.bertft.cli")),
            new Rule("dev.bertft.data", List.of("dev.bertft.api", "dev.bertft.train", "dev.bertft.cli")),
            new Rule("dev.bertft.autograd", List.of("dev.bertft.cuda")),
            new Rule("dev.bertft.nn", List.of("dev.bertft.cuda")),
            new Rule("dev.bertft.tensor", List.of("dev.bertft.safetensors", "dev.bertft.pytorch")),
            new Rule("dev.bertft.safetensors", List.of("dev.bertft.autograd", "dev.bertft.bert", "dev.bertft.cuda")),
            new Rule("dev.bertft.pytorch", List.of("dev.bertft.autograd", "dev.bertft.bert", "dev.bertft.cuda")),
            new Rule("dev.bertft.", List.of("picocli")));

    /** One line of jdeps -verbose:package: "   from.pkg   -> to.pkg   where". */
    private static final Pattern EDGE = Pattern.compile("^\\s+(\\S+)\\s+->\\s+(\\S+)\\s");

    @Test
    void libraryPackagesKeepTheirLayering() throws Exception {
        Set<String> edges = packageEdges(List.of(codeOf(AtomicFiles.class), codeOf(Tensor.class), codeOf(SafetensorsFile.class), codeOf(Var.class),
                codeOf(CudaBackend.class), codeOf(WordPieceTokenizer.class), codeOf(BertConfig.class)));
        assertTrue(edges.stream().anyMatch(e -> e.startsWith("dev.bertft.bert -> dev.bertft.autograd")),
                "jdeps saw the model's own dependencies: " + edges.size() + " edges");
        List<String> broken = new ArrayList<>();
        for (String edge : edges) {
            String[] fromTo = edge.split(" -> ");
            for (Rule rule : RULES) {
                if (!inPackage(fromTo[0], rule.from())) continue;
                for (String bad : rule.forbidden()) if (inPackage(fromTo[1], bad)) broken.add(edge);
            }
        }
        assertEquals(List.of(), broken, "forbidden package dependencies");
    }

    private static boolean inPackage(String pkg, String prefix) {
        return prefix.endsWith(".") ? pkg.startsWith(prefix) : pkg.equals(prefix) || pkg.startsWith(prefix + ".");
    }

    private static Path codeOf(Class<?> c) throws URISyntaxException {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    /** "from -> to" for every package-level dependency in the given class folders or jars. */
    private static Set<String> packageEdges(List<Path> roots) {
        ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow(() -> new AssertionError("this JDK has no jdeps"));
        List<String> args = new ArrayList<>(List.of("-verbose:package"));
        for (Path root : roots) args.add(root.toString());
        StringWriter out = new StringWriter(), err = new StringWriter();
        int rc = jdeps.run(new PrintWriter(out), new PrintWriter(err), args.toArray(String[]::new));
        assertEquals(0, rc, "jdeps failed: " + err);
        Set<String> edges = new TreeSet<>();
        for (String line : out.toString().split("\n")) {
            Matcher m = EDGE.matcher(line);
            if (m.find()) edges.add(m.group(1) + " -> " + m.group(2));
        }
        return edges;
    }
}
