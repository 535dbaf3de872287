package dev.bertft.cuda;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.MatrixLayout;
import dev.bertft.tensor.OpChecks;
import dev.bertft.tensor.Ops;
import dev.bertft.tensor.ReductionPlan;
import dev.bertft.tensor.Tensor;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdeviceptr;

import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;

/**
 * The CUDA backend: tensors live in GPU memory ({@link CudaMemory}), every op is one or a few of
 * our kernels (kernels/src/main/cuda) launched on one stream by the launcher of its family
 * ({@code LayerNormKernels} for layernorm.cu, and so on), and the host sees data only through
 * {@link #fromHost} / {@link #toHost} (pinned staging) and the few scalars an op must return
 * (sumOfSquares, the label checks of cross-entropy and embedding). {@link CudaDriver} opens the GPU.
 *
 * <p>Semantics are those of the CPU backend, which is the reference: same op definitions, same
 * Philox stream for dropout and normal(), deterministic reductions (fixed orders, no float
 * atomics). float32 matmuls use TF32 tensor cores, so they agree with the CPU to about 1e-3.
 *
 * <p>Requirements: an NVIDIA GPU of compute capability 8.0 or newer and driver
 * 525.60.13 or newer (CUDA 12.0). JCuda's classes load only when {@link #open} is called.
 */
public final class CudaBackend implements Backend {
    private static final ThreadLocal<CudaBackend> BOUND = new ThreadLocal<>();

    private final int ordinal;
    private final CUcontext context;
    private final DeviceInfo info;
    private final DeviceOps ops;
    private final CudaMemory memory;
    private final TensorCoreGemm ownGemm;
    private final GemmEngine gemm;
    private final ElementwiseKernels elementwise;
    private final RandomKernels random;
    private final ReduceKernels reduce;
    private final SoftmaxKernels softmax;
    private final LayerNormKernels layerNorm;
    private final AttentionKernels attention;
    private final EmbeddingKernels embedding;
    private final AdamWKernels adamW;
    /** float32 products on TF32 tensor cores (the default here), or in IEEE float32 as PyTorch's default computes them. */
    private volatile boolean tf32 = true;
    private StepGraphs graphs;

    /** Assembles a backend from its parts; {@code context} null means there is no driver to bind (tests). */
    CudaBackend(int ordinal, CUcontext context, DeviceInfo info, DeviceOps ops, DeviceMemory<CUdeviceptr> memory,
                TensorCoreGemm ownGemm, GemmEngine gemm) {
        this.ordinal = ordinal;
        this.context = context;
        this.info = info;
        this.ops = ops;
        // Dead activations may fill a quarter of the device before a collection recycles them.
        this.memory = new CudaMemory(this, memory, info.totalMemory() / 4);
        this.ownGemm = ownGemm;
        ownGemm.runOn(this.memory.allocator, info.multiprocessors());
        this.gemm = gemm;
        Launches launches = new Launches(ops, info.multiprocessors(), this::ptr);
        this.elementwise = new ElementwiseKernels(launches);
        this.random = new RandomKernels(launches);
        this.reduce = new ReduceKernels(launches, this.memory);
        this.softmax = new SoftmaxKernels(launches);
        this.layerNorm = new LayerNormKernels(launches, this.memory);
        this.attention = new AttentionKernels(launches);
        this.embedding = new EmbeddingKernels(launches);
        this.adamW = new AdamWKernels(launches);
        this.graphs = new StepGraphs(this, ops, this.memory.allocator, StepGraphs.capFromProperty());
    }

    /** Keeps at most {@code cap} captured update steps (0: none, every step eager), dropping none already kept. */
    void setStepGraphCap(int cap) {
        graphs = new StepGraphs(this, ops, memory.allocator, cap);
    }

    /** How the update steps ran so far: eagerly, captured, replayed. */
    StepGraphs.Counts stepCounts() {
        return graphs.counts();
    }

    /**
     * The host's time in the replays of captured steps so far, summed: copying the inputs into the
     * captured ones, the host work (ids sorted for the embeddings' backward, checked, the step's
     * scalars and constants uploaded) and of it the uploads (made together), and the graph's
     * launch. {@code bench} shows a step's share.
     */
    public record ReplayHostTime(long replays, double copyInMs, double hostWorkMs, double uploads, double uploadMs, double launchMs) {
        /** The replays since {@code before}, each part (and the upload count) as a mean a replay. */
        public ReplayHostTime perReplaySince(ReplayHostTime before) {
            long n = Math.max(1, replays - before.replays);
            return new ReplayHostTime(replays - before.replays, (copyInMs - before.copyInMs) / n, (hostWorkMs - before.hostWorkMs) / n,
                    (uploads - before.uploads) / n, (uploadMs - before.uploadMs) / n, (launchMs - before.launchMs) / n);
        }
    }

    public ReplayHostTime replayHostTime() {
        StepGraphs.Counts c = graphs.counts();
        return new ReplayHostTime(c.replays(), c.copyInNanos() / 1e6, c.hostWorkNanos() / 1e6, c.uploads(), c.uploadNanos() / 1e6,
                c.launchNanos() / 1e6);
    }

    /** See {@link StepGraphs}. */
    @Override
    public StepRun runStep(String key, List<Tensor> inputs, StepValues values, Function<List<Tensor>, Tensor> step) {
        bind();
        return graphs.run(key, inputs, values, step);
    }

    /**
     * Opens GPU {@code device}: driver, context, stream, kernel modules, GEMM path.
     *
     * @throws CudaUnavailableException saying why the GPU cannot be used
     */
    public static CudaBackend open(int device) {
        return CudaDriver.open(device);
    }

    /** The CUDA context is current per thread: make it current on whichever thread calls us. */
    void bind() {
        if (context != null && BOUND.get() != this) {
            cuCtxSetCurrent(context);
            BOUND.set(this);
        }
    }

    @Override
    public String name() {
        return "cuda:" + ordinal;
    }

    /** Lets float32 products round their operands to TF32 (true, the default) or keeps them IEEE float32 (false: slower). */
    public void useTf32(boolean on) {
        tf32 = on;
    }

    public boolean tf32() {
        return tf32;
    }

    /** For {@code doctor}: the GPU, the driver, memory, the GEMM path and why, the precisions, allocator stats. */
    public String describe() {
        return String.join("\n",
                "device:   " + name() + " " + info.name() + ", compute capability " + info.ccMajor() + "." + info.ccMinor() + ", "
                        + info.multiprocessors() + " SMs, " + String.format("%.1f GiB", info.totalMemory() / (double) (1L << 30)),
                "driver:   CUDA " + info.cudaVersion() / 1000 + "." + (info.cudaVersion() % 1000) / 10 + " (need driver "
                        + Kernels.MINIMUM_DRIVER + ")",
                "kernels:  " + ops.kernelImage(),
                "gemm:     " + gemm.describe() + (gemm == ownGemm ? "" : "; float64: own tiled kernel") + "; BF16/F16: own mma.sync m16n8k16 kernel",
                // opening refused compute capability below 8.0, which bf16 needs
                "precision: tf32 (a plain run), fp32 (IEEE: --tf32 false), bf16 (--bf16), fp16 (--fp16, with loss scaling)",
                "memory:   " + memory.allocator.stats());
    }

    public CachingAllocator.Stats memoryStats() {
        return memory.allocator.stats();
    }

    /** Waits for all queued work; a kernel fault surfaces here as an exception. */
    public void synchronize() {
        bind();
        ops.synchronize();
    }

    // ---- memory -----------------------------------------------------------------------------

    private Tensor allocate(DType dtype, int... shape) {
        bind();
        return memory.allocate(dtype, shape);
    }

    /** The GPU time of each of {@code calls} runs of {@code call}, in milliseconds ({@link DeviceOps#deviceMillis}): for benchmarks. */
    public float[] deviceMillis(int calls, Runnable call) {
        return ops.deviceMillis(calls, call);
    }

    /** A tensor no memory scope frees, only the collector: for what a captured step keeps. */
    Tensor allocateUnscoped(DType dtype, int... shape) {
        bind();
        return memory.allocateUnscoped(dtype, shape, false);
    }

    /**
     * A tensor that host work writes. Inside a capture the host work runs before each launch, ahead
     * of every kernel, so the tensor's block must serve no other tensor of the step, before or
     * after: it is one the capture has not used, and it lives as long as the graph.
     */
    private Tensor hostTarget(DType dtype, int... shape) {
        if (!graphs.capturing()) return allocate(dtype, shape);
        bind();
        Tensor t = memory.allocateUnscoped(dtype, shape, true);
        graphs.keep(t);
        return t;
    }

    /** Takes {@code t} out of its memory scope, as {@link #allocateUnscoped} would have made it. */
    void detach(Tensor t) {
        memory.detach(own(t));
    }

    @Override
    public Scope openScope() {
        return memory.openScope();
    }

    /** Checks the tensor is ours; every op passes here first, so it also makes our context current. */
    CudaStorage own(Tensor t) {
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
        DeviceOps.Upload u = uploadOf(dst, array);
        ops.upload(u.array(), u.dtype(), u.n(), u.dst());
    }

    /** {@link #upload}'s copy, to make with others by {@link #uploadAll}. */
    DeviceOps.Upload uploadOf(Tensor dst, Object array) {
        CudaStorage s = (CudaStorage) dst.storage();
        return new DeviceOps.Upload(array, dst.dtype(), java.lang.reflect.Array.getLength(array),
                s.pointer.withByteOffset((long) dst.offset() * s.dtype.bytes()));
    }

    /** Copies made together ({@link DeviceOps#uploadAll}). */
    void uploadAll(List<DeviceOps.Upload> copies) {
        ops.uploadAll(copies);
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

    /**
     * A copy into pinned host memory queued behind the work so far, which the supplier waits for by itself
     * ({@link DeviceOps#downloadLater}), from whichever thread asks.
     */
    @Override
    public Supplier<Object> toHostLater(Tensor t) {
        bind();
        Tensor d = dense(t);
        Supplier<Object> copy = ops.downloadLater(ptr(d), d.dtype(), d.numel());
        return () -> {
            bind();
            return copy.get();
        };
    }

    @Override
    public Tensor contiguous(Tensor t) {
        own(t);
        Tensor out = allocate(t.dtype(), t.shape());
        elementwise.copyStrided(t, out);
        return out;
    }

    /** BF16 and F16 convert to and from float32 only; other pairs go through it, as on the CPU. */
    @Override
    public Tensor cast(Tensor t, DType to) {
        Tensor src = dense(t);
        if (src.dtype() == to) return contiguous(src);
        if ((src.dtype().isHalf() || to.isHalf()) && src.dtype() != DType.F32 && to != DType.F32) return cast(cast(src, DType.F32), to);
        Tensor out = allocate(to, t.shape());
        elementwise.cast(src, out);
        return out;
    }

    /** The float32 ones of {@code ts} to BF16/F16 48 to a launch (cast_list_f32_*), each rounded as {@link #cast} rounds it; the others as {@link #cast}. */
    @Override
    public List<Tensor> castAll(List<Tensor> ts, DType to) {
        if (!to.isHalf()) return Backend.super.castAll(ts, to);
        List<Tensor> out = new ArrayList<>(ts.size());
        TensorList list = elementwise.castList(to);
        for (Tensor t : ts) {
            if (t.dtype() != DType.F32) {
                out.add(cast(t, to));
                continue;
            }
            Tensor x = dense(t), y = allocate(to, t.shape());
            out.add(y);
            if (x.numel() > 0) list.add(x, y);
        }
        list.flush();
        return out;
    }

    @Override
    public Tensor full(DType dtype, int[] shape, double value) {
        Tensor out = allocate(dtype, shape);
        elementwise.fill(out, value);
        return out;
    }

    // ---- pointwise --------------------------------------------------------------------------

    @Override
    public Tensor unary(Ops.Unary op, Tensor x) {
        Tensor in = dense(x);
        Tensor out = allocate(x.dtype(), x.shape());
        elementwise.unary(op, in, out);
        return out;
    }

    /**
     * One kernel writes GELU's result and its BF16/F16 copy; of a BF16/F16 x, GELU in float32
     * rounded to x's format, which is then both.
     */
    @Override
    public Copied<Tensor> gelu(Tensor x, DType copy) {
        if (x.dtype().isHalf() && copy == x.dtype()) {
            Tensor half = allocate(copy, x.shape());
            elementwise.geluHalf(dense(x), half);
            return new Copied<>(half, half);
        }
        if (x.dtype() != DType.F32 || !copy.isHalf()) return Backend.super.gelu(x, copy);
        Tensor in = dense(x), out = allocate(DType.F32, x.shape()), half = allocate(copy, x.shape());
        elementwise.geluCopy(in, out, half);
        return new Copied<>(out, half);
    }

    @Override
    public Tensor scalar(Ops.Scalar op, Tensor x, double s) {
        Tensor in = dense(x);
        Tensor out = allocate(x.dtype(), x.shape());
        elementwise.scalar(op, in, out, s);
        return out;
    }

    @Override
    public Tensor binary(Ops.Binary op, Tensor a, Tensor b) {
        own(a);
        own(b);
        int[] shape = Tensor.broadcastShape(op.name(), a.shape(), b.shape());
        Tensor out = allocate(a.dtype(), shape);
        elementwise.binary(op, a.expand(shape), b.expand(shape), out);
        return out;
    }

    /** One kernel writes a ⊙ b and its BF16/F16 copy. */
    @Override
    public Copied<Tensor> mul(Tensor a, Tensor b, DType copy) {
        if (a.dtype() != DType.F32 || b.dtype() != DType.F32 || !a.sameShape(b) || !copy.isHalf()) return Backend.super.mul(a, b, copy);
        Tensor out = allocate(DType.F32, a.shape()), half = allocate(copy, a.shape());
        elementwise.mulCopy(dense(a), dense(b), out, half);
        return new Copied<>(out, half);
    }

    @Override
    public Tensor geluBackward(Tensor x, Tensor dy) {
        Tensor xin = dense(x), g = dense(dy);
        Tensor out = allocate(x.dtype(), x.shape());
        elementwise.geluBackward(xin, g, out);
        return out;
    }

    /** One kernel reads the BF16/F16 x and float32 dy and writes dx in x's format. */
    @Override
    public Tensor geluBackward(Tensor x, Tensor dy, DType out) {
        if (!x.dtype().isHalf() || out != x.dtype() || dy.dtype() != DType.F32) return Backend.super.geluBackward(x, dy, out);
        Tensor dx = allocate(out, x.shape());
        elementwise.geluBackward(dense(x), dense(dy), dx);
        return dx;
    }

    @Override
    public Tensor biasGelu(Tensor x, Tensor bias) {
        Tensor in = dense(x), b = dense(bias);
        Tensor out = allocate(x.dtype(), x.shape());
        elementwise.biasGelu(in, b, out);
        return out;
    }

    @Override
    public Tensor biasGeluBackward(Tensor x, Tensor bias, Tensor dy) {
        Tensor in = dense(x), b = dense(bias), g = dense(dy);
        Tensor out = allocate(x.dtype(), x.shape());
        elementwise.biasGeluBackward(in, b, g, out);
        return out;
    }

    @Override
    public Tensor dropoutMask(DType dtype, int[] shape, double p, long seed, long offset) {
        Tensor out = allocate(dtype, shape);
        random.dropoutMask(out, p, seed, ptr(graphs.philoxStart()), philoxOffset(offset));
        return out;
    }

    @Override
    public Tensor attentionDropoutMask(DType dtype, int[] probsShape, double p, long seed, long offset) {
        Tensor out = allocate(dtype, probsShape);
        random.attentionDropoutMask(out, p, seed, ptr(graphs.philoxStart()), philoxOffset(offset));
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
        random.normal(out, mean, std, seed, offset);
        return out;
    }

    // ---- reductions -------------------------------------------------------------------------

    @Override
    public Tensor reduce(Ops.Reduce op, Tensor x, int[] axes, boolean keepDims) {
        own(x);
        ReductionPlan plan = ReductionPlan.of(x.shape(), axes, keepDims);
        int outer = plan.outer(), inner = plan.inner();
        Tensor out = allocate(x.dtype(), plan.outShape());
        if (outer == 0) return out;
        if (ReductionPlan.leadingAxes(axes) && x.isContiguous()) {
            // Leading axes of a contiguous tensor: column sums of a [inner, outer] matrix.
            reduce.columns(op, x, out, inner, outer);
        } else {
            reduce.rows(op, dense(x.permute(plan.perm())), out, outer, inner);
        }
        return out;
    }

    @Override
    public Tensor argmax(Tensor x, int axis) {
        int[] perm = ReductionPlan.axisLast(x.dim(), axis);
        Tensor rows = dense(x.permute(perm));
        int[] shape = new int[x.dim() - 1];
        for (int i = 0; i < shape.length; i++) shape[i] = x.size(perm[i]);
        Tensor out = allocate(DType.I32, shape);
        reduce.argmax(rows, out, x.size(axis));
        return out;
    }

    // ---- linear algebra ---------------------------------------------------------------------

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        return product(a, b, null, a.dtype(), TensorCoreGemm.Epilogue.PLAIN, null);
    }

    /** BF16/F16 operands on our half-precision kernel, C written as float32 or in their format. */
    @Override
    public Tensor matmul(Tensor a, Tensor b, DType out) {
        return product(a, b, null, out, TensorCoreGemm.Epilogue.PLAIN, null);
    }

    /**
     * onto + a·b with a [..., M, K] rows of tokens and b [K, N] shared (a Linear's input gradient
     * g·W, onto the gradient a residual collected): our kernels add onto's element as they write the
     * product (EPI_ADD), where the default's add read both back and wrote the sum. The same bits: the
     * same product and the same float32 addition. Float32 onto only; cuBLAS, IEEE float32 and
     * other layouts take the default.
     */
    @Override
    public Tensor matmulAdd(Tensor a, Tensor b, Tensor onto) {
        boolean ownKernel = a.dtype().isHalf() ? b.dtype() == a.dtype() : a.dtype() == DType.F32 && b.dtype() == DType.F32 && gemm == ownGemm && tf32;
        int[] shape = a.shape();
        if (a.dim() >= 2) shape[shape.length - 1] = b.dim() == 2 ? b.size(1) : -1;
        if (!ownKernel || onto.dtype() != DType.F32 || b.dim() != 2 || a.dim() < 2 || a.size(-1) == 0 || !Arrays.equals(shape, onto.shape())) {
            return Backend.super.matmulAdd(a, b, onto);
        }
        // one tall product: rows of tokens, as the kernel's epilogue takes a single product
        Tensor rows = a.reshape(-1, a.size(-1)), sum = product(rows, b, null, DType.F32, TensorCoreGemm.Epilogue.ADD, dense(onto).reshape(-1, b.size(1)));
        return sum.reshape(onto.shape());
    }

    /**
     * x·wᵀ + bias with the bias added by our GEMM kernel as it writes the product out, which
     * saves a pass over the output per Linear layer; cuBLAS and float64 take the plain way.
     */
    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        boolean ownKernel = x.dtype().isHalf() || (gemm == ownGemm && x.dtype() == DType.F32 && tf32);
        if (bias == null || !ownKernel || x.dim() < 2 || x.size(-1) == 0) {
            return Backend.super.linear(x, w, bias);
        }
        return product(x, w.transpose(0, 1), dense(bias), x.dtype(), TensorCoreGemm.Epilogue.PLAIN, null);
    }

    /**
     * A Linear layer and its GELU on our TF32 kernel, which writes GELU(x·wᵀ + bias) beside the
     * product (or over it, when the product is not kept) as it stores the product: no pass of its
     * own over the [tokens, I] activations. cuBLAS, IEEE float32 and other layouts compose the ops.
     */
    @Override
    public LinearGelu linearGelu(Tensor x, Tensor w, Tensor bias, boolean keepForBackward) {
        if (!ownFloat32Kernel(x, w, bias) || !x.isContiguous() || bias.numel() != w.size(0)) {
            return Backend.super.linearGelu(x, w, bias, keepForBackward);
        }
        int[] shape = x.shape();
        shape[shape.length - 1] = w.size(0);
        Tensor y = keepForBackward ? allocate(DType.F32, shape) : null; // null: GELU over the product
        Tensor product = product(x, w.transpose(0, 1), dense(bias), DType.F32, TensorCoreGemm.Epilogue.GELU, y);
        return keepForBackward ? new LinearGelu(y, GeluSaved.ofProduct(product, bias)) : new LinearGelu(product, null);
    }

    /**
     * Under autocast, the half GEMM's epilogue writes the pre-activation and its GELU as it stores
     * each tile: no pass of its own over the [tokens, I] product. Other layouts compose the ops.
     */
    @Override
    public HalfLinearGelu halfLinearGelu(Tensor x, Tensor w, Tensor bias, boolean keepPre) {
        if (!x.dtype().isHalf() || w.dtype() != x.dtype() || bias.dtype() != x.dtype() || !x.isContiguous() || !w.isContiguous() || w.dim() != 2
                || x.dim() < 2 || x.size(-1) == 0 || bias.numel() != w.size(0) || !halfRowsOf16Bytes(x, w.transpose(0, 1))) {
            return Backend.super.halfLinearGelu(x, w, bias, keepPre);
        }
        int[] shape = x.shape();
        shape[shape.length - 1] = w.size(0);
        Tensor y = keepPre ? allocate(x.dtype(), shape) : null; // null: GELU over the product
        Tensor product = product(x, w.transpose(0, 1), dense(bias), x.dtype(), TensorCoreGemm.Epilogue.GELU, y);
        return keepPre ? new HalfLinearGelu(y, product) : new HalfLinearGelu(product, null);
    }

    /**
     * dz·w with GELU's derivative at product + bias applied by our TF32 kernel as it stores each
     * tile: dz·w is never written out and read back. cuBLAS, IEEE float32 and other layouts compose the ops.
     */
    @Override
    public Tensor matmulGeluBackward(Tensor dz, Tensor w, GeluSaved saved) {
        if (saved.halfPre() != null) return halfMatmulGeluBackward(dz, w, saved);
        Tensor product = saved.product(), bias = saved.bias();
        if (product == null || !ownFloat32Kernel(dz, w, bias) || product.dtype() != DType.F32 || !dz.isContiguous() || w.dim() != 2
                || dz.size(-1) != w.size(0) || product.size(-1) != w.size(1) || bias.numel() != w.size(1)
                || product.numel() / w.size(1) != dz.numel() / w.size(0)) {
            return Backend.super.matmulGeluBackward(dz, w, saved);
        }
        return product(dz, w, dense(bias), DType.F32, TensorCoreGemm.Epilogue.GELU_GRAD, dense(product));
    }

    /**
     * Autocast's: dz·w of half dz and w summed in float32, times GELU' of the half pre-activation,
     * rounded once to the format by our half kernel as it stores each tile (EPI_GELU_GRAD): neither
     * the float32 dz·w nor a pass of GELU's backward over it. The bits of the product and then
     * gelu_backward_bf16/_f16.
     */
    private Tensor halfMatmulGeluBackward(Tensor dz, Tensor w, GeluSaved saved) {
        Tensor pre = saved.halfPre();
        if (!dz.dtype().isHalf() || dz.dtype() != w.dtype() || pre.dtype() != dz.dtype() || w.dim() != 2 || dz.dim() < 2
                || dz.size(-1) != w.size(0) || pre.size(-1) != w.size(1) || pre.numel() / w.size(1) != dz.numel() / w.size(0)
                || !dz.isContiguous() || !w.isContiguous() || !halfRowsOf16Bytes(dz, w)) {
            return Backend.super.matmulGeluBackward(dz, w, saved);
        }
        Tensor rows = dz.reshape(-1, dz.size(-1));
        return product(rows, w, null, pre.dtype(), TensorCoreGemm.Epilogue.GELU_GRAD, dense(pre).reshape(-1, w.size(1))).reshape(pre.shape());
    }

    /**
     * Whether every row of the half operands of a·b (b 2-D) starts on 16 bytes, so that the half
     * kernels take their 16-byte-copy path, which alone has the GELU epilogues: gemm_pipeline.cuh's
     * rows_of_16_bytes for the tall product a's rows make, allocations being on 256 bytes. For
     * layouts MatrixLayout takes as they are (else it would copy an operand only to look at it).
     */
    private static boolean halfRowsOf16Bytes(Tensor a, Tensor b) {
        MatrixLayout la = MatrixLayout.of(a.reshape(-1, a.size(-1))), lb = MatrixLayout.of(b);
        int m = a.numel() / a.size(-1), n = b.size(1), k = a.size(-1), v = 16 / a.dtype().bytes();
        boolean rowsOfA = la.t().offset() % v == 0 && la.ld() % v == 0 && (la.transposed() ? m : k) % v == 0;
        boolean rowsOfB = lb.t().offset() % v == 0 && lb.ld() % v == 0 && (lb.transposed() ? k : n) % v == 0;
        return rowsOfA && rowsOfB;
    }

    /** Whether our TF32 kernel runs a float32 product of x and w with this bias (not cuBLAS, nor IEEE float32). */
    private boolean ownFloat32Kernel(Tensor x, Tensor w, Tensor bias) {
        return gemm == ownGemm && tf32 && x.dtype() == DType.F32 && w.dtype() == DType.F32 && bias.dtype() == DType.F32 && x.dim() >= 2
                && x.size(-1) > 0;
    }

    /**
     * dW = dYᵀ·x on our TF32 or BF16/F16 kernel, which adds up dY's columns (db) in float32 from
     * the tiles it reads for the product: no reduction of its own over dY. Beside a float32 dW
     * (autocast's) a half dY's db stays that float32 sum, else it is rounded once to dY's format. cuBLAS and float64 take the plain way, as do layouts other than rows of dY and
     * x (the kernel sums only transposed A).
     */
    @Override
    public LinearGrads linearGrads(Tensor dy, Tensor x, DType out) {
        boolean half = dy.dtype().isHalf() && x.dtype() == dy.dtype() && (out == DType.F32 || out == dy.dtype());
        boolean ownKernel = half || (gemm == ownGemm && tf32 && dy.dtype() == DType.F32 && out == DType.F32);
        if (!ownKernel || dy.dim() != 2 || x.dim() != 2 || dy.size(0) != x.size(0) || dy.numel() == 0 || x.numel() == 0) {
            return Backend.super.linearGrads(dy, x, out);
        }
        own(dy);
        own(x);
        MatrixLayout la = MatrixLayout.of(dy.transpose(0, 1)), lb = MatrixLayout.of(x);
        if (!la.transposed() || lb.transposed()) return Backend.super.linearGrads(dy, x, out);
        int t = dy.size(0), n = dy.size(1), k = x.size(1);
        Tensor dw = allocate(out, n, k), db = allocate(DType.F32, n);
        if (half) ownGemm.halfWeightAndBiasGrads(dy.dtype(), out, n, k, t, ptr(la.t()), la.ld(), ptr(lb.t()), lb.ld(), ptr(dw), ptr(db));
        else ownGemm.weightAndBiasGrads(n, k, t, ptr(la.t()), la.ld(), ptr(lb.t()), lb.ld(), ptr(dw), ptr(db));
        Reference.reachabilityFence(la);
        Reference.reachabilityFence(lb);
        return new LinearGrads(dw, half && out == DType.F32 ? db : db.cast(dy.dtype()));
    }

    /** Half operands written as float32 with a float32 bias, added by our kernel as it writes the product. */
    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias, DType out) {
        if (out == x.dtype() || bias == null || x.dim() < 2 || x.size(-1) == 0) return Backend.super.linear(x, w, bias, out);
        return product(x, w.transpose(0, 1), dense(bias), out, TensorCoreGemm.Epilogue.PLAIN, null);
    }

    /**
     * a·b written as {@code outType}, plus {@code bias} (of that type, our kernels only) on every
     * row when not null, or through another epilogue of our TF32 kernel with the bias and
     * {@code aux} (a contiguous tensor shaped as the result, or null for the result itself). Half
     * operands always take our kernel: cuBLAS is bound for float32 only.
     */
    private Tensor product(Tensor a, Tensor b, Tensor bias, DType outType, TensorCoreGemm.Epilogue epilogue, Tensor aux) {
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
                    ptr(lb.t()), lb.ld(), bStride, ptr(out), n, (long) m * n, bias == null ? TensorCoreGemm.NO_BIAS : ptr(bias), epilogue,
                    epilogue == TensorCoreGemm.Epilogue.PLAIN ? TensorCoreGemm.NO_BIAS : ptr(aux == null ? out : aux));
        } else if (a.dtype() == DType.F32 && !tf32) {
            ownGemm.sgemmIeee(la.transposed(), lb.transposed(), m, n, k, batch, ptr(la.t()), la.ld(), la.batchStride(),
                    ptr(lb.t()), lb.ld(), bStride, ptr(out), n, (long) m * n);
        } else if (bias != null || epilogue != TensorCoreGemm.Epilogue.PLAIN) {
            ownGemm.sgemm(la.transposed(), lb.transposed(), m, n, k, batch, ptr(la.t()), la.ld(), la.batchStride(),
                    ptr(lb.t()), lb.ld(), bStride, ptr(out), n, (long) m * n, bias == null ? TensorCoreGemm.NO_BIAS : ptr(bias), epilogue,
                    epilogue == TensorCoreGemm.Epilogue.PLAIN ? TensorCoreGemm.NO_BIAS : ptr(aux == null ? out : aux));
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
        Reference.reachabilityFence(aux);
        return out;
    }

    // ---- attention --------------------------------------------------------------------------

    @Override
    public AttentionOut attention(Tensor q, Tensor k, Tensor v, Tensor mask, double scale, double dropoutP, long seed, long offset) {
        return attention(q, k, v, mask, scale, dropoutP, seed, offset, DType.F32);
    }

    /** BF16/F16 heads' output in their own format, written so by the kernel where it applies. */
    @Override
    public AttentionOut attentionHalfOut(Tensor q, Tensor k, Tensor v, Tensor mask, double scale, double dropoutP, long seed, long offset) {
        return attention(q, k, v, mask, scale, dropoutP, seed, offset, q.dtype().isHalf() ? q.dtype() : DType.F32);
    }

    private AttentionOut attention(Tensor q, Tensor k, Tensor v, Tensor mask, double scale, double dropoutP, long seed, long offset, DType written) {
        if (!AttentionKernels.fits(q, tf32)) return Backend.super.attention(q, k, v, mask, scale, dropoutP, seed, offset);
        int b = q.size(0), nh = q.size(1), tq = q.size(2), hs = q.size(3), t = k.size(2);
        Tensor out = headsOfTokens(written, b, nh, tq, hs), lse = allocate(DType.F32, b, nh, tq);
        if (tq == 0 || b * nh == 0) return new AttentionOut(out, lse);
        // the dropout mask as bits, drawn once for the forward and kept for the backward
        Tensor bits = null;
        if (dropoutP > 0) {
            bits = allocate(DType.I32, b * nh * tq * ((t + 31) / 32));
            random.attentionKeepBits(bits, (long) b * nh * tq, tq, t, dropoutP, seed, ptr(graphs.philoxStart()), philoxOffset(offset));
        }
        attention.forward(rowsOfHeads(q), rowsOfHeads(k), rowsOfHeads(v), dense(mask), out, lse, scale, dropoutP, bits);
        return new AttentionOut(out, lse, bits);
    }

    /**
     * A new [B, NH, T, HS] tensor laid out as [B, T, NH, HS], so that the model's transpose back
     * to [B, T, H] is a view rather than a copy.
     */
    private Tensor headsOfTokens(DType dtype, int b, int nh, int t, int hs) {
        return allocate(dtype, b, t, nh, hs).permute(0, 2, 1, 3);
    }

    /** {@code x} itself where its feature axis is unit-stride (the kernels take any other strides), else a dense copy. */
    private Tensor rowsOfHeads(Tensor x) {
        own(x);
        return x.stride(3) == 1 ? x : contiguous(x);
    }

    @Override
    public AttentionGrads attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor mask, AttentionOut forward,
                                            double scale, double dropoutP, long seed, long offset) {
        return attentionBackward(dOut, q, k, v, mask, forward, scale, dropoutP, seed, offset, DType.F32);
    }

    /** BF16/F16 heads' dq, dk and dv in their own format, written so by the kernels where they apply. */
    @Override
    public AttentionGrads attentionHalfBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor mask, AttentionOut forward,
                                                double scale, double dropoutP, long seed, long offset) {
        return attentionBackward(dOut, q, k, v, mask, forward, scale, dropoutP, seed, offset, q.dtype().isHalf() ? q.dtype() : DType.F32);
    }

    private AttentionGrads attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor mask, AttentionOut forward,
                                             double scale, double dropoutP, long seed, long offset, DType written) {
        if (!fusedBackward(q, forward, dropoutP)) return Backend.super.attentionBackward(dOut, q, k, v, mask, forward, scale, dropoutP, seed, offset);
        int b = q.size(0), nh = q.size(1), tq = q.size(2), hs = q.size(3), t = k.size(2);
        Tensor dq = headsOfTokens(written, b, nh, tq, hs);
        // no query row: dk and dv are sums over none
        if (tq == 0 || b * nh == 0) return new AttentionGrads(dq, zeros(written, b, nh, t, hs), zeros(written, b, nh, t, hs));
        Tensor dk = headsOfTokens(written, b, nh, t, hs), dv = headsOfTokens(written, b, nh, t, hs);
        attentionBackward(dOut, q, k, v, mask, forward, scale, dropoutP, dq, dk, dv);
        return new AttentionGrads(dq, dk, dv);
    }

    /**
     * The kernels write dq, dk and dv where the fused Q/K/V product's gradient [B, T, 3, NH, HS] has
     * them (their strides are kernel arguments), instead of into three tensors that the default's
     * concatenation then copies: three reads and writes of [B, T, H] a layer fewer.
     */
    @Override
    public Tensor packedAttentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor mask, AttentionOut forward,
                                          double scale, double dropoutP, long seed, long offset, boolean half) {
        if (!fusedBackward(q, forward, dropoutP)) {
            return Backend.super.packedAttentionBackward(dOut, q, k, v, mask, forward, scale, dropoutP, seed, offset, half);
        }
        DType written = half && q.dtype().isHalf() ? q.dtype() : DType.F32;
        int b = q.size(0), nh = q.size(1), tq = q.size(2), hs = q.size(3), t = k.size(2);
        // with fewer query rows than keys the query gradient is zero past them; with none, all is
        Tensor packed = tq < t ? zeros(written, b, t, 3, nh, hs) : allocate(written, b, t, 3, nh, hs);
        if (tq > 0 && b * nh > 0) {
            Tensor heads = packed.permute(2, 0, 3, 1, 4);   // [3, B, NH, T, HS]
            attentionBackward(dOut, q, k, v, mask, forward, scale, dropoutP, heads.select(0, 0).narrow(2, 0, tq),
                    heads.select(0, 1), heads.select(0, 2));
        }
        return packed.reshape(b, t, 3 * nh * hs);
    }

    /**
     * Whether the fused kernels take the backward: they read the dropout mask from the bits the
     * forward kept, which a forward that did not run here (a caller's own AttentionOut) lacks.
     */
    private boolean fusedBackward(Tensor q, AttentionOut forward, double dropoutP) {
        return AttentionKernels.fits(q, tf32) && (dropoutP == 0 || forward.dropoutBits() != null);
    }

    /** The backward kernels, their gradients written into dq, dk and dv ([B, NH, T, HS] views, HS contiguous; dk and dv of the same strides). */
    private void attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor mask, AttentionOut forward, double scale,
                                   double dropoutP, Tensor dq, Tensor dk, Tensor dv) {
        int b = q.size(0), nh = q.size(1), tq = q.size(2);
        // under autocast dO is rounded to the inputs' format, the operand of dO·Vᵀ and Pᵀ·dO
        Tensor g = rowsOfHeads(dOut.dtype() == q.dtype() ? dOut : dOut.cast(q.dtype())), qs = rowsOfHeads(q), ks = rowsOfHeads(k), vs = rowsOfHeads(v), out = rowsOfHeads(forward.out());
        Tensor md = dense(mask), lse = dense(forward.logSumExp());
        Tensor dd = allocate(DType.F32, b, nh, tq);
        attention.backward(g, qs, ks, vs, md, out, lse, dd, dq, dk, dv, scale, dropoutP, dropoutP > 0 ? dense(forward.dropoutBits()) : null);
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
        softmax.softmax(in, out, rows, len, log);
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
        softmax.softmaxBackward(ys, gs, out, rows, len, log);
        return out;
    }

    @Override
    public LayerNormOut layerNorm(Tensor x, Tensor gamma, Tensor beta, double eps) {
        return layerNormWithCopy(x, gamma, beta, eps, null);
    }

    /** One kernel writes y and its BF16/F16 copy. */
    @Override
    public Copied<LayerNormOut> layerNorm(Tensor x, Tensor gamma, Tensor beta, double eps, DType copy) {
        if (x.dtype() != DType.F32 || !copy.isHalf()) return Backend.super.layerNorm(x, gamma, beta, eps, copy);
        Tensor half = allocate(copy, x.shape());
        return new Copied<>(layerNormWithCopy(x, gamma, beta, eps, half), half);
    }

    /** LayerNorm, also writing y into {@code half} (BF16 or F16) when not null. */
    private LayerNormOut layerNormWithCopy(Tensor x, Tensor gamma, Tensor beta, double eps, Tensor half) {
        Tensor in = dense(x), g = dense(gamma), b = dense(beta);
        int len = x.size(-1), rows = x.numel() / Math.max(1, len);
        int[] statShape = Arrays.copyOf(x.shape(), x.dim() - 1);
        Tensor out = allocate(x.dtype(), x.shape()), mean = allocate(x.dtype(), statShape), rstd = allocate(x.dtype(), statShape);
        if (rows == 0) return new LayerNormOut(out, mean, rstd);
        layerNorm.forward(in, g, b, out, mean, rstd, rows, len, eps, half);
        return new LayerNormOut(out, mean, rstd);
    }

    @Override
    public LayerNormGrads layerNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor mean, Tensor rstd) {
        Tensor gs = dense(dy), xs = dense(x), gm = dense(gamma), mu = dense(mean), rs = dense(rstd);
        int len = x.size(-1), rows = x.numel() / Math.max(1, len);
        Tensor dx = allocate(x.dtype(), x.shape()), dgamma = allocate(x.dtype(), len), dbeta = allocate(x.dtype(), len);
        if (len == 0) return new LayerNormGrads(dx, dgamma, dbeta);
        layerNorm.backward(gs, xs, gm, mu, rs, dx, rows, len);
        layerNorm.paramGrads(gs, xs, mu, rs, dgamma, dbeta);
        return new LayerNormGrads(dx, dgamma, dbeta);
    }

    /** One kernel over the rows for float32; the mask is drawn again in the backward instead of kept. */
    @Override
    public ResidualNormOut dropoutAddLayerNorm(Tensor x, Tensor residual, Tensor gamma, Tensor beta, double eps, double p,
                                               long seed, long offset) {
        if (x.dtype() != DType.F32) return Backend.super.dropoutAddLayerNorm(x, residual, gamma, beta, eps, p, seed, offset);
        return dropoutAddLayerNormWithCopy(x, residual, gamma, beta, eps, p, seed, offset, null);
    }

    /** The same kernel writes y's BF16/F16 copy too, reading x in float32 or in that format. */
    @Override
    public Copied<ResidualNormOut> dropoutAddLayerNorm(Tensor x, Tensor residual, Tensor gamma, Tensor beta, double eps, double p,
                                                       long seed, long offset, DType copy) {
        if (!copy.isHalf() || residual.dtype() != DType.F32 || (x.dtype() != DType.F32 && x.dtype() != copy)) {
            return Backend.super.dropoutAddLayerNorm(x, residual, gamma, beta, eps, p, seed, offset, copy);
        }
        Tensor half = allocate(copy, x.shape());
        return new Copied<>(dropoutAddLayerNormWithCopy(x, residual, gamma, beta, eps, p, seed, offset, half), half);
    }

    /** dropout + residual + LayerNorm in one pass, also writing y into {@code half} (BF16 or F16) when not null. */
    private ResidualNormOut dropoutAddLayerNormWithCopy(Tensor x, Tensor residual, Tensor gamma, Tensor beta, double eps, double p,
                                                       long seed, long offset, Tensor half) {
        Tensor in = dense(x), res = dense(residual), g = dense(gamma), b = dense(beta);
        int len = x.size(-1), rows = x.numel() / Math.max(1, len);
        int[] statShape = Arrays.copyOf(x.shape(), x.dim() - 1);
        Tensor y = allocate(DType.F32, x.shape()), sum = allocate(DType.F32, x.shape());
        Tensor mean = allocate(DType.F32, statShape), rstd = allocate(DType.F32, statShape);
        layerNorm.dropoutAdd(in, res, g, b, sum, y, mean, rstd, rows, len, eps, p, seed, ptr(graphs.philoxStart()), philoxOffset(offset),
                half);
        return new ResidualNormOut(y, sum, mean, rstd, null);
    }

    @Override
    public ResidualNormGrads dropoutAddLayerNormBackward(Tensor dy, ResidualNormOut forward, Tensor gamma, double p, long seed,
                                                         long offset) {
        if (dy.dtype() != DType.F32 || dy.size(-1) > LayerNormKernels.BACKWARD_MAX_LEN) {
            return Backend.super.dropoutAddLayerNormBackward(dy, forward, gamma, p, seed, offset);
        }
        return residualNormBackward(dy, forward, gamma, p, seed, offset, null);
    }

    /** One kernel writes x's gradient in BF16/F16 only, the dY operand of the Linear before the block. */
    @Override
    public ResidualNormGrads dropoutAddLayerNormBackward(Tensor dy, ResidualNormOut forward, Tensor gamma, double p, long seed,
                                                         long offset, DType dxFormat) {
        if (dy.dtype() != DType.F32 || !dxFormat.isHalf() || dy.size(-1) > LayerNormKernels.BACKWARD_MAX_LEN) {
            return Backend.super.dropoutAddLayerNormBackward(dy, forward, gamma, p, seed, offset, dxFormat);
        }
        return residualNormBackward(dy, forward, gamma, p, seed, offset, dxFormat);
    }

    /**
     * The float32 backward of dropout + residual + LayerNorm, with dx in {@code half} (null:
     * float32), dγ and dβ summed in the same pass; rows at most {@link LayerNormKernels#BACKWARD_MAX_LEN}.
     */
    private ResidualNormGrads residualNormBackward(Tensor dy, ResidualNormOut forward, Tensor gamma, double p, long seed, long offset,
                                                  DType half) {
        Tensor gs = dense(dy), ss = dense(forward.sum()), gm = dense(gamma), mu = dense(forward.mean()), rs = dense(forward.rstd());
        int len = dy.size(-1), rows = dy.numel() / Math.max(1, len);
        Tensor dres = allocate(DType.F32, dy.shape());
        Tensor dx = half != null ? allocate(half, dy.shape()) : p > 0 ? allocate(DType.F32, dy.shape()) : dres;
        Tensor dgamma = allocate(DType.F32, len), dbeta = allocate(DType.F32, len);
        if (len == 0) return new ResidualNormGrads(dx, dres, dgamma, dbeta);
        layerNorm.dropoutAddBackward(gs, ss, gm, mu, rs, dres, dx, dgamma, dbeta, rows, len, p, seed, ptr(graphs.philoxStart()),
                philoxOffset(offset));
        return new ResidualNormGrads(dx, dres, dgamma, dbeta);
    }

    @Override
    public Tensor crossEntropy(Tensor logits, Tensor labels, int ignoreIndex, double smoothing) {
        Tensor lg = dense(logits), lb = dense(labels);
        int classes = logits.size(-1), rows = lb.numel();
        // the check as host work (a replayed step checks its own labels); the kernels count the rows that count
        graphs.onHost(side -> OpChecks.countedLabels(side.ints(lb), classes, ignoreIndex));
        Tensor out = allocate(logits.dtype(), new int[0]);
        Tensor rowLoss = allocate(logits.dtype(), Math.max(1, rows));
        softmax.crossEntropy(lg, lb, rowLoss, out, rows, classes, ignoreIndex, smoothing);
        return out;
    }

    @Override
    public Tensor crossEntropyBackward(Tensor logits, Tensor labels, int ignoreIndex, double smoothing, Tensor dLoss) {
        Tensor lg = dense(logits), lb = dense(labels), dl = dense(dLoss);
        int classes = logits.size(-1), rows = lb.numel();
        graphs.onHost(side -> OpChecks.countedLabels(side.ints(lb), classes, ignoreIndex));
        Tensor out = allocate(logits.dtype(), logits.shape());
        softmax.crossEntropyBackward(lg, lb, dl, out, rows, classes, ignoreIndex, smoothing);
        return out;
    }

    // ---- indexing ---------------------------------------------------------------------------

    @Override
    public Tensor embedding(Tensor weight, Tensor ids) {
        Tensor w = dense(weight), id = dense(ids);
        int vocab = weight.size(0), h = weight.size(1), tokens = id.numel();
        graphs.onHost(side -> OpChecks.checkIds(side.ints(id), vocab));
        int[] outShape = Arrays.copyOf(ids.shape(), ids.dim() + 1);
        outShape[ids.dim()] = h;
        Tensor out = allocate(weight.dtype(), outShape);
        embedding.gather(w, id, out, tokens, h);
        return out;
    }

    /**
     * Positions sorted by (id, position) give segments of equal ids; the kernels sum each
     * segment's rows in position order, the order of the CPU's scatter-add, a warp a segment, or a
     * block for the long ones ({@link IdSegments#longOnes}). The host sorts (as host work, so a
     * replayed step sorts its own ids) into arrays sized for one segment per token, and the kernels
     * read the counts: the launches are the same for every batch of the shape.
     */
    @Override
    public Tensor embeddingBackward(Tensor ids, Tensor dy, int vocabSize) {
        Tensor id = dense(ids), g = dense(dy);
        int h = dy.size(-1), tokens = id.numel();
        Tensor out = zeros(dy.dtype(), vocabSize, h);
        if (tokens == 0 || h == 0) return out;
        Tensor dOrder = hostTarget(DType.I32, tokens), dIds = hostTarget(DType.I32, tokens), dStart = hostTarget(DType.I32, tokens + 1);
        Tensor dLong = hostTarget(DType.I32, IdSegments.mostLong(tokens)), dCounts = hostTarget(DType.I32, 2);
        graphs.onHost(side -> {
            IdSegments seg = IdSegments.of(side.ints(id));
            side.upload(dOrder, seg.order());
            side.upload(dIds, seg.ids());
            side.upload(dStart, seg.start());
            int[] longOnes = seg.longOnes();
            if (longOnes.length > 0) side.upload(dLong, longOnes);
            side.upload(dCounts, new int[] {seg.count(), longOnes.length});
        });
        embedding.scatterAdd(g, dIds, dStart, dOrder, dLong, out, dCounts, tokens, h);
        return out;
    }

    // ---- in place ---------------------------------------------------------------------------

    private Tensor target(Tensor dst, Tensor src) {
        own(dst).uploaded = null;
        OpChecks.checkInPlace(dst, src);
        return dense(src);
    }

    @Override
    public void addInPlace(Tensor dst, Tensor src, double alpha) {
        Tensor s = target(dst, src);
        elementwise.addInPlace(dst, s, alpha);
    }

    @Override
    public void scaleInPlace(Tensor t, double s) {
        target(t, t);
        elementwise.scaleInPlace(t, s);
    }

    @Override
    public void copyInPlace(Tensor dst, Tensor src) {
        own(src);
        own(dst).uploaded = null;
        OpChecks.checkCopy(dst, src);
        elementwise.copyStrided(src, dst);
    }

    /** Fixed chunks summed per block, then the partial sums in order: the same total on every run. */
    @Override
    public double sumOfSquares(Tensor t) {
        return sumOfSquares(List.of(t));
    }

    /** One number back from the GPU for all of {@code ts}: a gradient norm waits for it once. */
    @Override
    public double sumOfSquares(List<Tensor> ts) {
        Tensor total = allocate(DType.F64);
        sumOfSquaresInto(ts, total);
        return ((double[]) toHost(total))[0];
    }

    /** Σ t² over all of {@code ts} into the F64 scalar {@code total}, on the device. */
    private void sumOfSquaresInto(List<Tensor> ts, Tensor total) {
        List<Tensor> dense = new ArrayList<>(ts.size());
        for (Tensor t : ts) dense.add(dense(t));
        reduce.sumOfSquares(dense, ptr(total));
    }

    /**
     * The loss, norm, clipping coefficient and skip of an update, all on the device for float32
     * gradients (others as the default), which are left as they are, as the default leaves them:
     * {@link #adamW(List, List, List, List, AdamWStep, Tensor)} clips each as it reads it.
     */
    @Override
    public Tensor updateGuard(List<Tensor> losses, List<Tensor> grads, double maxNorm, Tensor halted) {
        if (!grads.stream().allMatch(t -> t.dtype() == DType.F32)) return Backend.super.updateGuard(losses, grads, maxNorm, halted);
        Tensor loss = zeros(DType.F64), squares = allocate(DType.F64), guard = allocate(DType.F64, 4);
        for (Tensor l : losses) addInPlace(loss, cast(l, DType.F64), 1.0);
        sumOfSquaresInto(grads, squares);
        reduce.updateGuard(loss, squares, maxNorm, halted, guard);
        return guard;
    }

    /** float32 tensors 48 to a launch, each written where it is read (scale_list_f32, as {@link #scaled} rounds). */
    @Override
    public void scaleInPlace(List<Tensor> ts, double s) {
        if (!ts.stream().allMatch(t -> t.dtype() == DType.F32)) {
            Backend.super.scaleInPlace(ts, s);
            return;
        }
        TensorList list = elementwise.scaleList(s);
        for (Tensor t : ts) {
            if (t.numel() == 0) continue;
            Tensor x = target(t, t);
            list.add(x, x);
        }
        list.flush();
    }

    @Override
    public List<Tensor> scaled(List<Tensor> ts, double s) {
        if (!ts.stream().allMatch(t -> t.dtype() == DType.F32)) return Backend.super.scaled(ts, s);
        List<Tensor> out = new ArrayList<>(ts.size());
        TensorList list = elementwise.scaleList(s);
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
        // its learning rate is an argument, which a replay would repeat
        if (param.numel() > 0) graphs.requireUncaptured("AdamW of a single parameter");
        adamW.step(param, g, m, v, st);
    }

    /** float32 parameters 48 to a launch (adamw_list_f32), with the same arithmetic as adamw_f32. */
    @Override
    public void adamW(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, AdamWStep st) {
        if (!params.stream().allMatch(p -> p.dtype() == DType.F32)) {
            Backend.super.adamW(params, grads, m, v, st);
            return;
        }
        adamWList(params, grads, m, v, st, Launches.NULL, ptr(graphs.zeroWord()));
    }

    /**
     * The same on the gradients times the guard's clipping coefficient (its third number, see
     * {@link #updateGuard}), in the update's kernel, skipped on the device when its skip flag (the fourth) is set.
     */
    @Override
    public void adamW(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, AdamWStep st, Tensor guard) {
        if (!params.stream().allMatch(p -> p.dtype() == DType.F32)) {
            Backend.super.adamW(params, grads, m, v, st, guard);
            return;
        }
        adamWList(params, grads, m, v, st, ptr(guard).withByteOffset(2 * 8), ptr(guard).withByteOffset(3 * 8));
    }

    /**
     * The learning-rate terms change every step, so the kernel reads them from device memory,
     * written by host work: a replayed step writes its own (from the step's values, which an
     * update inside {@link #runStep} must agree with).
     */
    private void adamWList(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, AdamWStep st, CUdeviceptr clip,
                           CUdeviceptr skip) {
        StepValues step = graphs.values();
        if (step != null && (step.lr() != st.lr() || step.optimizerStep() != st.step())) {
            throw new IllegalStateException("AdamW at lr " + st.lr() + ", step " + st.step() + " inside an update run for " + step);
        }
        Tensor hyper = hostTarget(DType.F32, 3);
        graphs.onHost(side -> side.upload(hyper, AdamWKernels.terms(st, side.values())));
        TensorList list = adamW.stepList(st, ptr(hyper), clip, skip);
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i), g = target(p, grads.get(i));
            target(m.get(i), p);
            target(v.get(i), p);
            if (p.numel() > 0) list.add(p, g, m.get(i), v.get(i));
        }
        list.flush();
    }

    /** Which GEMM path is active, in words (also part of {@link #describe()}). */
    public String gemmPath() {
        return gemm.describe();
    }
}
