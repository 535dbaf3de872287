package dev.bertft.cli;

import com.sun.management.OperatingSystemMXBean;
import dev.bertft.tensor.Simd;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
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
 *
 * <p>The two processes live and stop as one: the child ends when the launcher is gone, even
 * SIGKILLed; SIGTERM sent to the launcher is passed on and the launcher waits for the child to
 * stop (training stops at a step boundary, see {@link StopSignals}); the JVM's warning about the
 * incubator module is kept off the user's terminal.
 */
final class Launcher {
    static final String VECTOR_MODULE = "jdk.incubator.vector";
    /**
     * Set in the child to the launcher's process id, which the child watches; its presence also
     * stops a broken runtime from relaunching in a loop.
     */
    static final String LAUNCHER_PID = "BERTFT_LAUNCHER_PID";
    /** How often the child checks that its launcher is still there. */
    private static final long WATCH_MILLIS = 200;

    private Launcher() {}

    static void ensureVectorModule(Class<?> mainClass, String[] args) {
        if (ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent()) {
            endWithLauncher();
            return;
        }
        // Without the module the CPU backend says once, with the fix, that it runs without SIMD (Simd.warnIfSlow).
        if (System.getenv(LAUNCHER_PID) != null || ModuleFinder.ofSystem().find(VECTOR_MODULE).isEmpty()) return;
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
                cmd.addAll(generations(jvmArgs));
            }
        }
        if (transparentHugePages() && jvmArgs.stream().noneMatch(a -> a.contains("HugePages"))) cmd.add("-XX:+UseTransparentHugePages");
        Simd.JIT_FLAGS.stream().filter(f -> !jvmArgs.contains(f)).forEach(cmd::add);
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass.getName());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.INHERIT)
                .redirectOutput(ProcessBuilder.Redirect.INHERIT);
        pb.environment().put(LAUNCHER_PID, Long.toString(ProcessHandle.current().pid()));
        Process child;
        try {
            child = pb.start();
        } catch (IOException e) {
            System.err.println("bert-ft: could not relaunch with SIMD (" + e.getMessage() + "); using the scalar kernels");
            return;
        }
        // Ctrl-C reaches the child from the terminal (one process group): it decides, we wait for it.
        StopSignals.handle("INT", s -> {});
        // SIGTERM sent to this process reaches only us: pass it on. ProcessHandle.destroy sends SIGTERM
        // and nothing else; Process.destroy would also close the pipe that carries the child's last words.
        StopSignals.handle("TERM", s -> child.toHandle().destroy());
        Thread relay = new Thread(() -> relayStderr(child), "stderr-relay");
        relay.start();
        while (true) {
            try {
                int code = child.waitFor();
                relay.join();
                System.exit(code);
            } catch (InterruptedException e) {
                // nothing interrupts this thread on purpose: keep waiting for the child
            }
        }
    }

    private static void relayStderr(Process child) {
        try {
            IncubatorWarningFilter.copy(child.getErrorStream(), new FileOutputStream(FileDescriptor.err));
        } catch (IOException e) {
            // our standard error is gone: keep draining the child's so it never blocks on a full pipe
            try {
                child.getErrorStream().transferTo(OutputStream.nullOutputStream());
            } catch (IOException ended) {
                // the child's side closed too
            }
        }
    }

    /**
     * In the relaunched JVM: ends it as soon as the launcher is gone, as if killed with it (checkpoint
     * saves are atomic, so that is safe at any moment). The launcher may itself be SIGKILLed, so no
     * hook of its own can do this. We poll our parent's pid rather than watch a pipe: standard input
     * is the user's data ({@code predict} reads it), and a closed standard output or error is only
     * noticed at the next write, minutes apart during a training step. The parent pid changes the
     * moment the launcher dies (the child is re-parented), so a reused pid cannot fool the check.
     */
    private static void endWithLauncher() {
        String value = System.getenv(LAUNCHER_PID);
        if (value == null) return;
        long launcher;
        try {
            launcher = Long.parseLong(value);
        } catch (NumberFormatException e) {
            return;
        }
        Thread watch = new Thread(() -> {
            while (ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(-1L) == launcher) {
                try {
                    Thread.sleep(WATCH_MILLIS);
                } catch (InterruptedException e) {
                    return;
                }
            }
            Runtime.getRuntime().halt(128 + 9);
        }, "launcher-watch");
        watch.setDaemon(true);
        watch.start();
    }

    /** The most heap the young generation gets: see {@link #heapFlags}. */
    static final long YOUNG_MAX = 256L << 20;

    private static List<String> generations(List<String> jvmArgs) {
        // this JVM was started with the user's heap flags, if any: its maximum is theirs
        long heap = jvmArgs.stream().anyMatch(a -> a.startsWith("-Xmx") || a.contains("MaxRAM"))
                ? Runtime.getRuntime().maxMemory()
                : ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize() / 4 * 3;
        return heapFlags(heap, jvmArgs.stream().anyMatch(a -> a.startsWith("-Xms") || a.contains("InitialHeapSize")
                || a.contains("InitialRAM")));
    }

    /**
     * The generation flags for a heap of {@code heapBytes}, with {@code -Xms} unless the user set the initial size.
     * A training step's tensors take their arrays from the CPU backend's pool (the previous step's,
     * given back when its memory scope closed), so after the first step the activations live in the
     * old generation and little dies young (kernel scratch, autograd records). The young generation
     * is therefore an eighth of the heap but at most {@link #YOUNG_MAX}: every young GC cycle touches
     * all of eden, so eden is resident memory the step does not need (bert-base 32 x 128 on a
     * 24 GB machine: a 2 GB young generation peaked at 6.46 GiB, 256 MB at 5.12 GiB, the same step time;
     * bench/results/cpu-memory-2026-12-02-rss.md). The heap starts at its maximum: with
     * fixed sizes the old generation never grows past its initial share, and a live step larger
     * than that was collected by a full GC every few seconds (measured: 14 full GCs in 5 MiniLM
     * steps, the heap held at 2.2 of 6 GB); fixed sizes also stop the heap from shrinking and
     * growing again, which costs seconds per GB on virtual machines that back memory lazily
     * (measured on our 2-core test VM: 47 s to touch 8 GB for the first time, 12.5 s with huge pages).
     * Untouched heap costs no resident memory.
     */
    static List<String> heapFlags(long heapBytes, boolean initialSizeSet) {
        long youngMb = Math.min(heapBytes / 8, YOUNG_MAX) >> 20;
        List<String> flags = new ArrayList<>(List.of("-Xmn" + youngMb + "m", "-XX:SurvivorRatio=4", "-XX:-UseAdaptiveSizePolicy"));
        if (!initialSizeSet) flags.add("-Xms" + (heapBytes >> 20) + "m");
        return flags;
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
