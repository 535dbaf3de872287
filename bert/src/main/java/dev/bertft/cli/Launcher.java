package dev.bertft.cli;

import com.sun.management.OperatingSystemMXBean;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.module.ModuleFinder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Gives a plain {@code java -jar bert-ft.jar ...} the Vector API. A jar manifest cannot add
 * incubator modules, so when the module is missing from the boot layer but the runtime ships
 * it, we start the same command again with {@code --add-modules jdk.incubator.vector},
 * passing arguments, standard streams and the exit code through unchanged.
 */
final class Launcher {
    static final String VECTOR_MODULE = "jdk.incubator.vector";
    /** Set in the child so a broken runtime can never relaunch in a loop. */
    private static final String RELAUNCHED = "BERTFT_RELAUNCHED";

    private Launcher() {}

    static void ensureVectorModule(Class<?> mainClass, String[] args) {
        if (ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent()) return;
        if (System.getenv(RELAUNCHED) != null || ModuleFinder.ofSystem().find(VECTOR_MODULE).isEmpty()) {
            System.err.println("bert-ft: SIMD unavailable (this Java runtime has no " + VECTOR_MODULE
                    + "); using the scalar kernels");
            return;
        }
        String java = ProcessHandle.current().info().command().orElse(null);
        if (java == null) return;
        List<String> cmd = new ArrayList<>();
        cmd.add(java);
        cmd.add("--add-modules");
        cmd.add(VECTOR_MODULE);
        List<String> jvmArgs = ManagementFactory.getRuntimeMXBean().getInputArguments();
        // Training holds every layer's activations until the backward: let the heap use most of
        // the machine unless the user sized it, and favour throughput over pause times.
        if (jvmArgs.stream().noneMatch(a -> a.startsWith("-Xmx") || a.contains("MaxRAM"))) cmd.add("-XX:MaxRAMPercentage=75");
        if (jvmArgs.stream().noneMatch(a -> a.startsWith("-XX:+Use") && a.endsWith("GC"))) {
            cmd.add("-XX:+UseParallelGC");
            if (jvmArgs.stream().noneMatch(a -> a.startsWith("-Xmn") || a.contains("NewSize") || a.contains("NewRatio"))) {
                cmd.addAll(youngGeneration(jvmArgs));
            }
        }
        if (transparentHugePages() && jvmArgs.stream().noneMatch(a -> a.contains("HugePages"))) cmd.add("-XX:+UseTransparentHugePages");
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass.getName());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
        pb.environment().put(RELAUNCHED, "1");
        try {
            Process p = pb.start();
            Runtime.getRuntime().addShutdownHook(new Thread(p::destroy));
            System.exit(p.waitFor());
        } catch (Exception e) {
            System.err.println("bert-ft: could not relaunch with SIMD (" + e.getMessage() + "); using the scalar kernels");
        }
    }

    /**
     * A training step allocates gigabytes (each layer's activations, then their gradients) that die
     * within the step. A third of the heap as a fixed young generation, with survivor spaces large
     * enough for one step's live activations, lets them die young instead of being copied into the
     * old generation and collected by full GCs; fixed sizes also stop the heap from shrinking and
     * growing again, which costs seconds per GB on virtual machines that back memory lazily
     * (measured on our 2-core test VM: 47 s to touch 8 GB for the first time, 12.5 s with huge pages).
     */
    private static List<String> youngGeneration(List<String> jvmArgs) {
        // this JVM was started with the user's heap flags, if any: its maximum is theirs
        long heap = jvmArgs.stream().anyMatch(a -> a.startsWith("-Xmx") || a.contains("MaxRAM"))
                ? Runtime.getRuntime().maxMemory()
                : ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize() / 4 * 3;
        long youngMb = Math.min(heap / 3, 8L << 30) >> 20;
        return List.of("-Xmn" + youngMb + "m", "-XX:SurvivorRatio=4", "-XX:-UseAdaptiveSizePolicy");
    }

    /** Whether the kernel lets a process ask for transparent huge pages (mode "always" or "madvise"). */
    private static boolean transparentHugePages() {
        try {
            String mode = Files.readString(Path.of("/sys/kernel/mm/transparent_hugepage/enabled"));
            return mode.contains("[always]") || mode.contains("[madvise]");
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }
}
