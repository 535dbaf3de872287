package dev.bertft.cuda;

import dev.bertft.safetensors.Float16;
import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.MatrixLayout;
import dev.bertft.tensor.Ops;
import dev.bertft.tensor.ReductionPlan;
import dev.bertft.tensor.Tensor;
import jcuda.CudaException;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuStreamCreate;

/**
 * The CUDA backend: tensors live in GPU memory from a {@link CachingAllocator}, every op is one
 * or a few of our kernels (kernels/src/main/cuda) launched on one stream, and the host sees
 * data only through {@link #fromHost} / {@link #toHost} (pinned staging) and the few scalars an
 * op must return (sumOfSquares, the label checks of cross-entropy and embedding).
 *
 * <p>Semantics are those of the CPU backend, which is the reference: same op definitions, same
 * Philox stream for dropout and normal(), deterministic reductions (fixed orders, no float
 * atomics). float32 matmuls use TF32 tensor cores, so they agree with the CPU to about 1e-3.
 *
 * <p>Requirements: an NVIDIA GPU of compute capability 8.0 or newer and driver
 * 525.60.13 or newer (CUDA 12.0). JCuda's classes load only when {@link #open} is called.
 */
public final class CudaBackend implements Backend {
    private static final int THREADS = 256;
    /** How long a collection waits for the collector's last unreachable storages. */
    private static final long QUIET_MILLIS = 20;
    private static final ThreadLocal<CudaBackend> BOUND = new ThreadLocal<>();

    private final int ordinal;
    private final CUcontext context;
    private final DeviceInfo info;
    private final DeviceOps ops;
    private final CachingAllocator<CUdeviceptr> allocator;
    /** Storages the garbage collector found unreachable, whose blocks go back to the allocator. */
    private final ReferenceQueue<CudaStorage> unreachable = new ReferenceQueue<>();
    private final Set<Tracked> tracked = ConcurrentHashMap.newKeySet();
    /** The innermost open memory scope of each thread. */
    private final ThreadLocal<MemoryScope> openScope = new ThreadLocal<>();
    private final TensorCoreGemm ownGemm;
    private final GemmEngine gemm;
    private StepGraphs graphs;

    /** What describe() reports about the GPU; cudaVersion as the driver gives it (13000 = 13.0). */
    record DeviceInfo(String name, int cudaVersion, int ccMajor, int ccMinor, int multiprocessors, long totalMemory) {}

    /** Assembles a backend from its parts; {@code context} null means there is no driver to bind (tests). */
    CudaBackend(int ordinal, CUcontext context, DeviceInfo info, DeviceOps ops, DeviceMemory<CUdeviceptr> memory,
                TensorCoreGemm ownGemm, GemmEngine gemm) {
        this.ordinal = ordinal;
        this.context = context;
        this.info = info;
        this.ops = ops;
        // Dead activations may fill a quarter of the device before a collection recycles them.
        this.allocator = new CachingAllocator<>(memory, this::collectGarbage, info.totalMemory() / 4);
        this.ownGemm = ownGemm;
        ownGemm.runOn(allocator, info.multiprocessors());
        this.gemm = gemm;
        this.graphs = new StepGraphs(this, ops, allocator, StepGraphs.capFromProperty());
    }

    /** Keeps at most {@code cap} captured update steps (0: none, every step eager), dropping none already kept. */
    void setStepGraphCap(int cap) {
        graphs = new StepGraphs(this, ops, allocator, cap);
    }

    /** How the update steps ran so far: eagerly, captured, replayed. */
    StepGraphs.Counts stepCounts() {
        return graphs.counts();
    }

    /** See {@link StepGraphs}. */
    @Override
    public StepRun runStep(String key, List<Tensor> inputs, StepValues values, Function<List<Tensor>, Tensor> step) {
        bind();
        return graphs.run(key, inputs, values, step);
    }

    /** Queries the device, loads the kernels, creates the stream and picks the GEMM path. */
    private static CudaBackend create(int ordinal, CUdevice device, CUcontext context) {
        byte[] name = new byte[256];
        cuDeviceGetName(name, name.length, device);
        int len = 0;
        while (len < name.length && name[len] != 0) len++;
        int[] v = new int[1];
        cuDriverGetVersion(v);
        long[] mem = new long[1];
        cuDeviceTotalMem(mem, device);
        DeviceInfo info = new DeviceInfo(new String(name, 0, len, StandardCharsets.US_ASCII), v[0],
                attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
                attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
                attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT), mem[0]);
        if (info.ccMajor() < 8) {
            throw new CudaUnavailableException("GPU " + ordinal + " (" + info.name() + ") has compute capability " + info.ccMajor() + "."
                    + info.ccMinor() + "; the kernels need 8.0 or newer (TF32 tensor cores)");
        }
        CUstream stream = new CUstream();
        cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING);
        DeviceOps ops = ProfiledOps.forDriver(new Kernels(stream, info.ccMajor(), info.ccMinor()), new PinnedStaging(stream), stream);
        Selected selected = selectGemm(ops, stream);
        return new CudaBackend(ordinal, context, info, ops, new DriverMemory(), selected.own, selected.chosen);
    }

    private static int attribute(CUdevice device, int attribute) {
        int[] v = new int[1];
        cuDeviceGetAttribute(v, attribute, device);
        return v[0];
    }

    private record Selected(TensorCoreGemm own, GemmEngine chosen) {}

    /** cuBLAS when libcublas.so.12 is found and loads; our kernel otherwise, saying why. */
    private static Selected selectGemm(DeviceOps kernels, CUstream stream) {
        CublasLibrary.Search search = CublasLibrary.find(System.getenv(), System.getProperty("user.home"), CublasLibrary.REAL);
        if (search.found().isEmpty()) {
            TensorCoreGemm own = new TensorCoreGemm(kernels, CublasLibrary.FILE + " not found (searched "
                    + search.searched().size() + " directories: LD_LIBRARY_PATH, CUDA_HOME, /usr/local/cuda*, Python nvidia/cublas, system)");
            return new Selected(own, own);
        }
        Path lib = search.found().get();
        try {
            CublasGemm cublas = CublasGemm.open(lib, stream);
            return new Selected(new TensorCoreGemm(kernels, "not used: cuBLAS loaded"), cublas);
        } catch (LinkageError | RuntimeException e) {
            TensorCoreGemm own = new TensorCoreGemm(kernels, lib + " found but did not load: " + e);
            return new Selected(own, own);
        }
    }

    /**
     * Opens GPU {@code device}: driver, context, stream, kernel modules, GEMM path.
     *
     * @throws CudaUnavailableException saying why the GPU cannot be used
     */
    public static synchronized CudaBackend open(int device) {
        if (driverLoadFailure != null) throw new CudaUnavailableException(driverLoadFailure.getMessage(), driverLoadFailure);
        try {
            JCudaDriver.setExceptionsEnabled(true);
        } catch (LinkageError e) {
            // JCuda's class initialisation fails once; later uses only say "could not initialize class"
            driverLoadFailure = noDriver(e);
            throw driverLoadFailure;
        }
        try {
            cuInit(0);
        } catch (CudaException e) {
            String msg = String.valueOf(e.getMessage());
            if (msg.contains("NO_DEVICE")) throw new CudaUnavailableException("no CUDA device: the driver sees no GPU (" + msg + ")", e);
            if (msg.contains("INSUFFICIENT_DRIVER") || msg.contains("COMPAT")) {
                throw new CudaUnavailableException("CUDA driver too old: need NVIDIA driver " + Kernels.MINIMUM_DRIVER + " or newer ("
                        + msg + ")", e);
            }
            throw new CudaUnavailableException("CUDA driver failed to initialise: " + msg, e);
        }
        try {
            int[] count = new int[1];
            cuDeviceGetCount(count);
            if (device < 0 || device >= count[0]) {
                throw new CudaUnavailableException(count[0] == 0 ? "no CUDA device: the driver sees no GPU"
                        : "no CUDA device " + device + ": the driver sees " + count[0] + " (0.." + (count[0] - 1) + ")");
            }
            CUdevice dev = new CUdevice();
            cuDeviceGet(dev, device);
            CUcontext ctx = new CUcontext();
            cuDevicePrimaryCtxRetain(ctx, dev);
            cuCtxSetCurrent(ctx);
            CudaBackend backend = create(device, dev, ctx);
            BOUND.set(backend);
            return backend;
        } catch (CudaException e) {
            throw new CudaUnavailableException("opening CUDA device " + device + " failed: " + e.getMessage(), e);
        }
    }

    private static CudaUnavailableException driverLoadFailure;

    /**
     * JCuda's driver library could not load: almost always libcuda.so.1 is missing. JCuda's own
     * message spans many lines of nested stack traces; the exception keeps it as the cause.
     */
    private static CudaUnavailableException noDriver(Throwable e) {
        StringBuilder all = new StringBuilder();
        for (Throwable c = e; c != null; c = c.getCause()) all.append(c.getMessage()).append('\n');
        if (all.indexOf("libcuda") >= 0) {
            return new CudaUnavailableException("no CUDA driver: libcuda.so.1 could not be loaded (is the NVIDIA driver installed?)", e);
        }
        String first = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
        return new CudaUnavailableException("JCuda's native driver library could not be loaded on " + System.getProperty("os.name")
                + "/" + System.getProperty("os.arch") + ": " + first, e);
    }

    /**
     * A tensor storage's block, which goes back to the allocator exactly once: when the memory
     * scope that made it closes, or when the collector finds the storage unreachable, whichever
     * comes first ({@code tracked} holds the references not yet returned).
     */
    static final class Tracked extends PhantomReference<CudaStorage> {
        final CachingAllocator.Block<CUdeviceptr> block;
        /** The scope that frees it, or null when only the collector does. */
        MemoryScope scope;
        /** Returned by a scope while the storage was still reachable: any later use is an error. */
        volatile boolean freed;

        Tracked(CudaStorage storage, ReferenceQueue<CudaStorage> queue, CachingAllocator.Block<CUdeviceptr> block, MemoryScope scope) {
            super(storage, queue);
            this.block = block;
            this.scope = scope;
        }
    }

    /**
     * Returns a storage's block to the allocator unless it was returned already. A scope may free a
     * storage that is still reachable, so the storage is marked: any later use of it fails.
     */
    private void free(Tracked t) {
        if (tracked.remove(t)) {
            t.freed = true;
            t.clear();
            allocator.release(t.block);
        }
    }

    /** Returns the blocks of storages found unreachable since the last look, without waiting. */
    private void recycle() {
        for (Reference<? extends CudaStorage> r; (r = unreachable.poll()) != null; ) free((Tracked) r);
    }

    /**
     * Runs the garbage collector and takes back the blocks of the storages it finds unreachable;
     * the JVM queues them from another thread, so this waits until none has come for a moment.
     */
    private void collectGarbage() {
        System.gc();
        try {
            for (Reference<? extends CudaStorage> r; (r = unreachable.remove(QUIET_MILLIS)) != null; ) free((Tracked) r);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The CUDA context is current per thread: make it current on whichever thread calls us. */
    private void bind() {
        if (context != null && BOUND.get() != this) {
            cuCtxSetCurrent(context);
            BOUND.set(this);
        }
    }

    @Override
    public String name() {
        return "cuda:" + ordinal;
    }

    /** For {@code doctor}: the GPU, the driver, memory, the GEMM path and why, allocator stats. */
    public String describe() {
        return String.join("\n",
                "device:   " + name() + " " + info.name() + ", compute capability " + info.ccMajor() + "." + info.ccMinor() + ", "
                        + info.multiprocessors() + " SMs, " + String.format("%.1f GiB", info.totalMemory() / (double) (1L << 30)),
                "driver:   CUDA " + info.cudaVersion() / 1000 + "." + (info.cudaVersion() % 1000) / 10 + " (need driver "
                        + Kernels.MINIMUM_DRIVER + ")",
                "kernels:  " + ops.kernelImage(),
                "gemm:     " + gemm.describe() + (gemm == ownGemm ? "" : "; float64: own tiled kernel") + "; BF16/F16: own mma.sync m16n8k16 kernel",
                "memory:   " + allocator.stats());
    }

    public CachingAllocator.Stats memoryStats() {
        return allocator.stats();
    }

    /** Waits for all queued work; a kernel fault surfaces here as an exception. */
    public void synchronize() {
        bind();
        ops.synchronize();
    }

    // ---- memory -----------------------------------------------------------------------------

    private Tensor allocate(DType dtype, int... shape) {
        return allocate(openScope.get(), dtype, shape, false);
    }

    /** A tensor no memory scope frees, only the collector: for what a captured step keeps. */
    Tensor allocateUnscoped(DType dtype, int... shape) {
        return allocate(null, dtype, shape, false);
    }

    /**
     * A tensor that host work writes. Inside a capture the host work runs before each launch, ahead
     * of every kernel, so the tensor's block must serve no other tensor of the step, before or
     * after: it is one the capture has not used, and it lives as long as the graph.
     */
    private Tensor hostTarget(DType dtype, int... shape) {
        if (!graphs.capturing()) return allocate(dtype, shape);
        Tensor t = allocate(null, dtype, shape, true);
        graphs.keep(t);
        return t;
    }

    /** Takes {@code t} out of its memory scope, as {@link #allocateUnscoped} would have made it. */
    void detach(Tensor t) {
        own(t).tracked.scope = null;
    }

    /** {@code untouched}: a block no work of the capture in progress has used (see {@link CachingAllocator#allocate}). */
    private Tensor allocate(MemoryScope scope, DType dtype, int[] shape, boolean untouched) {
        bind();
        recycle();
        long n = Tensor.numel(shape);
        CachingAllocator.Block<CUdeviceptr> block = allocator.allocate(n * dtype.bytes(),
                "a " + dtype + " tensor of shape " + Arrays.toString(shape), untouched);
        CudaStorage s = new CudaStorage(this, dtype, n, block.handle());
        s.tracked = new Tracked(s, unreachable, block, scope);
        tracked.add(s.tracked);
        if (scope != null) scope.made.add(s.tracked);
        return Tensor.contiguousView(s, shape);
    }

    @Override
    public Scope openScope() {
        MemoryScope s = new MemoryScope(openScope.get());
        openScope.set(s);
        return s;
    }

    /** A scope of {@link Backend#openScope}: the blocks of the tensors made while it is the innermost one on its thread. */
    final class MemoryScope implements Scope {
        private final MemoryScope parent;
        private final Thread thread = Thread.currentThread();
        private final List<Tracked> made = new ArrayList<>();
        private boolean closed;

        private MemoryScope(MemoryScope parent) {
            this.parent = parent;
        }

        @Override
        public void keep(Tensor t) {
            Tracked lease = own(t).tracked;
            if (lease.scope != this) return; // made outside this scope, or kept already
            lease.scope = parent;
            if (parent != null) parent.made.add(lease);
        }

        @Override
        public void release(Tensor t) {
            Tracked lease = own(t).tracked;
            for (MemoryScope s = lease.scope; s != null; s = s.parent) {
                if (s == this) {
                    free(lease);
                    return;
                }
            }
        }

        @Override
        public void close() {
            if (closed) return;
            if (Thread.currentThread() != thread || openScope.get() != this) {
                throw new IllegalStateException("memory scopes close innermost first, on the thread that opened them");
            }
            closed = true;
            openScope.set(parent);
            for (Tracked t : made) if (t.scope == this) free(t);
            made.clear();
        }
    }

    /** Scratch space for one op; released right after its launches (stream order keeps it safe). */
    private CachingAllocator.Block<CUdeviceptr> scratch(long bytes, String what) {
        return allocator.allocate(bytes, what);
    }

    /** Checks the tensor is ours; every op passes here first, so it also makes our context current. */
    private CudaStorage own(Tensor t) {
        bind();
        if (!(t.storage() instanceof CudaStorage s) || s.backend != this) {
            throw new IllegalArgumentException("tensor on " + t.backend().name() + " passed to the " + name() + " backend");
        }
        if (s.tracked.freed) {
            throw new IllegalStateException("a " + s.dtype + " tensor of shape " + Arrays.toString(t.shape())
                    + " was used after the memory scope that made it closed; Scope.keep lets a tensor outlive its scope");
        }
        return s;
    }

    /** The device address of a tensor's first element. */
    private CUdeviceptr ptr(Tensor t) {
        CudaStorage s = own(t);
        return s.pointer.withByteOffset((long) t.offset() * s.dtype.bytes());
    }

    private Tensor dense(Tensor t) {
        own(t);
        return t.isContiguous() ? t : contiguous(t);
    }

    private int grid(long n) {
        return (int) Math.max(1, Math.min((n + THREADS - 1) / THREADS, (long) info.multiprocessors() * 16));
    }

    /** Threads per block for a row of {@code len}: a multiple of 32 up to 256. */
    private static int rowThreads(int len) {
        return Math.min(THREADS, Math.max(32, (len + 31) / 32 * 32));
    }

    private int rowGrid(long rows) {
        return (int) Math.max(1, Math.min(rows, (long) info.multiprocessors() * 32));
    }

    private static String suffix(DType d) {
        return switch (d) {
            case F32 -> "f32";
            case F64 -> "f64";
            case I32 -> "i32";
            case BF16 -> "bf16";
            case F16 -> "f16";
        };
    }

    @Override
    public Tensor zeros(DType dtype, int... shape) {
        Tensor out = allocate(dtype, shape);
        if (out.numel() > 0) ops.zero(ptr(out), (long) out.numel() * dtype.bytes());
        return out;
    }

    @Override
    public Tensor fromHost(Object data, DType dtype, int... shape) {
        Tensor out = hostTarget(dtype, shape);
        // inside a captured step: a constant of the step (position ids), copied in again before each launch
        Object copy = copyOf(data);
        graphs.onHost(side -> side.upload(out, copy));
        if (dtype == DType.I32 && data instanceof int[] ints) own(out).uploaded = Arrays.copyOf(ints, out.numel());
        return out;
    }

    /**
     * Copies a host array (of dst's dtype, at most dst's size) into the start of {@code dst}'s
     * memory: host work of a captured step, whose tensors' scope is closed but whose blocks the
     * graph keeps, so the use-after-free check is not made.
     */
    void upload(Tensor dst, Object array) {
        CudaStorage s = (CudaStorage) dst.storage();
        ops.upload(array, dst.dtype(), java.lang.reflect.Array.getLength(array), s.pointer.withByteOffset((long) dst.offset() * s.dtype.bytes()));
    }

    /** A copy of a host array of any of the element types {@link #fromHost} takes. */
    private static Object copyOf(Object data) {
        if (data instanceof float[] a) return a.clone();
        if (data instanceof double[] a) return a.clone();
        if (data instanceof int[] a) return a.clone();
        if (data instanceof short[] a) return a.clone();
        throw new IllegalArgumentException("fromHost: unsupported array " + data.getClass().getSimpleName());
    }

    /** {@code t}'s values as the {@link #fromHost} that made it had them, or null (no check that its scope is open: see {@link #upload}). */
    int[] uploadedValues(Tensor t) {
        int[] uploaded = ((CudaStorage) t.storage()).uploaded;
        return uploaded == null || !t.isContiguous() ? null : Arrays.copyOfRange(uploaded, t.offset(), t.offset() + t.numel());
    }

    /** An I32 tensor's values on the host: from its upload when it has one, else read back. */
    int[] indices(Tensor t) {
        int[] uploaded = own(t).uploaded;
        if (uploaded != null && t.isContiguous()) return Arrays.copyOfRange(uploaded, t.offset(), t.offset() + t.numel());
        return (int[]) toHost(t);
    }

    @Override
    public Object toHost(Tensor t) {
        bind();
        Tensor d = dense(t);
        return ops.download(ptr(d), d.dtype(), d.numel());
    }

    @Override
    public Tensor contiguous(Tensor t) {
        own(t);
        Tensor out = allocate(t.dtype(), t.shape());
        copyStrided(t, out);
        return out;
    }

    /** dst ← src for two views of the same shape and dtype, either of them strided. */
    private void copyStrided(Tensor src, Tensor dst) {
        int n = src.numel();
        if (n == 0) return;
        int[] layout = StridedLayout.of(src.shape(), src.strides(), new int[src.dim()], dst.strides());
        String kernel = "copy_strided_" + src.dtype().bytes();
        ops.launch(kernel, grid(n), 1, 1, THREADS, 1, layout, ptr(src), ptr(dst), (long) n);
    }

    /** BF16 and F16 convert to and from float32 only; other pairs go through it, as on the CPU. */
    @Override
    public Tensor cast(Tensor t, DType to) {
        Tensor src = dense(t);
        if (src.dtype() == to) return contiguous(src);
        if ((src.dtype().isHalf() || to.isHalf()) && src.dtype() != DType.F32 && to != DType.F32) return cast(cast(src, DType.F32), to);
        Tensor out = allocate(to, t.shape());
        long n = out.numel();
        if (n > 0) ops.launch("cast_" + suffix(src.dtype()) + "_" + suffix(to), grid(n), 1, 1, THREADS, 1, ptr(src), ptr(out), n);
        return out;
    }

    @Override
    public Tensor full(DType dtype, int[] shape, double value) {
        Tensor out = allocate(dtype, shape);
        long n = out.numel();
        if (n == 0) return out;
        switch (dtype) {
            case F32 -> ops.launch("fill_4", grid(n), 1, 1, THREADS, 1, ptr(out), Float.floatToRawIntBits((float) value), n);
            case I32 -> ops.launch("fill_4", grid(n), 1, 1, THREADS, 1, ptr(out), (int) value, n);
            case F64 -> ops.launch("fill_8", grid(n), 1, 1, THREADS, 1, ptr(out), Double.doubleToRawLongBits(value), n);
            case BF16 -> ops.launch("fill_2", grid(n), 1, 1, THREADS, 1, ptr(out), Float16.floatToBf16((float) value) & 0xFFFF, n);
            case F16 -> ops.launch("fill_2", grid(n), 1, 1, THREADS, 1, ptr(out), Float16.floatToF16((float) value) & 0xFFFF, n);
        }
        return out;
    }

    // ---- pointwise --------------------------------------------------------------------------

    @Override
    public Tensor unary(Ops.Unary op, Tensor x) {
        Tensor in = dense(x);
        Tensor out = allocate(x.dtype(), x.shape());
        long n = out.numel();
        if (n > 0) ops.launch("unary_" + suffix(x.dtype()), grid(n), 1, 1, THREADS, 1, op.ordinal(), ptr(in), ptr(out), n);
        return out;
    }

    /** One kernel writes GELU's result and its BF16/F16 copy. */
    @Override
    public Copied<Tensor> gelu(Tensor x, DType copy) {
        if (x.dtype() != DType.F32 || !copy.isHalf()) return Backend.super.gelu(x, copy);
        Tensor in = dense(x), out = allocate(DType.F32, x.shape()), half = allocate(copy, x.shape());
        long n = out.numel();
        if (n > 0) ops.launch("gelu_f32_copy_" + suffix(copy), grid(n), 1, 1, THREADS, 1, ptr(in), ptr(out), ptr(half), n);
        return new Copied<>(out, half);
    }

    @Override
    public Tensor scalar(Ops.Scalar op, Tensor x, double s) {
        Tensor in = dense(x);
        Tensor out = allocate(x.dtype(), x.shape());
        long n = out.numel();
        if (n > 0) ops.launch("scalar_" + suffix(x.dtype()), grid(n), 1, 1, THREADS, 1, op.ordinal(), ptr(in), ptr(out), s, n);
        return out;
    }

    @Override
    public Tensor binary(Ops.Binary op, Tensor a, Tensor b) {
        own(a);
        own(b);
        int[] shape = Tensor.broadcastShape(op.name(), a.shape(), b.shape());
        Tensor out = allocate(a.dtype(), shape);
        long n = out.numel();
        if (n == 0) return out;
        Tensor ea = a.expand(shape), eb = b.expand(shape);
        int[] layout = StridedLayout.of(shape, ea.strides(), eb.strides(), out.strides());
        ops.launch("binary_" + suffix(a.dtype()), grid(n), 1, 1, THREADS, 1, op.ordinal(), layout, ptr(ea), ptr(eb), ptr(out), n);
        return out;
    }

    @Override
    public Tensor geluBackward(Tensor x, Tensor dy) {
        Tensor xin = dense(x), g = dense(dy);
        Tensor out = allocate(x.dtype(), x.shape());
        long n = out.numel();
        if (n > 0) ops.launch("gelu_backward_" + suffix(x.dtype()), grid(n), 1, 1, THREADS, 1, ptr(xin), ptr(g), ptr(out), n);
        return out;
    }

    @Override
    public Tensor biasGelu(Tensor x, Tensor bias) {
        Tensor in = dense(x), b = dense(bias);
        Tensor out = allocate(x.dtype(), x.shape());
        long n = out.numel();
        if (n > 0) ops.launch("bias_gelu_" + suffix(x.dtype()), grid(n), 1, 1, THREADS, 1, ptr(in), ptr(b), ptr(out), n, x.size(-1));
        return out;
    }

    @Override
    public Tensor biasGeluBackward(Tensor x, Tensor bias, Tensor dy) {
        Tensor in = dense(x), b = dense(bias), g = dense(dy);
        Tensor out = allocate(x.dtype(), x.shape());
        long n = out.numel();
        if (n > 0) {
            ops.launch("bias_gelu_backward_" + suffix(x.dtype()), grid(n), 1, 1, THREADS, 1, ptr(in), ptr(b), ptr(g), ptr(out), n,
                    x.size(-1));
        }
        return out;
    }

    @Override
    public Tensor dropoutMask(DType dtype, int[] shape, double p, long seed, long offset) {
        Tensor out = allocate(dtype, shape);
        long n = out.numel();
        if (n > 0) {
            ops.launch("dropout_mask_" + suffix(dtype), grid((n + 3) / 4), 1, 1, THREADS, 1, ptr(out), n, (float) p,
                    1.0 / (1.0 - p), seed, ptr(graphs.philoxStart()), philoxOffset(offset));
        }
        return out;
    }

    /**
     * A Philox offset as the kernels take it: relative to the running step's start, which they read
     * from {@link StepGraphs#philoxStart()}, so a replayed step draws from its own place in the stream.
     */
    private long philoxOffset(long offset) {
        StepValues step = graphs.values();
        return step == null ? offset : offset - step.rngOffset();
    }

    @Override
    public Tensor normal(DType dtype, int[] shape, double mean, double std, long seed, long offset) {
        Tensor out = allocate(dtype, shape);
        long n = out.numel();
        if (n > 0) ops.launch("normal_" + suffix(dtype), grid((n + 3) / 4), 1, 1, THREADS, 1, ptr(out), n, mean, std, seed, offset);
        return out;
    }

    // ---- reductions -------------------------------------------------------------------------

    /** Rows per block of a column reduction: [4096, 768] gets 24 × 32 blocks. */
    private static final int COLUMN_CHUNK_ROWS = 128;

    @Override
    public Tensor reduce(Ops.Reduce op, Tensor x, int[] axes, boolean keepDims) {
        own(x);
        ReductionPlan plan = ReductionPlan.of(x.shape(), axes, keepDims);
        int[] perm = plan.perm();
        int outer = plan.outer(), inner = plan.inner();
        Tensor out = allocate(x.dtype(), plan.outShape());
        if (outer == 0) return out;
        String t = suffix(x.dtype());
        boolean leadingOnly = ReductionPlan.leadingAxes(axes) && x.isContiguous();
        if (leadingOnly) {
            // Leading axes of a contiguous tensor: column sums of a [inner, outer] matrix, by row chunks.
            int chunkRows = Math.max(COLUMN_CHUNK_ROWS, (inner + 65534) / 65535); // grid y holds at most 65535 chunks
            int chunks = Math.max(1, (inner + chunkRows - 1) / chunkRows);
            CachingAllocator.Block<CUdeviceptr> partial = scratch((long) chunks * outer * 8, "column reduction partials");
            try {
                ops.launch("reduce_cols_partial_" + t, (outer + 31) / 32, chunks, 1, 32, 8, op.ordinal(), ptr(x), partial.handle(),
                        inner, outer, chunkRows);
                ops.launch("reduce_cols_final_" + t, (outer + THREADS - 1) / THREADS, 1, 1, THREADS, 1, op.ordinal(), partial.handle(),
                        ptr(out), chunks, inner, outer);
            } finally {
                allocator.release(partial);
            }
            return out;
        }
        Tensor runs = dense(x.permute(perm));
        ops.launch("reduce_rows_" + t, rowGrid(outer), 1, 1, rowThreads(inner), 1, op.ordinal(), ptr(runs), ptr(out), outer, inner);
        return out;
    }

    @Override
    public Tensor argmax(Tensor x, int axis) {
        int[] perm = ReductionPlan.axisLast(x.dim(), axis);
        Tensor rows = dense(x.permute(perm));
        int len = x.size(axis);
        int[] shape = new int[x.dim() - 1];
        for (int i = 0; i < shape.length; i++) shape[i] = x.size(perm[i]);
        Tensor out = allocate(DType.I32, shape);
        int n = out.numel();
        if (n > 0) ops.launch("argmax_rows_" + suffix(x.dtype()), rowGrid((n + 7) / 8), 1, 1, THREADS, 1, ptr(rows), ptr(out), n, len);
        return out;
    }

    // ---- linear algebra ---------------------------------------------------------------------

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        return product(a, b, null, a.dtype());
    }

    /** BF16/F16 operands on our half-precision kernel, C written as float32 or in their format. */
    @Override
    public Tensor matmul(Tensor a, Tensor b, DType out) {
        return product(a, b, null, out);
    }

    /**
     * x·wᵀ + bias with the bias added by our GEMM kernel as it writes the product out, which
     * saves a pass over the output per Linear layer; cuBLAS and float64 take the plain way.
     */
    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        boolean ownKernel = x.dtype().isHalf() || (gemm == ownGemm && x.dtype() == DType.F32);
        if (bias == null || !ownKernel || x.dim() < 2 || x.size(-1) == 0) {
            return Backend.super.linear(x, w, bias);
        }
        return product(x, w.transpose(0, 1), dense(bias), x.dtype());
    }

    /**
     * a·b written as {@code outType}, plus {@code bias} (of that type, our kernels only) on every
     * row when not null. Half operands always take our kernel: cuBLAS is bound for float32 only.
     */
    private Tensor product(Tensor a, Tensor b, Tensor bias, DType outType) {
        own(a);
        own(b);
        int m = a.size(-2), k = a.size(-1), n = b.size(-1);
        int[] outShape = a.shape();
        outShape[outShape.length - 1] = n;
        Tensor out = allocate(outType, outShape);
        if ((long) m * n == 0) return out;
        int batch = out.numel() / (m * n);
        if (k == 0) return zeros(outType, outShape);
        MatrixLayout la = MatrixLayout.of(a), lb = MatrixLayout.of(b);
        long bStride = b.dim() == 2 ? 0 : lb.batchStride();
        if (a.dtype().isHalf()) {
            ownGemm.hgemm(a.dtype(), outType, la.transposed(), lb.transposed(), m, n, k, batch, ptr(la.t()), la.ld(), la.batchStride(),
                    ptr(lb.t()), lb.ld(), bStride, ptr(out), n, (long) m * n, bias == null ? TensorCoreGemm.NO_BIAS : ptr(bias));
        } else if (bias != null) {
            ownGemm.sgemm(la.transposed(), lb.transposed(), m, n, k, batch, ptr(la.t()), la.ld(), la.batchStride(),
                    ptr(lb.t()), lb.ld(), bStride, ptr(out), n, (long) m * n, ptr(bias));
        } else if (a.dtype() == DType.F32) {
            gemm.sgemm(la.transposed(), lb.transposed(), m, n, k, batch, ptr(la.t()), la.ld(), la.batchStride(),
                    ptr(lb.t()), lb.ld(), bStride, ptr(out), n, (long) m * n);
        } else {
            ownGemm.dgemm(la.transposed(), lb.transposed(), m, n, k, batch, ptr(la.t()), la.ld(), la.batchStride(),
                    ptr(lb.t()), lb.ld(), bStride, ptr(out), n, (long) m * n);
        }
        // Copies made for the layouts or the bias must outlive a workspace allocation inside the
        // GEMM, which may collect and recycle blocks: only the launch's stream order protects them after.
        Reference.reachabilityFence(la);
        Reference.reachabilityFence(lb);
        Reference.reachabilityFence(bias);
        return out;
    }

    // ---- attention --------------------------------------------------------------------------

    /** Query (or key) rows per attention block, as 4 warps of 16 on tensor cores. */
    private static final int ATTENTION_ROWS = 64, ATTENTION_THREADS = 128;

    /** The fused kernels exist for float32 heads of 16, 32 or 64 features; other cases compose plain ops. */
    private boolean fusedAttention(Tensor q) {
        int hs = q.size(3);
        return q.dtype() == DType.F32 && (hs == 16 || hs == 32 || hs == 64) && (long) q.size(0) * q.size(1) <= 65535;
    }

    @Override
    public AttentionOut attention(Tensor q, Tensor k, Tensor v, Tensor mask, double scale, double dropoutP, long seed, long offset) {
        if (!fusedAttention(q)) return composedAttention(q, k, v, mask, scale, dropoutP, seed, offset);
        int b = q.size(0), nh = q.size(1), t = q.size(2), hs = q.size(3);
        Tensor out = headsOfTokens(b, nh, t, hs), lse = allocate(DType.F32, b, nh, t);
        if (t == 0 || b * nh == 0) return new AttentionOut(out, lse);
        Tensor qs = rowsOfHeads(q), ks = rowsOfHeads(k), vs = rowsOfHeads(v);
        ops.launch("attention_forward_hs" + hs, (t + ATTENTION_ROWS - 1) / ATTENTION_ROWS, b * nh, 1, ATTENTION_THREADS, 1,
                ptr(qs), headStrides(qs), ptr(ks), headStrides(ks), ptr(vs), headStrides(vs), ptr(dense(mask)), ptr(out), headStrides(out),
                ptr(lse), nh, t, (float) scale, dropoutP > 0 ? 1 : 0, (float) dropoutP, (float) (1 / (1 - dropoutP)), seed,
                ptr(graphs.philoxStart()), philoxOffset(offset));
        return new AttentionOut(out, lse);
    }

    /**
     * A new [B, NH, T, HS] tensor laid out as [B, T, NH, HS], so that the model's transpose back
     * to [B, T, H] is a view rather than a copy.
     */
    private Tensor headsOfTokens(int b, int nh, int t, int hs) {
        return allocate(DType.F32, b, t, nh, hs).permute(0, 2, 1, 3);
    }

    /** {@code x} itself where its feature axis is unit-stride (the kernels take any other strides), else a dense copy. */
    private Tensor rowsOfHeads(Tensor x) {
        own(x);
        return x.stride(3) == 1 ? x : contiguous(x);
    }

    /** The HeadStrides kernel parameter: element strides along B, NH and T. */
    private static int[] headStrides(Tensor x) {
        return new int[] {x.stride(0), x.stride(1), x.stride(2)};
    }

    @Override
    public AttentionGrads attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor mask, AttentionOut forward,
                                            double scale, double dropoutP, long seed, long offset) {
        if (!fusedAttention(q)) return composedAttentionBackward(dOut, q, k, v, mask, scale, dropoutP, seed, offset);
        int b = q.size(0), nh = q.size(1), t = q.size(2), hs = q.size(3);
        Tensor dq = headsOfTokens(b, nh, t, hs), dk = headsOfTokens(b, nh, t, hs), dv = headsOfTokens(b, nh, t, hs);
        if (t == 0 || b * nh == 0) return new AttentionGrads(dq, dk, dv);
        Tensor g = rowsOfHeads(dOut), qs = rowsOfHeads(q), ks = rowsOfHeads(k), vs = rowsOfHeads(v), out = rowsOfHeads(forward.out());
        Tensor md = dense(mask), lse = dense(forward.logSumExp());
        long rows = (long) b * nh * t;
        Tensor dd = allocate(DType.F32, b, nh, t);
        ops.launch("attention_backward_dot", grid(rows * Math.min(32, hs)), 1, 1, THREADS, 1, ptr(g), headStrides(g), ptr(out), headStrides(out), ptr(dd),
                nh, t, rows, hs);
        int tiles = (t + ATTENTION_ROWS - 1) / ATTENTION_ROWS, useDropout = dropoutP > 0 ? 1 : 0;
        float p = (float) dropoutP, keep = (float) (1 / (1 - dropoutP)), sc = (float) scale;
        ops.launch("attention_backward_kv_hs" + hs, tiles, b * nh, 1, ATTENTION_THREADS, 1, ptr(g), headStrides(g), ptr(qs), headStrides(qs),
                ptr(ks), headStrides(ks), ptr(vs), headStrides(vs), ptr(md), ptr(lse), ptr(dd), ptr(dk), ptr(dv), headStrides(dk), nh, t, sc,
                useDropout, p, keep, seed, ptr(graphs.philoxStart()), philoxOffset(offset));
        ops.launch("attention_backward_q_hs" + hs, tiles, b * nh, 1, ATTENTION_THREADS, 1, ptr(g), headStrides(g), ptr(qs), headStrides(qs),
                ptr(ks), headStrides(ks), ptr(vs), headStrides(vs), ptr(md), ptr(lse), ptr(dd), ptr(dq), headStrides(dq), nh, t, sc,
                useDropout, p, keep, seed, ptr(graphs.philoxStart()), philoxOffset(offset));
        return new AttentionGrads(dq, dk, dv);
    }

    /** The plain-op composition the CPU backend uses for float64 (and here for other head sizes). */
    private AttentionOut composedAttention(Tensor q, Tensor k, Tensor v, Tensor mask, double scale, double p, long seed, long offset) {
        Tensor bias = mask.unsqueeze(1).unsqueeze(1);
        Tensor scores = q.matmul(k.transpose(-1, -2)).mul(scale).add(bias);
        Tensor max = scores.reduce(Ops.Reduce.MAX, true, -1);
        Tensor lse = scores.sub(max).exp().reduce(Ops.Reduce.SUM, true, -1).log().add(max).squeeze(-1);
        Tensor probs = scores.softmax();
        if (p > 0) probs = probs.mul(dropoutMask(q.dtype(), probs.shape(), p, seed, offset));
        return new AttentionOut(probs.matmul(v), lse);
    }

    private AttentionGrads composedAttentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor mask, double scale,
                                                     double p, long seed, long offset) {
        Tensor bias = mask.unsqueeze(1).unsqueeze(1);
        Tensor probs = q.matmul(k.transpose(-1, -2)).mul(scale).add(bias).softmax();
        Tensor drop = p > 0 ? dropoutMask(q.dtype(), probs.shape(), p, seed, offset) : null;
        Tensor dropped = drop == null ? probs : probs.mul(drop);
        Tensor dv = dropped.transpose(-1, -2).matmul(dOut);
        Tensor dp = dOut.matmul(v.transpose(-1, -2));
        if (drop != null) dp = dp.mul(drop);
        Tensor ds = softmaxBackward(probs, dp).mul(scale);
        return new AttentionGrads(ds.matmul(k), ds.transpose(-1, -2).matmul(q), dv);
    }

    // ---- normalisation and losses -----------------------------------------------------------

    @Override
    public Tensor softmax(Tensor x) {
        return softmaxRows(x, false);
    }

    @Override
    public Tensor logSoftmax(Tensor x) {
        return softmaxRows(x, true);
    }

    private static int rowLength(Tensor x) {
        return x.dim() == 0 ? 1 : x.size(-1);
    }

    private Tensor softmaxRows(Tensor x, boolean log) {
        Tensor in = dense(x);
        Tensor out = allocate(x.dtype(), x.shape());
        int len = rowLength(x), rows = x.numel() / Math.max(1, len);
        if (rows > 0 && len > 0) {
            ops.launch("softmax_" + suffix(x.dtype()), rowGrid(rows), 1, 1, rowThreads(len), 1, ptr(in), ptr(out), rows, len, log ? 1 : 0);
        }
        return out;
    }

    @Override
    public Tensor softmaxBackward(Tensor y, Tensor dy) {
        return softmaxBackwardRows(y, dy, false);
    }

    @Override
    public Tensor logSoftmaxBackward(Tensor y, Tensor dy) {
        return softmaxBackwardRows(y, dy, true);
    }

    private Tensor softmaxBackwardRows(Tensor y, Tensor dy, boolean log) {
        Tensor ys = dense(y), gs = dense(dy);
        Tensor out = allocate(y.dtype(), y.shape());
        int len = rowLength(y), rows = y.numel() / Math.max(1, len);
        if (rows > 0 && len > 0) {
            ops.launch("softmax_backward_" + suffix(y.dtype()), rowGrid(rows), 1, 1, rowThreads(len), 1,
                    ptr(ys), ptr(gs), ptr(out), rows, len, log ? 1 : 0);
        }
        return out;
    }

    @Override
    public LayerNormOut layerNorm(Tensor x, Tensor gamma, Tensor beta, double eps) {
        return layerNorm(x, gamma, beta, eps, null, null);
    }

    /** One kernel writes y and its BF16/F16 copy. */
    @Override
    public Copied<LayerNormOut> layerNorm(Tensor x, Tensor gamma, Tensor beta, double eps, DType copy) {
        if (x.dtype() != DType.F32 || !copy.isHalf()) return Backend.super.layerNorm(x, gamma, beta, eps, copy);
        Tensor half = allocate(copy, x.shape());
        return new Copied<>(layerNorm(x, gamma, beta, eps, copy, half), half);
    }

    /** LayerNorm, also writing y as {@code copy} into {@code half} when not null. */
    private LayerNormOut layerNorm(Tensor x, Tensor gamma, Tensor beta, double eps, DType copy, Tensor half) {
        Tensor in = dense(x), g = dense(gamma), b = dense(beta);
        int len = x.size(-1), rows = x.numel() / Math.max(1, len);
        int[] statShape = Arrays.copyOf(x.shape(), x.dim() - 1);
        Tensor out = allocate(x.dtype(), x.shape()), mean = allocate(x.dtype(), statShape), rstd = allocate(x.dtype(), statShape);
        if (rows == 0) return new LayerNormOut(out, mean, rstd);
        Object e = x.dtype() == DType.F32 ? (Object) (float) eps : (Object) eps;
        if (half == null) {
            ops.launch("layernorm_" + suffix(x.dtype()), rowGrid((rows + 7) / 8), 1, 1, THREADS, 1,
                    ptr(in), ptr(g), ptr(b), ptr(out), ptr(mean), ptr(rstd), rows, len, e);
        } else {
            ops.launch("layernorm_f32_copy_" + suffix(copy), rowGrid((rows + 7) / 8), 1, 1, THREADS, 1,
                    ptr(in), ptr(g), ptr(b), ptr(out), ptr(mean), ptr(rstd), rows, len, e, ptr(half));
        }
        return new LayerNormOut(out, mean, rstd);
    }

    private static final int LN_CHUNK_ROWS = 256;

    @Override
    public LayerNormGrads layerNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor mean, Tensor rstd) {
        Tensor gs = dense(dy), xs = dense(x), gm = dense(gamma), mu = dense(mean), rs = dense(rstd);
        int len = x.size(-1), rows = x.numel() / Math.max(1, len);
        Tensor dx = allocate(x.dtype(), x.shape()), dgamma = allocate(x.dtype(), len), dbeta = allocate(x.dtype(), len);
        if (len == 0) return new LayerNormGrads(dx, dgamma, dbeta);
        String t = suffix(x.dtype());
        if (rows > 0) {
            ops.launch("layernorm_backward_" + t, rowGrid((rows + 7) / 8), 1, 1, THREADS, 1,
                    ptr(gs), ptr(xs), ptr(gm), ptr(mu), ptr(rs), ptr(dx), rows, len);
        }
        layerNormParamGrads(gs, xs, mu, rs, dgamma, dbeta);
        return new LayerNormGrads(dx, dgamma, dbeta);
    }

    /** dγ = Σ_rows dy ⊙ x̂ and dβ = Σ_rows dy, in fixed chunks added in a fixed order. */
    private void layerNormParamGrads(Tensor gs, Tensor xs, Tensor mu, Tensor rs, Tensor dgamma, Tensor dbeta) {
        int len = xs.size(-1), rows = xs.numel() / Math.max(1, len);
        String t = suffix(xs.dtype());
        int chunks = Math.max(1, (rows + LN_CHUNK_ROWS - 1) / LN_CHUNK_ROWS);
        long partialBytes = (long) chunks * len * 8;
        CachingAllocator.Block<CUdeviceptr> pg = scratch(partialBytes, "LayerNorm dgamma partial sums");
        CachingAllocator.Block<CUdeviceptr> pb = scratch(partialBytes, "LayerNorm dbeta partial sums");
        try {
            ops.launch("layernorm_param_grads_partial_" + t, (len + 31) / 32, chunks, 1, 32, 8,
                    ptr(gs), ptr(xs), ptr(mu), ptr(rs), pg.handle(), pb.handle(), rows, len, LN_CHUNK_ROWS);
            ops.launch("layernorm_param_grads_final_" + t, (len + THREADS - 1) / THREADS, 1, 1, THREADS, 1,
                    pg.handle(), pb.handle(), ptr(dgamma), ptr(dbeta), chunks, len);
        } finally {
            allocator.release(pg);
            allocator.release(pb);
        }
    }

    /** One kernel over the rows for float32; the mask is drawn again in the backward instead of kept. */
    @Override
    public ResidualNormOut dropoutAddLayerNorm(Tensor x, Tensor residual, Tensor gamma, Tensor beta, double eps, double p,
                                               long seed, long offset) {
        if (x.dtype() != DType.F32) return Backend.super.dropoutAddLayerNorm(x, residual, gamma, beta, eps, p, seed, offset);
        Tensor in = dense(x), res = dense(residual), g = dense(gamma), b = dense(beta);
        int len = x.size(-1), rows = x.numel() / Math.max(1, len);
        int[] statShape = Arrays.copyOf(x.shape(), x.dim() - 1);
        Tensor y = allocate(DType.F32, x.shape()), sum = allocate(DType.F32, x.shape());
        Tensor mean = allocate(DType.F32, statShape), rstd = allocate(DType.F32, statShape);
        if (rows > 0 && len > 0) {
            ops.launch("dropout_add_layernorm_f32", rowGrid((rows + 7) / 8), 1, 1, THREADS, 1, ptr(in), ptr(res), ptr(g), ptr(b),
                    ptr(sum), ptr(y), ptr(mean), ptr(rstd), rows, len, (float) eps, (float) p, (float) (1 / (1 - p)), seed,
                    ptr(graphs.philoxStart()), philoxOffset(offset));
        }
        return new ResidualNormOut(y, sum, mean, rstd, null);
    }

    @Override
    public ResidualNormGrads dropoutAddLayerNormBackward(Tensor dy, ResidualNormOut forward, Tensor gamma, double p, long seed,
                                                         long offset) {
        if (dy.dtype() != DType.F32) return Backend.super.dropoutAddLayerNormBackward(dy, forward, gamma, p, seed, offset);
        Tensor gs = dense(dy), ss = dense(forward.sum()), gm = dense(gamma), mu = dense(forward.mean()), rs = dense(forward.rstd());
        int len = dy.size(-1), rows = dy.numel() / Math.max(1, len);
        Tensor dres = allocate(DType.F32, dy.shape()), dx = p > 0 ? allocate(DType.F32, dy.shape()) : dres;
        Tensor dgamma = allocate(DType.F32, len), dbeta = allocate(DType.F32, len);
        if (len == 0) return new ResidualNormGrads(dx, dres, dgamma, dbeta);
        if (rows > 0) {
            ops.launch("dropout_add_layernorm_backward_f32", rowGrid((rows + 7) / 8), 1, 1, THREADS, 1, ptr(gs), ptr(ss), ptr(gm),
                    ptr(mu), ptr(rs), ptr(dres), ptr(dx), rows, len, (float) p, (float) (1 / (1 - p)), seed,
                    ptr(graphs.philoxStart()), philoxOffset(offset));
        }
        layerNormParamGrads(gs, ss, mu, rs, dgamma, dbeta);
        return new ResidualNormGrads(dx, dres, dgamma, dbeta);
    }

    @Override
    public Tensor crossEntropy(Tensor logits, Tensor labels, int ignoreIndex) {
        Tensor lg = dense(logits), lb = dense(labels);
        int classes = logits.size(-1), rows = lb.numel();
        graphs.onHost(side -> checkLabels(side.ints(lb), classes, ignoreIndex));
        Tensor out = allocate(logits.dtype(), new int[0]);
        Tensor rowLoss = allocate(logits.dtype(), Math.max(1, rows));
        String t = suffix(logits.dtype());
        if (rows > 0) {
            ops.launch("cross_entropy_rows_" + t, rowGrid(rows), 1, 1, rowThreads(classes), 1,
                    ptr(lg), ptr(lb), ptr(rowLoss), rows, classes, ignoreIndex);
        }
        ops.launch("mean_of_rows_" + t, 1, 1, 1, THREADS, 1, ptr(rowLoss), ptr(lb), ptr(out), rows, ignoreIndex);
        return out;
    }

    @Override
    public Tensor crossEntropyBackward(Tensor logits, Tensor labels, int ignoreIndex, Tensor dLoss) {
        Tensor lg = dense(logits), lb = dense(labels), dl = dense(dLoss);
        int classes = logits.size(-1), rows = lb.numel();
        graphs.onHost(side -> checkLabels(side.ints(lb), classes, ignoreIndex));
        Tensor out = allocate(logits.dtype(), logits.shape());
        if (rows > 0 && classes > 0) {
            ops.launch("cross_entropy_backward_" + suffix(logits.dtype()), rowGrid(rows), 1, 1, rowThreads(classes), 1,
                    ptr(lg), ptr(lb), ptr(dl), ptr(out), rows, classes, ignoreIndex);
        }
        return out;
    }

    /** The CPU backend's label check (the kernels count the rows that count). */
    private static void checkLabels(int[] labels, int classes, int ignoreIndex) {
        for (int r = 0; r < labels.length; r++) {
            int l = labels[r];
            if (l != ignoreIndex && (l < 0 || l >= classes)) {
                throw new IllegalArgumentException("cross_entropy: label " + l + " at row " + r + " is outside [0, " + classes + ")");
            }
        }
    }

    // ---- indexing ---------------------------------------------------------------------------

    @Override
    public Tensor embedding(Tensor weight, Tensor ids) {
        Tensor w = dense(weight), id = dense(ids);
        int vocab = weight.size(0), h = weight.size(1), tokens = id.numel();
        graphs.onHost(side -> {
            int[] idx = side.ints(id);
            for (int t = 0; t < idx.length; t++) {
                if (idx[t] < 0 || idx[t] >= vocab) {
                    throw new IllegalArgumentException("embedding: id " + idx[t] + " at position " + t + " is outside [0, " + vocab + ")");
                }
            }
        });
        int[] outShape = Arrays.copyOf(ids.shape(), ids.dim() + 1);
        outShape[ids.dim()] = h;
        Tensor out = allocate(weight.dtype(), outShape);
        long n = out.numel();
        if (n > 0) {
            ops.launch(weight.dtype().bytes() == 4 ? "embedding_4" : "embedding_8", grid(n), 1, 1, THREADS, 1,
                    ptr(w), ptr(id), ptr(out), tokens, h);
        }
        return out;
    }

    /**
     * Positions sorted by (id, position) give segments of equal ids; one block sums each
     * segment's rows in position order, the order of the CPU's scatter-add. The host sorts (as host
     * work, so a replayed step sorts its own ids) into arrays sized for one segment per token, and
     * the kernel reads the count: the launch is the same for every batch of the shape.
     */
    @Override
    public Tensor embeddingBackward(Tensor ids, Tensor dy, int vocabSize) {
        Tensor id = dense(ids), g = dense(dy);
        int h = dy.size(-1), tokens = id.numel();
        Tensor out = zeros(dy.dtype(), vocabSize, h);
        if (tokens == 0 || h == 0) return out;
        Tensor dOrder = hostTarget(DType.I32, tokens), dIds = hostTarget(DType.I32, tokens), dStart = hostTarget(DType.I32, tokens + 1);
        Tensor dCount = hostTarget(DType.I32, 1);
        graphs.onHost(side -> {
            IdSegments seg = IdSegments.of(side.ints(id));
            side.upload(dOrder, seg.order());
            side.upload(dIds, seg.ids());
            side.upload(dStart, seg.start());
            side.upload(dCount, new int[] {seg.count()});
        });
        ops.launch("embedding_backward_" + suffix(dy.dtype()), rowGrid(tokens), (h + 31) / 32, 1, 32, 1,
                ptr(g), ptr(dIds), ptr(dStart), ptr(dOrder), ptr(out), ptr(dCount), h);
        return out;
    }

    // ---- in place ---------------------------------------------------------------------------

    private Tensor target(Tensor dst, Tensor src) {
        own(dst).uploaded = null;
        if (!dst.isContiguous() || !dst.sameShape(src) || dst.dtype() != src.dtype()) {
            throw new IllegalArgumentException("in-place op: destination " + dst + " must be contiguous and match " + src);
        }
        return dense(src);
    }

    @Override
    public void addInPlace(Tensor dst, Tensor src, double alpha) {
        Tensor s = target(dst, src);
        long n = dst.numel();
        if (n == 0) return;
        Object a = dst.dtype() == DType.F32 ? (Object) (float) alpha : (Object) alpha;
        ops.launch("add_inplace_" + suffix(dst.dtype()), grid(n), 1, 1, THREADS, 1, ptr(dst), ptr(s), a, n);
    }

    @Override
    public void scaleInPlace(Tensor t, double s) {
        target(t, t);
        long n = t.numel();
        if (n > 0) ops.launch("scale_inplace_" + suffix(t.dtype()), grid(n), 1, 1, THREADS, 1, ptr(t), s, n);
    }

    @Override
    public void copyInPlace(Tensor dst, Tensor src) {
        own(src);
        own(dst).uploaded = null;
        if (!dst.sameShape(src) || dst.dtype() != src.dtype()) {
            throw new IllegalArgumentException("copy: " + src + " does not match destination " + dst);
        }
        copyStrided(src, dst);
    }

    private static final long SQUARES_CHUNK = 1 << 14;

    /** Fixed chunks summed per block, then the partial sums in order: the same total on every run. */
    @Override
    public double sumOfSquares(Tensor t) {
        return sumOfSquares(List.of(t));
    }

    /**
     * Every tensor's chunk sums go into one buffer, one block adds them all in order, and one
     * number comes back: a gradient norm over 200 parameters waits for the GPU once, not 200
     * times. float32 tensors go 48 to a launch (sum_squares_list), others one each.
     */
    @Override
    public double sumOfSquares(List<Tensor> ts) {
        Tensor total = allocate(DType.F64);
        sumOfSquaresInto(ts, total);
        return ((double[]) toHost(total))[0];
    }

    /** Σ t² over all of {@code ts} into the F64 scalar {@code total}, on the device. */
    private void sumOfSquaresInto(List<Tensor> ts, Tensor total) {
        List<Tensor> dense = new ArrayList<>(ts.size());
        long blocks = 0;
        for (Tensor t : ts) {
            Tensor d = dense(t);
            dense.add(d);
            long chunk = d.dtype() == DType.F32 ? TensorList.CHUNK : SQUARES_CHUNK;
            blocks += (d.numel() + chunk - 1) / chunk;
        }
        if (blocks == 0) {
            ops.zero(ptr(total), 8);
            return;
        }
        if (blocks > Integer.MAX_VALUE) throw new IllegalArgumentException("sum of squares over " + blocks + " chunks");
        CachingAllocator.Block<CUdeviceptr> partial = scratch(blocks * 8, "sum of squares partials");
        try {
            int[] at = {0}; // the next free partial
            TensorList list = new TensorList(this::ptr, l -> {
                ops.launch("sum_squares_list_f32", l.blocks(), 1, 1, THREADS, 1, l.parameter(), partial.handle(), at[0]);
                at[0] += l.blocks();
            });
            for (Tensor d : dense) {
                long n = d.numel();
                if (n == 0) continue;
                if (d.dtype() == DType.F32) {
                    list.add(d);
                    continue;
                }
                int b = (int) ((n + SQUARES_CHUNK - 1) / SQUARES_CHUNK);
                ops.launch("sum_squares_partial_" + suffix(d.dtype()), b, 1, 1, THREADS, 1, ptr(d),
                        partial.handle().withByteOffset(at[0] * 8L), n, SQUARES_CHUNK);
                at[0] += b;
            }
            list.flush();
            ops.launch("sum_partials", 1, 1, 1, 1024, 1, partial.handle(), ptr(total), at[0]);
        } finally {
            allocator.release(partial);
        }
    }

    /** The loss, norm, clipping and skip of an update, all on the device (float32 gradients; others as the default). */
    @Override
    public Tensor updateGuard(List<Tensor> losses, List<Tensor> grads, double maxNorm) {
        if (!grads.stream().allMatch(t -> t.dtype() == DType.F32)) return Backend.super.updateGuard(losses, grads, maxNorm);
        Tensor loss = zeros(DType.F64), squares = allocate(DType.F64), guard = allocate(DType.F64, 4);
        for (Tensor l : losses) addInPlace(loss, cast(l, DType.F64), 1.0);
        sumOfSquaresInto(grads, squares);
        ops.launch("update_guard", 1, 1, 1, 32, 1, ptr(loss), ptr(squares), maxNorm, ptr(guard));
        if (maxNorm > 0) {
            CUdeviceptr coefficient = ptr(guard).withByteOffset(2 * 8);
            TensorList list = new TensorList(this::ptr, l -> ops.launch("scale_list_by_f32", l.blocks(), 1, 1, THREADS, 1, l.parameter(),
                    coefficient));
            for (Tensor g : grads) {
                if (g.numel() > 0) list.add(target(g, g));
            }
            list.flush();
        }
        return guard;
    }

    @Override
    public List<Tensor> scaled(List<Tensor> ts, double s) {
        if (!ts.stream().allMatch(t -> t.dtype() == DType.F32)) return Backend.super.scaled(ts, s);
        List<Tensor> out = new ArrayList<>(ts.size());
        TensorList list = new TensorList(this::ptr, l -> ops.launch("scale_list_f32", l.blocks(), 1, 1, THREADS, 1, l.parameter(), s));
        for (Tensor t : ts) {
            Tensor x = dense(t), y = allocate(DType.F32, t.shape());
            out.add(y);
            if (x.numel() > 0) list.add(x, y);
        }
        list.flush();
        return out;
    }

    @Override
    public void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep st) {
        Tensor g = target(param, grad);
        target(m, param);
        target(v, param);
        long n = param.numel();
        if (n == 0) return;
        // its learning rate is an argument, which a replay would repeat
        graphs.requireUncaptured("AdamW of a single parameter");
        double bc1 = 1 - Math.pow(st.beta1(), st.step()), bc2 = 1 - Math.pow(st.beta2(), st.step());
        if (param.dtype() == DType.F32) {
            float[] terms = adamWTerms(st, null);
            ops.launch("adamw_f32", grid(n), 1, 1, THREADS, 1, ptr(param), ptr(g), ptr(m), ptr(v), n,
                    terms[0], (float) st.beta1(), (float) st.beta2(), (float) st.eps(), terms[1], terms[2]);
        } else {
            ops.launch("adamw_f64", grid(n), 1, 1, THREADS, 1, ptr(param), ptr(g), ptr(m), ptr(v), n,
                    st.lr(), st.weightDecay(), st.beta1(), st.beta2(), st.eps(), bc1, bc2);
        }
    }

    /** float32 parameters 48 to a launch (adamw_list_f32), with the same arithmetic as adamw_f32. */
    @Override
    public void adamW(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, AdamWStep st) {
        if (!params.stream().allMatch(p -> p.dtype() == DType.F32)) {
            Backend.super.adamW(params, grads, m, v, st);
            return;
        }
        adamWList(params, grads, m, v, st, ptr(graphs.zeroWord()));
    }

    /** The same, skipped on the device when the guard's skip flag (its fourth number) is set. */
    @Override
    public void adamW(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, AdamWStep st, Tensor guard) {
        if (!params.stream().allMatch(p -> p.dtype() == DType.F32)) {
            Backend.super.adamW(params, grads, m, v, st, guard);
            return;
        }
        adamWList(params, grads, m, v, st, ptr(guard).withByteOffset(3 * 8));
    }

    /**
     * The learning-rate terms change every step, so the kernel reads them from device memory,
     * written by host work: a replayed step writes its own (from the step's values, which an
     * update inside {@link #runStep} must agree with).
     */
    private void adamWList(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, AdamWStep st, CUdeviceptr skip) {
        StepValues step = graphs.values();
        if (step != null && (step.lr() != st.lr() || step.optimizerStep() != st.step())) {
            throw new IllegalStateException("AdamW at lr " + st.lr() + ", step " + st.step() + " inside an update run for " + step);
        }
        Tensor hyper = hostTarget(DType.F32, 3);
        graphs.onHost(side -> side.upload(hyper, adamWTerms(st, side.values())));
        TensorList list = new TensorList(this::ptr, l -> ops.launch("adamw_list_f32", l.blocks(), 1, 1, THREADS, 1, l.parameter(),
                ptr(hyper), skip, (float) st.beta1(), (float) st.beta2(), (float) st.eps()));
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i), g = target(p, grads.get(i));
            target(m.get(i), p);
            target(v.get(i), p);
            if (p.numel() > 0) list.add(p, g, m.get(i), v.get(i));
        }
        list.flush();
    }

    /** adamw_list_f32's {decay, step size, √(1 − β2^t)} for {@code st}, or for the learning rate and step of {@code step} when given. */
    private static float[] adamWTerms(AdamWStep st, StepValues step) {
        double lr = step == null ? st.lr() : step.lr();
        long t = step == null ? st.step() : step.optimizerStep();
        double bc1 = 1 - Math.pow(st.beta1(), t), bc2 = 1 - Math.pow(st.beta2(), t);
        return new float[] {(float) (1 - lr * st.weightDecay()), (float) (lr / bc1), (float) Math.sqrt(bc2)};
    }

    /** Which GEMM path is active, in words (also part of {@link #describe()}). */
    public String gemmPath() {
        return gemm.describe();
    }
}
