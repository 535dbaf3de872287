package dev.bertft.cuda;

import dev.bertft.tensor.DType;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Our CUDA kernels, the .cu sources themselves, compiled with g++ against
 * src/test/emulator/cuda_emulation.h and run on the CPU (every CUDA thread a fiber, blocks one
 * after another), behind the same {@link DeviceOps} and {@link DeviceMemory} seams the driver
 * uses. A {@link CudaBackend} built on it runs every op through the real kernel code, so the
 * GPU parity tests run on a machine without a GPU: index math, shared-memory tiling, barriers,
 * warp shuffles, the tensor-core fragment layout and the launch shapes the backend picks.
 * Device memory is host memory, handed to the backend as device pointers whose address is
 * their byte offset.
 */
public final class KernelEmulator {
    /** What the emulated device reports; 2 SMs keep grids small, so grid-stride loops wrap. */
    static final DeviceInfo DEVICE = new DeviceInfo("CPU emulation of our CUDA kernels", 13000, 8, 0, 2, 4L << 30);
    /**
     * -Wno-unknown-pragmas: nvcc's #pragma unroll means nothing to g++. -Wno-maybe-uninitialized:
     * g++ cannot see that DropoutStream fills its bits before the first read.
     */
    private static final List<String> FLAGS = List.of("-std=c++17", "-O2", "-fPIC", "-Wall", "-Werror", "-Wno-unused-function",
            "-Wno-unknown-pragmas", "-Wno-maybe-uninitialized");
    /**
     * For the kernels only: g++ checks every access through a pointer for its type's alignment (a
     * misaligned float4 is a fault on the GPU, and x86 would quietly load it) and every index into an
     * array of known size (__shared__ tiles, per-thread register arrays). The checks call handlers that
     * emulator.cpp defines, which fault the launch; nothing links the sanitizer runtime.
     */
    private static final List<String> KERNEL_CHECKS = List.of("-fsanitize=alignment,bounds");
    /** Why the emulator cannot be built here (no g++, no JDK headers): the tests skip. */
    private static final String MISSING;
    /** Why building it failed where it could be built: the tests fail, as the kernels would on a GPU. */
    private static final String BROKEN;
    private static CudaBackend backend;
    /** Launches left before an injected fault; negative: none pending. */
    private static int launchesBeforeFault = -1;
    /** Blocks of this many bytes or more are refused, as by a full device. */
    private static long refuseFrom = Long.MAX_VALUE;
    /** The queued stream of each {@link #queuedGraphBackend}. */
    private static final Map<CudaBackend, QueuedOps> QUEUED = new IdentityHashMap<>();
    /** Where each launch is noted as it runs, or null. */
    private static List<Launch> launchLog;

    /** A kernel launch as the backend made it: the kernel's name and its arguments. */
    public record Launch(String kernel, Object[] args) {}

    static {
        String missing = null, broken = null;
        try {
            missing = build();
        } catch (Exception e) {
            broken = e.getMessage();
        }
        MISSING = missing;
        BROKEN = broken;
    }

    private KernelEmulator() {}

    private static native long allocate(long bytes);

    private static native void release(long address);

    private static native void zero(long address, long bytes);

    private static native void copyIn(Object array, long address, long bytes);

    private static native void copyOut(long address, Object array, long bytes);

    private static native void reverseSchedule(boolean on);

    private static synchronized native String launch(String kernel, int gridX, int gridY, int gridZ, int blockX, int blockY, int sharedBytes,
                                                     byte[] params, int[] offsets);

    /**
     * The emulated device, one for the whole test run like a GPU, running threads and blocks in
     * index order; skips the test, saying why, where g++ or the JDK headers are missing.
     */
    public static CudaBackend backend() {
        return backend(false);
    }

    /**
     * The emulated device with threads and blocks run last to first when {@code reversed}. Within
     * a barrier interval a correct kernel cannot tell the orders apart; one that reads another
     * thread's shared-memory write without a barrier between gets other data in one of them.
     */
    static synchronized CudaBackend backend(boolean reversed) {
        if (backend == null) backend = freshBackend();
        reverseSchedule(reversed);
        return backend;
    }

    /** Another emulated device, its allocator's cache empty: for tests that need to know what it holds. */
    public static CudaBackend freshBackend() {
        return freshBackend(DEVICE.totalMemory());
    }

    /** The same with {@code bytes} of device memory, so the allocator's collections come sooner. */
    static synchronized CudaBackend freshBackend(long bytes) {
        return freshBackend(bytes, false);
    }

    /**
     * Another emulated device whose update steps are captured as graphs ({@link RecordingOps}),
     * at most {@code cap} of them kept.
     */
    public static synchronized CudaBackend graphBackend(int cap) {
        CudaBackend b = freshBackend(DEVICE.totalMemory(), true);
        b.setStepGraphCap(cap);
        return b;
    }

    /**
     * Another emulated device whose stream runs as a GPU's does ({@link QueuedOps}: work runs only when
     * the host waits for it), its update steps captured as graphs, at most {@code cap} of them kept.
     */
    public static synchronized CudaBackend queuedGraphBackend(int cap) {
        CudaBackend b = freshBackend(DEVICE.totalMemory(), true, true);
        b.setStepGraphCap(cap);
        return b;
    }

    /** How many times the host has waited for a {@link #queuedGraphBackend}'s queued work so far. */
    public static long hostWaits(CudaBackend b) {
        return queuedOps(b).waits();
    }

    /** How many items of a {@link #queuedGraphBackend}'s queued work have not run yet. */
    public static int pendingWork(CudaBackend b) {
        return queuedOps(b).pending();
    }

    private static synchronized QueuedOps queuedOps(CudaBackend b) {
        QueuedOps q = QUEUED.get(b);
        if (q == null) throw new IllegalArgumentException("not a queuedGraphBackend");
        return q;
    }

    /** How a backend's update steps ran so far: {eager, captured, replayed, graphs evicted}. */
    public static long[] stepCounts(CudaBackend b) {
        StepGraphs.Counts c = b.stepCounts();
        return new long[] {c.eager(), c.captures(), c.replays(), c.evictions()};
    }

    private static CudaBackend freshBackend(long bytes, boolean capture) {
        return freshBackend(bytes, capture, false);
    }

    private static CudaBackend freshBackend(long bytes, boolean capture, boolean queued) {
        Assumptions.assumeTrue(MISSING == null, "CUDA kernels not run on the CPU emulator: " + MISSING);
        if (BROKEN != null) throw new IllegalStateException("building the kernel emulator failed: " + BROKEN);
        try {
            QueuedOps stream = queued ? new QueuedOps(new Ops()) : null;
            DeviceOps device = queued ? stream : new Ops();
            DeviceOps ops = capture ? new RecordingOps(device) : device;
            TensorCoreGemm gemm = new TensorCoreGemm(ops, "the only GEMM the emulator has");
            reverseSchedule(false);
            DeviceInfo info = new DeviceInfo(DEVICE.name(), DEVICE.cudaVersion(), DEVICE.ccMajor(),
                    DEVICE.ccMinor(), DEVICE.multiprocessors(), bytes);
            Memory memory = queued ? new Memory(bytes, stream::synchronize) : new Memory(bytes);
            CudaBackend backend = new CudaBackend(0, null, info, ops, memory, gemm, gemm);
            if (stream != null) QUEUED.put(backend, stream);
            return backend;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the committed PTX for the kernel signatures: " + e.getMessage(), e);
        }
    }

    /**
     * Fault injection for error-path tests: launch number {@code n} from now (1 = the next) fails
     * as a faulting kernel does on the GPU, with a {@link CudaFailureException}.
     */
    public static synchronized void failLaunch(int n) {
        if (n < 1) throw new IllegalArgumentException("launch number must be >= 1, got " + n);
        launchesBeforeFault = n;
    }

    /**
     * Makes the device refuse every new block of {@code bytes} or more, as a full GPU does;
     * {@link #restore} undoes it.
     */
    public static synchronized void refuseAllocations(long bytes) {
        refuseFrom = bytes;
    }

    /** Back to normal: no pending fault, no refused allocations, no launch log. */
    public static synchronized void restore() {
        launchesBeforeFault = -1;
        refuseFrom = Long.MAX_VALUE;
        launchLog = null;
    }

    /** From now on every launch on an emulated device is added to {@code log}, until {@link #restore}: for tests that count kernels. */
    public static synchronized void logLaunches(List<Launch> log) {
        launchLog = log;
    }

    private static synchronized void noteLaunch(String kernel, Object[] args) {
        if (launchLog != null) launchLog.add(new Launch(kernel, args.clone()));
    }

    private static synchronized boolean refused(long bytes) {
        return bytes >= refuseFrom;
    }

    private static synchronized boolean injectedFaultNow() {
        if (launchesBeforeFault < 0 || --launchesBeforeFault > 0) return false;
        launchesBeforeFault = -1;
        return true;
    }

    // ---- building -------------------------------------------------------------------------------

    /** Compiles and loads target/kernel-emulator/libkernelemu*.so (reused while their inputs are unchanged); null or why not. */
    private static String build() throws Exception {
        Path gxx = onPath("g++");
        if (gxx == null) return "g++ not found on PATH (apt-get install g++)";
        Path jni = Path.of(System.getProperty("java.home"), "include");
        if (!Files.isRegularFile(jni.resolve("jni.h"))) return "no jni.h under " + jni + " (run the tests with a full JDK)";
        Path emulator = emulatorSources(), cuda = Nvcc.cudaSources();
        Path out = Nvcc.moduleDir().resolve("target/kernel-emulator");
        Files.createDirectories(out);

        Map<String, String> units = new HashMap<>();
        units.put("emulator", Files.readString(emulator.resolve("emulator.cpp")));
        for (String module : Kernels.MODULES) units.put(module, translationUnit(module, Nvcc.committedSignatures(module).keySet()));
        units.put("selftest", translationUnit("selftest", selfTestKernels()));
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        digest.update(String.join(" ", FLAGS).getBytes(StandardCharsets.UTF_8));
        digest.update(String.join(" ", KERNEL_CHECKS).getBytes(StandardCharsets.UTF_8));
        for (String name : units.keySet().stream().sorted().toList()) digest.update(units.get(name).getBytes(StandardCharsets.UTF_8));
        digest.update(Files.readAllBytes(emulator.resolve("cuda_emulation.h")));
        digest.update(Files.readAllBytes(emulator.resolve("selftest.cu")));
        try (var files = Files.list(cuda)) {
            for (Path p : files.sorted().toList()) digest.update(Files.readAllBytes(p));
        }
        String stamp = HexFormat.of().formatHex(digest.digest());
        // Two libraries: the runtime, and the kernels, whose .bss then holds only their shared memory (see emulator.cpp).
        Path runtime = out.resolve("libkernelemu.so"), kernels = out.resolve("libkernelemu-kernels.so");
        Path stampFile = out.resolve("libkernelemu.sha256");

        if (!Files.isRegularFile(runtime) || !Files.isRegularFile(kernels) || !Files.exists(stampFile)
                || !Files.readString(stampFile).equals(stamp)) {
            List<String> include = List.of("-I" + emulator, "-I" + cuda, "-I" + jni, "-I" + jni.resolve("linux"));
            // Processes rather than a thread pool: lambdas would wait on this class's initialisation.
            Map<String, Process> compiles = new HashMap<>();
            for (var unit : units.entrySet()) {
                Path source = out.resolve(unit.getKey() + ".cpp");
                Files.writeString(source, unit.getValue());
                List<String> cmd = new ArrayList<>(List.of(gxx.toString()));
                cmd.addAll(FLAGS);
                if (!unit.getKey().equals("emulator")) cmd.addAll(KERNEL_CHECKS);
                cmd.addAll(include);
                cmd.addAll(List.of("-c", source.toString(), "-o", out.resolve(unit.getKey() + ".o").toString()));
                compiles.put(unit.getKey(), new ProcessBuilder(cmd).redirectErrorStream(true)
                        .redirectOutput(out.resolve(unit.getKey() + ".log").toFile()).start());
            }
            StringBuilder errors = new StringBuilder();
            for (var c : compiles.entrySet()) {
                if (c.getValue().waitFor() != 0) errors.append(c.getKey()).append(": ").append(Files.readString(out.resolve(c.getKey() + ".log")));
            }
            if (!errors.isEmpty()) throw new IllegalStateException("g++ rejected the kernels:\n" + errors);
            List<String> linkKernels = new ArrayList<>(List.of(gxx.toString(), "-shared", "-o", kernels.toString()));
            for (String name : units.keySet()) if (!name.equals("emulator")) linkKernels.add(out.resolve(name + ".o").toString());
            linkKernels.addAll(List.of(runtime.toString(), "-Wl,-rpath,$ORIGIN"));
            for (List<String> link : List.of(List.of(gxx.toString(), "-shared", "-Wl,-soname,libkernelemu.so", "-o", runtime.toString(),
                    out.resolve("emulator.o").toString()), linkKernels)) {
                var r = Nvcc.run(out, link, 600);
                if (r.exitCode() != 0) throw new IllegalStateException("linking the kernel emulator failed:\n" + r.output());
            }
            Files.writeString(stampFile, stamp);
        }
        System.load(runtime.toString());
        System.load(kernels.toString());
        return null;
    }

    /** The rule-breaking kernels of src/test/emulator/selftest.cu, for {@link EmulatorSelfTest}. */
    private static Collection<String> selfTestKernels() throws IOException {
        var m = Pattern.compile("extern \"C\" __global__ void (\\w+)").matcher(Files.readString(emulatorSources().resolve("selftest.cu")));
        List<String> names = new ArrayList<>();
        while (m.find()) names.add(m.group(1));
        return names;
    }

    private static Path emulatorSources() {
        return Nvcc.moduleDir().resolve("src/test/emulator");
    }

    /**
     * One module's source inside its own namespace (modules are separate programs on the GPU,
     * and share helper names), then a registration for each of its kernels.
     */
    private static String translationUnit(String module, Collection<String> kernels) {
        StringBuilder s = new StringBuilder("#include \"cuda_emulation.h\"\nnamespace emu_" + module + " {\n#include \""
                + module + ".cu\"\n}\n");
        for (String k : kernels) {
            String f = "&emu_" + module + "::" + k;
            s.append("static emu::Registration register_").append(k).append("(\"").append(k).append("\", &emu::invoke<").append(f)
                    .append(">, emu::arity(").append(f).append("));\n");
        }
        return s.toString();
    }

    private static Path onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) return Path.of(dir, program);
        }
        return null;
    }

    /** The host address a device pointer stands for. */
    static long address(Pointer p) {
        return TensorList.address(p);
    }

    /**
     * Runs a kernel to completion with its arguments laid out as the driver lays out kernel
     * parameters (each at its natural alignment); null, or a one-line description of the fault.
     */
    static String run(String kernel, int sharedBytes, int gridX, int gridY, int gridZ, int blockX, int blockY, Object... args) {
        ByteBuffer buffer = ByteBuffer.allocate(4096).order(ByteOrder.nativeOrder());
        int[] offsets = new int[args.length];
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            int align = a instanceof Integer || a instanceof Float ? 4 : 8; // structs: 8, for any long long inside
            buffer.position((buffer.position() + align - 1) / align * align);
            offsets[i] = buffer.position();
            if (a instanceof Integer v) buffer.putInt(v);
            else if (a instanceof Float v) buffer.putFloat(v);
            else if (a instanceof Long v) buffer.putLong(v);
            else if (a instanceof Double v) buffer.putDouble(v);
            else if (a instanceof int[] v) for (int x : v) buffer.putInt(x);
            else buffer.putLong(address((Pointer) a));
        }
        return launch(kernel, gridX, gridY, gridZ, blockX, blockY, sharedBytes, Arrays.copyOf(buffer.array(), buffer.position()), offsets);
    }

    /** Host memory as device memory, with the device's capacity, so running out behaves as on the GPU. */
    static final class Memory implements DeviceMemory<CUdeviceptr> {
        private final Map<Long, Long> sizes = new HashMap<>();
        private final long capacity;
        /** What runs before a block is freed: the work still queued, which may use it, as cuMemFree waits for the device. */
        private final Runnable beforeFree;
        private long used;

        Memory(long capacity) {
            this(capacity, () -> {});
        }

        Memory(long capacity, Runnable beforeFree) {
            this.capacity = capacity;
            this.beforeFree = beforeFree;
        }

        @Override
        public CUdeviceptr allocate(long bytes) {
            if (used + bytes > capacity || refused(bytes)) return null;
            long address = KernelEmulator.allocate(bytes);
            if (address == 0) return null;
            sizes.put(address, bytes);
            used += bytes;
            return new CUdeviceptr().withByteOffset(address);
        }

        @Override
        public void free(CUdeviceptr block) {
            beforeFree.run();
            long address = address(block);
            Long bytes = sizes.remove(address);
            if (bytes == null) throw new IllegalStateException("freeing " + Long.toHexString(address) + ", which was not allocated");
            used -= bytes;
            release(address);
        }
    }

    /**
     * Launches run to completion in the emulator, after the same argument check as on the GPU.
     * A kernel fault is sticky, as it is for a CUDA context: every later call on this device
     * fails with the same error.
     */
    static final class Ops implements DeviceOps {
        private final Map<String, List<String>> signatures;
        private CudaFailureException fault;

        Ops() throws IOException {
            signatures = Nvcc.committedSignatures();
        }

        private void usable() {
            if (fault != null) throw new CudaFailureException(fault.getMessage(), fault);
        }

        @Override
        public void launchShared(String kernel, int sharedBytes, int gridX, int gridY, int gridZ, int blockX, int blockY, Object... args) {
            usable();
            List<String> params = signatures.get(kernel);
            if (params == null) throw new IllegalStateException("no kernel named " + kernel);
            Kernels.checkArguments(kernel, params, args);
            noteLaunch(kernel, args);
            if (injectedFaultNow()) {
                fault = new CudaFailureException("waiting for the GPU: CUDA_ERROR_ILLEGAL_ADDRESS (injected into " + kernel + " by the test)");
                throw fault;
            }
            String problem = run(kernel, sharedBytes, gridX, gridY, gridZ, blockX, blockY, args);
            if (problem != null) {
                fault = new CudaFailureException("emulated kernel fault: " + problem);
                throw fault;
            }
        }

        @Override
        public void zero(CUdeviceptr p, long bytes) {
            usable();
            KernelEmulator.zero(address(p), bytes);
        }

        /** The checks the driver path's staging copies make: the array's type is the dtype's, and it holds n. */
        @Override
        public void upload(Object array, DType dtype, int n, CUdeviceptr dst) {
            usable();
            int length = switch (dtype) {
                case F32 -> ((float[]) array).length;
                case F64 -> ((double[]) array).length;
                case I32 -> ((int[]) array).length;
                case BF16, F16 -> ((short[]) array).length;
            };
            Objects.checkFromIndexSize(0, n, length);
            copyIn(array, address(dst), (long) n * dtype.bytes());
        }

        @Override
        public Object download(CUdeviceptr src, DType dtype, int n) {
            usable();
            Object array = dtype.newArray(n);
            copyOut(address(src), array, (long) n * dtype.bytes());
            return array;
        }

        @Override
        public void synchronize() {
            usable();
        }
    }
}
