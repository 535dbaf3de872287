package dev.bertft.cli;

import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code bench --profile}: where a step's time goes, op by op, from a Flight Recorder recording
 * of the timed steps (execution samples every {@link #PERIOD}, allocation samples, collections).
 *
 * <p>A sample belongs to the op of the outermost {@code CpuBackend} method on its stack, the one
 * the model called, not a helper such as {@code allocate} (a lambda {@code lambda$gelu$3} on a
 * worker runs for {@code gelu}). The pool's workers run GEMM tiles through the
 * GEMM classes, which name no op; since every parallel loop cuts equal chunks and the caller runs
 * one of them, those samples are shared among the ops in proportion to the caller's own samples in
 * the GEMM. Milliseconds are the step's median wall time times the op's share of the samples.
 * Allocation is only totalled: a sample's weight is all its thread allocated since the previous
 * one, so by op it would credit whichever allocation happened to be sampled.
 */
final class OpProfile implements AutoCloseable {
    static final Duration PERIOD = Duration.ofMillis(5);
    private static final String BACKEND = "dev.bertft.tensor.cpu.CpuBackend";
    private static final String CPU_PACKAGE = "dev.bertft.tensor.cpu.";
    /** Worker samples in these classes are GEMM tiles, whichever op started them. */
    private static final List<String> GEMM_CLASSES = List.of(CPU_PACKAGE + "SimdGemm", CPU_PACKAGE + "SimdGemmFewRows", CPU_PACKAGE + "Gemm",
            CPU_PACKAGE + "ScalarGemm");
    /**
     * Loop bodies written outside CpuBackend, by the op they run for: on a worker no CpuBackend
     * frame is below them, and their samples are the op's, not "outside the backend".
     */
    private static final Map<String, String> KERNEL_LOOPS = Map.of(
            CPU_PACKAGE + "Attention.lambda$forward$", "attention",
            CPU_PACKAGE + "Attention.lambda$backward$", "attentionBackward");
    static final String GEMM_WORKER = "(GEMM on a worker)";
    static final String OUTSIDE = "(outside the backend)";

    private final Recording recording = new Recording();

    private OpProfile() {}

    /** Starts recording now. */
    static OpProfile start() {
        OpProfile p = new OpProfile();
        p.recording.enable("jdk.ExecutionSample").withPeriod(PERIOD).withStackTrace();
        p.recording.enable("jdk.ObjectAllocationSample").with("throttle", "1000/s");
        p.recording.enable("jdk.GarbageCollection");
        p.recording.start();
        return p;
    }

    /** What the recording saw. */
    record Result(Map<String, Long> samplesByOp, long allocatedBytes, double gcSeconds, double recordedSeconds) {
        long samples() {
            return samplesByOp.values().stream().mapToLong(Long::longValue).sum();
        }

        /** A Markdown table: op, ms per step (share × the step's median), share of the samples. */
        String table(double stepSeconds, int steps) {
            StringBuilder s = new StringBuilder("| op | ms/step | share |\n|---|---:|---:|\n");
            long all = Math.max(1, samples());
            samplesByOp.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).forEach(e -> {
                double share = (double) e.getValue() / all;
                s.append(String.format(Locale.ROOT, "| %s | %.1f | %.1f %% |%n", e.getKey(), share * stepSeconds * 1e3, share * 100));
            });
            s.append(String.format(Locale.ROOT, "%d samples; allocated %.2f GB/s (%.0f MB per step); GC %.0f ms per step%n", all,
                    allocatedBytes / recordedSeconds / 1e9, allocatedBytes / 1e6 / steps, gcSeconds * 1e3 / steps));
            return s.toString();
        }
    }

    /** Stops recording and reads the samples back. */
    Result stop() throws IOException {
        recording.stop();
        Path file = Files.createTempFile("bert-ft-profile", ".jfr");
        try {
            recording.dump(file);
            return read(RecordingFile.readAllEvents(file), recording.getDuration());
        } finally {
            Files.deleteIfExists(file);
        }
    }

    @Override
    public void close() {
        recording.close();
    }

    private static Result read(List<RecordedEvent> events, Duration recorded) {
        Map<String, Long> byOp = new HashMap<>(), callerGemmByOp = new HashMap<>();
        long allocated = 0, workerGemm = 0;
        double gc = 0;
        for (RecordedEvent e : events) {
            switch (e.getEventType().getName()) {
                case "jdk.ObjectAllocationSample" -> allocated += e.getLong("weight");
                case "jdk.GarbageCollection" -> gc += e.getDuration("sumOfPauses").toNanos() / 1e9;
                case "jdk.ExecutionSample" -> {
                    if (e.getStackTrace() == null) continue;
                    List<String> frames = frames(e);
                    String op = opOf(frames);
                    if (op.equals(GEMM_WORKER)) workerGemm++;
                    else {
                        byOp.merge(op, 1L, Long::sum);
                        if (inGemm(frames)) callerGemmByOp.merge(op, 1L, Long::sum);
                    }
                }
                default -> { }
            }
        }
        spread(byOp, callerGemmByOp, workerGemm);
        double seconds = recorded == null ? 1 : recorded.toNanos() / 1e9;
        return new Result(byOp, allocated, gc, seconds);
    }

    private static List<String> frames(RecordedEvent e) {
        List<String> frames = new ArrayList<>();
        for (RecordedFrame f : e.getStackTrace().getFrames()) frames.add(f.getMethod().getType().getName() + "." + f.getMethod().getName());
        return frames;
    }

    /**
     * The op a sample's stack (innermost frame first, each "class.method") belongs to: the
     * outermost CpuBackend method, a lambda counting for the method that wrote it, or the
     * outermost of the {@link #KERNEL_LOOPS}; a GEMM tile on
     * a worker ({@link #GEMM_WORKER}); the innermost frame of ours otherwise ({@link #OUTSIDE}).
     */
    static String opOf(List<String> frames) {
        for (int i = frames.size() - 1; i >= 0; i--) {
            String f = frames.get(i);
            if (f.startsWith(BACKEND + ".")) return methodOf(f.substring(BACKEND.length() + 1));
            for (Map.Entry<String, String> loop : KERNEL_LOOPS.entrySet()) if (f.startsWith(loop.getKey())) return loop.getValue();
        }
        if (inGemm(frames)) return GEMM_WORKER;
        for (String f : frames) {
            if (f.startsWith("dev.bertft.")) return OUTSIDE + " " + f.substring(f.lastIndexOf('.', f.lastIndexOf('.') - 1) + 1);
        }
        return "(JVM)";
    }

    private static String methodOf(String method) {
        if (!method.startsWith("lambda$")) return method;
        int end = method.indexOf('$', "lambda$".length());
        return end < 0 ? method : method.substring("lambda$".length(), end);
    }

    private static boolean inGemm(List<String> frames) {
        return frames.stream().anyMatch(f -> GEMM_CLASSES.stream().anyMatch(g -> f.startsWith(g + ".")));
    }

    /** Adds the workers' GEMM samples to the ops, in proportion to each op's own samples in the GEMM. */
    static void spread(Map<String, Long> byOp, Map<String, Long> callerGemmByOp, long workerGemm) {
        long callerGemm = callerGemmByOp.values().stream().mapToLong(Long::longValue).sum();
        if (workerGemm == 0) return;
        if (callerGemm == 0) {
            byOp.merge(GEMM_WORKER, workerGemm, Long::sum);
            return;
        }
        List<Map.Entry<String, Long>> ops = callerGemmByOp.entrySet().stream().sorted(Comparator.comparing(Map.Entry::getKey)).toList();
        long given = 0;
        for (int i = 0; i < ops.size(); i++) {
            long share = i == ops.size() - 1 ? workerGemm - given : workerGemm * ops.get(i).getValue() / callerGemm;
            byOp.merge(ops.get(i).getKey(), share, Long::sum);
            given += share;
        }
    }
}
