package dev.bertft.cuda;

import jcuda.driver.CUevent;
import jcuda.driver.CUstream;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;

/**
 * Where GPU time goes: the driver's ops, with every kernel launch bracketed by a pair of
 * CUDA events, adding the time between them to the kernel's name and launch shape (grid and
 * block, which for GEMM stands for the matrix sizes). Turned on with
 * {@code -Dbertft.cuda.profile=true}; the table goes to standard error when the JVM exits. It
 * counts our kernels only, not copies, fills or cuBLAS; with our GEMM, comparing its total with
 * a step's wall time tells whether the GPU or the host is the limit.
 */
final class ProfiledOps extends DriverOps {
    static final String PROPERTY = "bertft.cuda.profile";
    /** Events recorded before the oldest are read back and reused. */
    private static final int BATCH = 2048;

    private record Pending(String key, CUevent start, CUevent end) {}

    private record Total(String key, int launches, double ms) {}

    private final CUstream stream;
    private final List<CUevent> free = new ArrayList<>();
    private final List<Pending> pending = new ArrayList<>();
    private final Map<String, double[]> totals = new HashMap<>(); // key → {launches, ms}

    private ProfiledOps(Kernels kernels, PinnedStaging staging, CUstream stream) {
        super(kernels, staging, stream);
        this.stream = stream;
    }

    /** The driver's ops, profiled with the report printed at exit when the property asks for it. */
    static DriverOps forDriver(Kernels kernels, PinnedStaging staging, CUstream stream) {
        if (!Boolean.getBoolean(PROPERTY)) return new DriverOps(kernels, staging, stream);
        ProfiledOps profiled = new ProfiledOps(kernels, staging, stream);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> profiled.report(System.err)));
        return profiled;
    }

    @Override
    public synchronized void launchShared(String kernel, int sharedBytes, int gridX, int gridY, int gridZ, int blockX, int blockY,
                                          Object... args) {
        if (pending.size() == BATCH) drain();
        CUevent start = event(), end = event();
        cuEventRecord(start, stream);
        try {
            super.launchShared(kernel, sharedBytes, gridX, gridY, gridZ, blockX, blockY, args);
        } catch (RuntimeException e) {
            free.add(start);
            free.add(end);
            throw e;
        }
        cuEventRecord(end, stream);
        pending.add(new Pending(kernel + " <<<" + gridX + "x" + gridY + "x" + gridZ + ", " + blockX + "x" + blockY + ">>>", start, end));
    }

    /** Events recorded inside a capture would be replayed without their times being read: profile eager steps only. */
    @Override
    public boolean canCapture() {
        return false;
    }

    private CUevent event() {
        if (!free.isEmpty()) return free.remove(free.size() - 1);
        CUevent e = new CUevent();
        cuEventCreate(e, 0);
        return e;
    }

    /** Waits for the recorded launches, adds up their times and recycles their events. */
    private void drain() {
        float[] ms = new float[1];
        for (Pending p : pending) {
            cuEventSynchronize(p.end());
            cuEventElapsedTime(ms, p.start(), p.end());
            double[] t = totals.computeIfAbsent(p.key(), k -> new double[2]);
            t[0]++;
            t[1] += ms[0];
            free.add(p.start());
            free.add(p.end());
        }
        pending.clear();
    }

    /** The launch shapes by total GPU time, the costliest first, with the kernel total. */
    synchronized void report(PrintStream out) {
        drain();
        List<Total> rows = new ArrayList<>();
        totals.forEach((k, t) -> rows.add(new Total(k, (int) t[0], t[1])));
        rows.sort(Comparator.comparingDouble(Total::ms).reversed());
        double all = rows.stream().mapToDouble(Total::ms).sum();
        long launches = rows.stream().mapToLong(Total::launches).sum();
        out.printf(Locale.ROOT, "kernel profile: %d launches, %.1f ms of GPU time%n", launches, all);
        out.printf(Locale.ROOT, "%10s %8s %9s %6s  %s%n", "ms", "launches", "us/launch", "share", "kernel <<<grid, block>>>");
        for (Total r : rows) {
            out.printf(Locale.ROOT, "%10.2f %8d %9.1f %5.1f%%  %s%n", r.ms(), r.launches(), 1000 * r.ms() / r.launches(), 100 * r.ms() / all, r.key());
        }
    }
}
