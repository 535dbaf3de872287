package dev.bertft.tensor.cpu;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Float16;
import dev.bertft.tensor.MatrixLayout;
import dev.bertft.tensor.OpChecks;
import dev.bertft.tensor.Ops;
import dev.bertft.tensor.Philox;
import dev.bertft.tensor.ReductionPlan;
import dev.bertft.tensor.Simd;
import dev.bertft.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The CPU backend: Java arrays, a fixed thread pool, plain reference loops in double precision
 * for every op ({@link Buf}), and float kernels for the ops that dominate training time.
 * Work is split so that each output element is produced by exactly one thread in a fixed order,
 * which keeps results bit-identical from run to run.
 */
public final class CpuBackend implements Backend {
    /** Below this many elements an op runs on the calling thread. */
    private static final int GRAIN = 1 << 14;

    private final Parallel pool;
    private final CpuMemory memory = new CpuMemory(this);
    /** Counts {@link #linearGrads} calls that summed db inside the product; see {@link #biasSumsInProduct()}. */
    private long biasSumsInProduct;

    public CpuBackend(int threads) {
        Simd.warnIfSlow();
        this.pool = new Parallel(threads);
    }

    /** One thread per available core. */
    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public int threads() {
        return pool.threads();
    }

    Parallel pool() {
        return pool;
    }

    @Override
    public String name() {
        return "cpu";
    }

    // ---- memory -----------------------------------------------------------------------------

    /** A new tensor of zeros. */
    private Tensor allocate(DType dtype, int... shape) {
        return memory.allocate(dtype, shape, true);
    }

    /** A new tensor whose elements may hold anything: for an op that writes every one of them. */
    private Tensor uninitialised(DType dtype, int... shape) {
        return memory.allocate(dtype, shape, false);
    }

    @Override
    public Scope openScope() {
        return memory.openScope();
    }

    /** Bytes of free arrays held for the next tensors made in a memory scope. */
    long pooledBytes() {
        return memory.pooledBytes();
    }

    static Object array(Tensor t) {
        return ((CpuStorage) t.storage()).array();
    }

    static float[] f32(Tensor t) {
        return (float[]) array(t);
    }

    static Buf buf(Tensor t) {
        return Buf.of(array(t));
    }

    CpuStorage own(Tensor t) {
        if (!(t.storage() instanceof CpuStorage s) || s.backend != this) {
            throw new IllegalArgumentException("tensor on " + t.backend().name() + " passed to the cpu backend");
        }
        return s;
    }

    /** Contiguous and on this backend, with the storage starting at offset 0. */
    private Tensor dense(Tensor t) {
        own(t);
        return t.isContiguous() && t.offset() == 0 ? t : contiguous(t);
    }

    @Override
    public Tensor zeros(DType dtype, int... shape) {
        return allocate(dtype, shape);
    }

    @Override
    public Tensor fromHost(Object data, DType dtype, int... shape) {
        Tensor out = uninitialised(dtype, shape);
        System.arraycopy(data, 0, array(out), 0, out.numel());
        return out;
    }

    @Override
    public Object toHost(Tensor t) {
        Tensor d = dense(t);
        Object a = array(d);
        int n = d.numel();
        return switch (d.dtype()) {
            case F32 -> Arrays.copyOf((float[]) a, n);
            case F64 -> Arrays.copyOf((double[]) a, n);
            case I32 -> Arrays.copyOf((int[]) a, n);
            case BF16, F16 -> Arrays.copyOf((short[]) a, n);
        };
    }

    @Override
    public Tensor contiguous(Tensor t) {
        own(t);
        Tensor out = uninitialised(t.dtype(), t.shape());
        copyStrided(t, out);
        return out;
    }

    /** dst ← src for two views of the same shape and dtype; dst may be strided too. */
    private void copyStrided(Tensor src, Tensor dst) {
        int[] shape = src.shape(), ss = src.strides(), ds = dst.strides();
        int rows = Strided.rows(shape), len = Strided.rowLength(shape);
        int si = Strided.innerStride(ss), di = Strided.innerStride(ds);
        Object sa = array(src), da = array(dst);
        pool.forRange(rows, Math.max(1, GRAIN / Math.max(1, len)), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int sb = Strided.rowBase(r, shape, ss, src.offset()), db = Strided.rowBase(r, shape, ds, dst.offset());
                if (si == 1 && di == 1) {
                    System.arraycopy(sa, sb, da, db, len);
                } else if (sa instanceof float[] s && da instanceof float[] d) {
                    for (int j = 0; j < len; j++) d[db + j * di] = s[sb + j * si];
                } else if (sa instanceof double[] s && da instanceof double[] d) {
                    for (int j = 0; j < len; j++) d[db + j * di] = s[sb + j * si];
                } else if (sa instanceof short[] s && da instanceof short[] d) {
                    for (int j = 0; j < len; j++) d[db + j * di] = s[sb + j * si];
                } else {
                    int[] s = (int[]) sa, d = (int[]) da;
                    for (int j = 0; j < len; j++) d[db + j * di] = s[sb + j * si];
                }
            }
        });
    }

    /**
     * Half-precision values go through float32: widening is exact, and narrowing rounds once from
     * float32 (from float64 that is twice, as PyTorch's conversions do).
     */
    @Override
    public Tensor cast(Tensor t, DType to) {
        Tensor src = dense(t);
        if (src.dtype().isHalf()) {
            short[] h = (short[]) array(src);
            Tensor widened = uninitialised(DType.F32, t.shape());
            float[] f = f32(widened);
            for (int i = 0, n = src.numel(); i < n; i++) f[i] = src.dtype() == DType.BF16 ? Float16.bf16ToFloat(h[i]) : Float16.f16ToFloat(h[i]);
            return to == DType.F32 ? widened : cast(widened, to);
        }
        if (to.isHalf()) {
            float[] f = f32(cast(src, DType.F32));
            Tensor out = uninitialised(to, t.shape());
            short[] h = (short[]) array(out);
            for (int i = 0, n = out.numel(); i < n; i++) h[i] = to == DType.BF16 ? Float16.floatToBf16(f[i]) : Float16.floatToF16(f[i]);
            return out;
        }
        Tensor out = uninitialised(to, t.shape());
        int n = src.numel();
        Object s = array(src), d = array(out);
        if (d instanceof int[] di) {
            if (s instanceof int[] si) System.arraycopy(si, 0, di, 0, n);
            else {
                Buf b = Buf.of(s);
                for (int i = 0; i < n; i++) di[i] = (int) b.get(i);
            }
        } else {
            Buf o = Buf.of(d);
            if (s instanceof int[] si) for (int i = 0; i < n; i++) o.set(i, si[i]);
            else {
                Buf b = Buf.of(s);
                for (int i = 0; i < n; i++) o.set(i, b.get(i));
            }
        }
        return out;
    }

    @Override
    public Tensor full(DType dtype, int[] shape, double value) {
        if (dtype.isHalf()) return cast(full(DType.F32, shape, value), dtype);
        Tensor out = uninitialised(dtype, shape);
        Object a = array(out);
        int n = out.numel();   // a pooled array may be longer
        if (a instanceof float[] f) Arrays.fill(f, 0, n, (float) value);
        else if (a instanceof double[] d) Arrays.fill(d, 0, n, value);
        else Arrays.fill((int[]) a, 0, n, (int) value);
        return out;
    }

    // ---- pointwise --------------------------------------------------------------------------

    @Override
    public Tensor unary(Ops.Unary op, Tensor x) {
        Tensor in = dense(x);
        Tensor out = uninitialised(x.dtype(), x.shape());
        int n = x.numel();
        if (x.dtype() == DType.F32 && op == Ops.Unary.GELU) {
            float[] s = f32(in), d = f32(out);
            pool.forRange(n, GRAIN, (i0, i1) -> {
                if (Simd.AVAILABLE) SimdGelu.forward(s, i0, d, i0, i1 - i0);
                else for (int i = i0; i < i1; i++) d[i] = Special.geluFast(s[i]);
            });
            return out;
        }
        Buf s = buf(in), d = buf(out);
        pool.forRange(n, GRAIN, (i0, i1) -> {
            for (int i = i0; i < i1; i++) d.set(i, unary(op, s.get(i)));
        });
        return out;
    }

    private static double unary(Ops.Unary op, double v) {
        return switch (op) {
            case NEG -> -v;
            case EXP -> Math.exp(v);
            case LOG -> Math.log(v);
            case SQRT -> Math.sqrt(v);
            case TANH -> Math.tanh(v);
            case GELU -> Special.gelu(v);
            case ABS -> Math.abs(v);
        };
    }

    @Override
    public Tensor scalar(Ops.Scalar op, Tensor x, double c) {
        Tensor in = dense(x);
        Tensor out = uninitialised(x.dtype(), x.shape());
        Buf s = buf(in), d = buf(out);
        pool.forRange(x.numel(), GRAIN, (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                double v = s.get(i);
                d.set(i, switch (op) {
                    case ADD -> v + c;
                    case MUL -> v * c;
                    case RSUB -> c - v;
                    case RDIV -> c / v;
                    case POW -> Math.pow(v, c);
                });
            }
        });
        return out;
    }

    @Override
    public Tensor binary(Ops.Binary op, Tensor a, Tensor b) {
        own(a);
        own(b);
        int[] shape = Tensor.broadcastShape(op.name(), a.shape(), b.shape());
        Tensor out = uninitialised(a.dtype(), shape);
        Tensor ea = a.expand(shape), eb = b.expand(shape);
        int[] sa = ea.strides(), sb = eb.strides();
        int rows = Strided.rows(shape), len = Strided.rowLength(shape);
        int ia = Strided.innerStride(sa), ib = Strided.innerStride(sb);
        boolean f32 = a.dtype() == DType.F32;
        pool.forRange(rows, Math.max(1, GRAIN / Math.max(1, len)), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int ba = Strided.rowBase(r, shape, sa, ea.offset()), bb = Strided.rowBase(r, shape, sb, eb.offset());
                if (f32) binaryRow(op, f32(ea), ba, ia, f32(eb), bb, ib, f32(out), r * len, len);
                else binaryRow(op, buf(ea), ba, ia, buf(eb), bb, ib, buf(out), r * len, len);
            }
        });
        return out;
    }

    private static void binaryRow(Ops.Binary op, float[] x, int xb, int xs, float[] y, int yb, int ys, float[] z, int zb, int n) {
        if (xs == 1 && ys == 1 && op == Ops.Binary.ADD) {
            for (int j = 0; j < n; j++) z[zb + j] = x[xb + j] + y[yb + j]; // residuals and bias rows: unit strides vectorize
            return;
        }
        if (xs == 1 && ys == 1 && op == Ops.Binary.MUL) {
            for (int j = 0; j < n; j++) z[zb + j] = x[xb + j] * y[yb + j];
            return;
        }
        switch (op) {
            case ADD -> { for (int j = 0; j < n; j++) z[zb + j] = x[xb + j * xs] + y[yb + j * ys]; }
            case SUB -> { for (int j = 0; j < n; j++) z[zb + j] = x[xb + j * xs] - y[yb + j * ys]; }
            case MUL -> { for (int j = 0; j < n; j++) z[zb + j] = x[xb + j * xs] * y[yb + j * ys]; }
            case DIV -> { for (int j = 0; j < n; j++) z[zb + j] = x[xb + j * xs] / y[yb + j * ys]; }
            case MAX -> { for (int j = 0; j < n; j++) z[zb + j] = Math.max(x[xb + j * xs], y[yb + j * ys]); }
            case MIN -> { for (int j = 0; j < n; j++) z[zb + j] = Math.min(x[xb + j * xs], y[yb + j * ys]); }
            case EQ -> { for (int j = 0; j < n; j++) z[zb + j] = x[xb + j * xs] == y[yb + j * ys] ? 1f : 0f; }
        }
    }

    private static void binaryRow(Ops.Binary op, Buf x, int xb, int xs, Buf y, int yb, int ys, Buf z, int zb, int n) {
        for (int j = 0; j < n; j++) {
            double u = x.get(xb + j * xs), v = y.get(yb + j * ys);
            z.set(zb + j, switch (op) {
                case ADD -> u + v;
                case SUB -> u - v;
                case MUL -> u * v;
                case DIV -> u / v;
                case MAX -> Math.max(u, v);
                case MIN -> Math.min(u, v);
                case EQ -> u == v ? 1 : 0;
            });
        }
    }

    @Override
    public Tensor geluBackward(Tensor x, Tensor dy) {
        Tensor xin = dense(x), g = dense(dy);
        Tensor out = uninitialised(x.dtype(), x.shape());
        int n = x.numel();
        if (x.dtype() == DType.F32) {
            float[] xs = f32(xin), gs = f32(g), d = f32(out);
            pool.forRange(n, GRAIN, (i0, i1) -> {
                if (Simd.AVAILABLE) SimdGelu.backward(xs, i0, gs, i0, d, i0, i1 - i0);
                else for (int i = i0; i < i1; i++) d[i] = gs[i] * Special.geluGradFast(xs[i]);
            });
        } else {
            Buf xs = buf(xin), gs = buf(g), d = buf(out);
            pool.forRange(n, GRAIN, (i0, i1) -> {
                for (int i = i0; i < i1; i++) d.set(i, gs.get(i) * Special.geluGrad(xs.get(i)));
            });
        }
        return out;
    }

    /**
     * A row at a time, {@link Epilogue.BiasGelu}: the bias is added into the output row, and GELU
     * runs over it in place while it is still in cache; the same float operations as the two ops,
     * so the same bits.
     */
    @Override
    public Tensor biasGelu(Tensor x, Tensor bias) {
        if (x.dtype() != DType.F32) return Backend.super.biasGelu(x, bias);
        Tensor out = uninitialised(DType.F32, x.shape());
        int n = x.size(-1);
        overRows(dense(x), new Epilogue.BiasGelu(f32(dense(bias)), 0, f32(out), 0, n, false));
        return out;
    }

    /** dy · GELU'(x + bias) a row at a time, {@link Epilogue.BiasGeluGrad}. */
    @Override
    public Tensor biasGeluBackward(Tensor x, Tensor bias, Tensor dy) {
        if (x.dtype() != DType.F32) return Backend.super.biasGeluBackward(x, bias, dy);
        Tensor out = uninitialised(DType.F32, x.shape());
        int n = x.size(-1);
        overRows(dense(dy), new Epilogue.BiasGeluGrad(f32(dense(bias)), 0, f32(dense(x)), 0, n, f32(out), 0, n));
        return out;
    }

    /** A product's epilogue applied on its own to the rows of c (dense float32), in parallel. */
    private void overRows(Tensor c, Epilogue step) {
        int n = c.size(-1), rows = c.numel() / Math.max(1, n);
        float[] cs = f32(c);
        pool.forRange(rows, Math.max(1, GRAIN / Math.max(1, n)), (r0, r1) -> step.apply(cs, 0, n, r0, r1, 0, n));
    }

    @Override
    public Tensor dropoutMask(DType dtype, int[] shape, double p, long seed, long offset) {
        Tensor out = uninitialised(dtype, shape);
        drawDropout(out, out.numel(), out.numel(), p, seed, offset);
        return out;
    }

    @Override
    public Tensor attentionDropoutMask(DType dtype, int[] probsShape, double p, long seed, long offset) {
        Tensor out = uninitialised(dtype, probsShape);
        int tq = probsShape[2], t = probsShape[3];
        drawDropout(out, tq * t, (long) t * t, p, seed, offset);
        return out;
    }

    /**
     * Fills {@code out} with the dropout factors of the first {@code drawn} of every {@code period}
     * elements of the Philox stream (seed, offset): element e is stream element
     * (e / drawn)·period + e % drawn.
     */
    private void drawDropout(Tensor out, int drawn, long period, double p, long seed, long offset) {
        Buf d = buf(out);
        double scale = 1.0 / (1.0 - p);
        float fp = (float) p, fscale = (float) scale;
        int n = out.numel(), chunk = 4096, chunks = (n + chunk - 1) / chunk;
        pool.forRange(chunks, 4, (c0, c1) -> {
            int[] bits = new int[chunk];
            for (int c = c0; c < c1; c++) {
                int end = Math.min(n, (c + 1) * chunk);
                for (int from = c * chunk, len; from < end; from += len) {
                    int within = from % drawn;
                    len = Math.min(end - from, drawn - within);
                    dropoutDraws(seed, offset, from / drawn * period + within, bits, len);
                    if (d instanceof Buf.F32 f) {
                        for (int j = 0; j < len; j++) f.a[from + j] = Philox.kept(bits[j], fp) ? fscale : 0f;
                    } else {
                        for (int j = 0; j < len; j++) d.set(from + j, Philox.kept(bits[j], fp) ? scale : 0.0);
                    }
                }
            }
        });
    }

    /**
     * Which of dropout draws [first, first + n) keep their element, as bits from words[wb] on (draw
     * j at bit j mod 32 of words[wb + j / 32]): straight from the vector Philox where the range starts
     * a counter block (0.6 ns a draw against 0.9–1.1 for the draws then packing them), else the draws
     * into {@code draws}, then packed.
     */
    static void keptBits(long seed, long offset, long first, int n, int threshold, int[] words, int wb, int[] draws) {
        if (Simd.AVAILABLE && first % 8 == 0) {
            SimdPhilox.keptBits(seed, offset, first, n, threshold, words, wb);
            return;
        }
        dropoutDraws(seed, offset, first, draws, n);
        if (Simd.AVAILABLE) SimdResidualNorm.packKept(draws, n, threshold, words, wb);
        else RowKernels.packKept(draws, n, threshold, words, wb);
    }

    /** Dropout draws [first, first + n) of the Philox stream (seed, offset), vectorized when SIMD is on. */
    static void dropoutDraws(long seed, long offset, long first, int[] out, int n) {
        if (Simd.AVAILABLE) SimdPhilox.dropoutDraws(seed, offset, first, out, n);
        else Philox.dropoutDraws(seed, offset, first, out, n);
    }

    @Override
    public Tensor normal(DType dtype, int[] shape, double mean, double std, long seed, long offset) {
        Tensor out = uninitialised(dtype, shape);
        Buf d = buf(out);
        int blocks = (out.numel() + 3) / 4, n = out.numel();
        pool.forRange(blocks, GRAIN / 4, (b0, b1) -> {
            int[] bits = new int[4];
            for (int blk = b0; blk < b1; blk++) {
                Philox.block(seed, offset, blk, bits);
                for (int pair = 0; pair < 2; pair++) {
                    // Box–Muller: two uniforms give two independent standard normals.
                    double radius = Math.sqrt(-2 * Math.log(Philox.uniformOpenZero(bits[2 * pair])));
                    double angle = 2 * Math.PI * Philox.uniform(bits[2 * pair + 1]);
                    int i = 4 * blk + 2 * pair;
                    if (i < n) d.set(i, mean + std * radius * Math.cos(angle));
                    if (i + 1 < n) d.set(i + 1, mean + std * radius * Math.sin(angle));
                }
            }
        });
        return out;
    }

    // ---- reductions -------------------------------------------------------------------------

    @Override
    public Tensor reduce(Ops.Reduce op, Tensor x, int[] axes, boolean keepDims) {
        own(x);
        ReductionPlan plan = ReductionPlan.of(x.shape(), axes, keepDims);
        int[] perm = plan.perm();
        int outer = plan.outer(), inner = plan.inner();
        Tensor out = uninitialised(x.dtype(), plan.outShape());
        Buf d = buf(out);
        int runLength = inner, count = inner;
        boolean leadingOnly = ReductionPlan.leadingAxes(axes) && x.isContiguous();
        if (leadingOnly && op == Ops.Reduce.SUM && x.dtype() == DType.F32) {
            float[] s = f32(x), o = f32(out);
            int base = x.offset(), columns = outer;
            // a chunk of columns a thread once the whole sum is worth sharing (a bias gradient of 384 columns too)
            pool.forRange(columns, Math.max(16, GRAIN / Math.max(1, runLength)), (c0, c1) -> {
                double[] acc = new double[c1 - c0];
                for (int r = 0; r < runLength; r++) {
                    int row = base + r * columns + c0;
                    for (int c = 0; c < acc.length; c++) acc[c] += s[row + c];
                }
                for (int c = 0; c < acc.length; c++) o[c0 + c] = (float) acc[c];
            });
            return out;
        }
        if (leadingOnly) {
            // Reducing leading axes of a contiguous tensor (a bias gradient, say): column sums.
            Buf s = buf(x);
            int base = x.offset(), columns = outer;
            pool.forRange(columns, Math.max(64, GRAIN / Math.max(1, inner)), (c0, c1) -> {
                double[] acc = new double[c1 - c0];
                if (op == Ops.Reduce.MAX) Arrays.fill(acc, Double.NEGATIVE_INFINITY);
                for (int r = 0; r < runLength; r++) {
                    int row = base + r * columns;
                    for (int c = c0; c < c1; c++) {
                        double v = s.get(row + c);
                        acc[c - c0] = op == Ops.Reduce.MAX ? Math.max(acc[c - c0], v) : acc[c - c0] + v;
                    }
                }
                for (int c = c0; c < c1; c++) d.set(c, op == Ops.Reduce.MEAN ? acc[c - c0] / count : acc[c - c0]);
            });
            return out;
        }
        Tensor runs = dense(x.permute(perm));
        Buf s = buf(runs);
        pool.forRange(outer, Math.max(1, GRAIN / Math.max(1, inner)), (o0, o1) -> {
            for (int o = o0; o < o1; o++) {
                double acc = op == Ops.Reduce.MAX ? Double.NEGATIVE_INFINITY : 0;
                for (int j = o * runLength, end = j + runLength; j < end; j++) {
                    double v = s.get(j);
                    acc = op == Ops.Reduce.MAX ? Math.max(acc, v) : acc + v;
                }
                d.set(o, op == Ops.Reduce.MEAN ? acc / count : acc);
            }
        });
        return out;
    }

    @Override
    public Tensor argmax(Tensor x, int axis) {
        int[] perm = ReductionPlan.axisLast(x.dim(), axis);
        Tensor rows = dense(x.permute(perm));
        int len = x.size(axis);
        int[] shape = new int[x.dim() - 1];
        for (int i = 0; i < shape.length; i++) shape[i] = x.size(perm[i]);
        Tensor out = uninitialised(DType.I32, shape);
        int[] d = (int[]) array(out);
        Buf s = buf(rows);
        pool.forRange(out.numel(), Math.max(1, GRAIN / Math.max(1, len)), (r0, r1) -> {
            for (int r = r0; r < r1; r++) {
                int best = 0;
                double bv = s.get(r * len);
                for (int j = 1; j < len; j++) {
                    double v = s.get(r * len + j);
                    if (v > bv) {
                        bv = v;
                        best = j;
                    }
                }
                d[r] = best;
            }
        });
        return out;
    }

    // ---- linear algebra ---------------------------------------------------------------------

    @Override
    public Tensor matmul(Tensor a, Tensor b) {
        if (a.dtype().isHalf()) return matmul(a, b, DType.F32).cast(a.dtype());
        own(a);
        own(b);
        int m = a.size(-2), k = a.size(-1), n = b.size(-1);
        int[] outShape = a.shape();
        outShape[outShape.length - 1] = n;
        Tensor out = uninitialised(a.dtype(), outShape);
        int batch = out.numel() / Math.max(1, m * n);
        if (m * n == 0) return out;
        MatrixLayout la = MatrixLayout.of(a), lb = MatrixLayout.of(b);
        int bStride = b.dim() == 2 ? 0 : lb.batchStride();
        if (b.dim() == 2 && !la.transposed() && batch > 1 && la.batchStride() == m * la.ld()) {
            // x[B, T, K] · W[K, N] (a Linear layer): the batch's rows are evenly spaced, so it is one
            // [B·T, K] product, packing W once instead of once per batch entry
            m *= batch;
            batch = 1;
        }
        if (a.dtype() == DType.F32) {
            Gemm.sgemmBatched(pool, batch, la.transposed(), lb.transposed(), m, n, k,
                    f32(la.t()), la.t().offset(), la.ld(), la.batchStride(),
                    f32(lb.t()), lb.t().offset(), lb.ld(), bStride,
                    0f, f32(out), 0, n, m * n);
        } else {
            Gemm.dgemmBatched(pool, batch, la.transposed(), lb.transposed(), m, n, k,
                    (double[]) array(la.t()), la.t().offset(), la.ld(), la.batchStride(),
                    (double[]) array(lb.t()), lb.t().offset(), lb.ld(), bStride,
                    0.0, (double[]) array(out), 0, n, m * n);
        }
        return out;
    }

    /**
     * A float32 weight is packed whole, as {@link SimdPackedWeight}: a second copy of it (bert-base's
     * Linear weights: 340 MB), kept beside the plain one, which checkpoints and views still read.
     */
    @Override
    public void holdLinearWeight(Tensor w) {
        CpuStorage s = own(w);
        if (Simd.AVAILABLE && w.dtype() == DType.F32 && w.dim() == 2 && w.isContiguous() && w.numel() > 0) {
            s.packedWeight = SimdPackedWeight.pack(pool, f32(w), w.offset(), w.size(0), w.size(1));
        }
    }

    /**
     * x·wᵀ + bias. In float32 the bias goes into each block of the product as it completes
     * ({@link Epilogue.Bias}), not in a second pass over an output that has left the cache;
     * otherwise the product, then the bias added row by row.
     */
    @Override
    public Tensor linear(Tensor x, Tensor w, Tensor bias) {
        if (x.dtype().isHalf()) {
            return linear(x.cast(DType.F32), w.cast(DType.F32), bias == null ? null : bias.cast(DType.F32)).cast(x.dtype());
        }
        boolean float32 = x.dtype() == DType.F32 && w.dtype() == DType.F32 && (bias == null || bias.dtype() == DType.F32);
        if (float32 && w.dim() == 2 && w.isContiguous()) {
            Tensor y = linearOutput(x, w);
            float32Linear(x, w, y, bias == null ? null : new Epilogue.Bias(f32(dense(bias)), 0));
            return y;
        }
        Tensor y = matmul(x, w.transpose(0, 1));
        if (bias == null) return y;
        int n = y.size(-1), rows = y.numel() / Math.max(1, n);
        Object b = array(dense(bias)), out = array(y);
        pool.forRange(rows, Math.max(1, GRAIN / Math.max(1, n)), (r0, r1) -> {
            if (out instanceof float[] yf) {
                float[] bf = (float[]) b;
                for (int r = r0; r < r1; r++) for (int j = 0; j < n; j++) yf[r * n + j] += bf[j];
            } else {
                double[] yd = (double[]) out, bd = (double[]) b;
                for (int r = r0; r < r1; r++) for (int j = 0; j < n; j++) yd[r * n + j] += bd[j];
            }
        });
        return y;
    }

    /**
     * In float32 the bias and GELU go over each block of the product as it completes
     * ({@link Epilogue.BiasGelu}): into y, with GELU' of the same sums written over the product for
     * the backward (from the exponential GELU takes anyway), or over the product when nothing is
     * kept. No pass of its own over the [tokens, I] activations, and the backward's only work on
     * them is a multiplication ({@link #matmulGeluBackward}).
     */
    @Override
    public LinearGelu linearGelu(Tensor x, Tensor w, Tensor bias, boolean keepForBackward) {
        boolean float32 = x.dtype() == DType.F32 && w.dtype() == DType.F32 && bias.dtype() == DType.F32;
        if (!float32 || w.dim() != 2 || !w.isContiguous() || bias.numel() != w.size(0)) {
            return Backend.super.linearGelu(x, w, bias, keepForBackward);
        }
        Tensor product = linearOutput(x, w), y = keepForBackward ? uninitialised(DType.F32, product.shape()) : product;
        int n = w.size(0);
        float32Linear(x, w, product, new Epilogue.BiasGelu(f32(dense(bias)), 0, f32(y), 0, n, keepForBackward));
        return new LinearGelu(y, keepForBackward ? GeluSaved.ofDerivative(product) : null);
    }

    /**
     * In float32, with GELU' saved by {@link #linearGelu}: dz·w multiplied by it in each block as
     * the block completes ({@link Epilogue.Mul}), so dz·w is never written out and read back, nor a
     * second [tokens, I] tensor allocated.
     */
    @Override
    public Tensor matmulGeluBackward(Tensor dz, Tensor w, GeluSaved saved) {
        Tensor derivative = saved.derivative();
        if (derivative == null || !rowProductFits(dz, w, derivative)) return Backend.super.matmulGeluBackward(dz, w, saved);
        return rowProduct(dz, w, derivative, c -> new Epilogue.Mul(f32(dense(derivative)), 0, w.size(1)));
    }

    /** onto added to each block of the float32 product as it completes ({@link Epilogue.Add}). */
    @Override
    public Tensor matmulAdd(Tensor a, Tensor b, Tensor onto) {
        if (!rowProductFits(a, b, onto)) return Backend.super.matmulAdd(a, b, onto);
        return rowProduct(a, b, onto, c -> new Epilogue.Add(f32(dense(onto)), 0, b.size(1)));
    }

    /**
     * Whether float32 a [..., k]·b [k, n], b contiguous, runs as one product of a's rows into a
     * tensor shaped as the float32 {@code like} [..., n] with as many rows: {@link #rowProduct}.
     */
    private static boolean rowProductFits(Tensor a, Tensor b, Tensor like) {
        return a.dtype() == DType.F32 && b.dtype() == DType.F32 && like.dtype() == DType.F32 && b.dim() == 2 && b.isContiguous()
                && a.size(-1) == b.size(0) && like.size(-1) == b.size(1)
                && like.numel() / Math.max(1, b.size(1)) == a.numel() / Math.max(1, b.size(0));
    }

    /** a·b into a new tensor shaped as {@code like}, through the epilogue made for the new tensor's array. */
    private Tensor rowProduct(Tensor a, Tensor b, Tensor like, java.util.function.Function<float[], Epilogue> epilogue) {
        int n = b.size(1), k = b.size(0), rows = like.numel() / Math.max(1, n);
        Tensor out = uninitialised(DType.F32, like.shape());
        float[] c = f32(out);
        Gemm.sgemm(pool, false, false, rows, n, k, f32(dense(a)), 0, k, f32(b), b.offset(), n, c, 0, n, epilogue.apply(c));
        return out;
    }

    /** A fresh float32 tensor for x [..., k]·wᵀ, w [n, k]: [..., n]. */
    private Tensor linearOutput(Tensor x, Tensor w) {
        int[] shape = x.shape();
        shape[shape.length - 1] = w.size(0);
        return uninitialised(DType.F32, shape);
    }

    /**
     * y = x [..., k] · wᵀ (w [n, k] contiguous, at any offset), then the epilogue or none: from w's
     * packed copy when it has one ({@link #holdLinearWeight}), else one product that packs w.
     */
    private void float32Linear(Tensor x, Tensor w, Tensor y, Epilogue epilogue) {
        int n = w.size(0), k = w.size(1);
        Tensor xd = dense(x);
        int rows = y.numel() / Math.max(1, n);
        SimdPackedWeight packed = own(w).packedWeight;
        if (packed != null && packed.wOff == w.offset() && packed.n == n && packed.k == k) {
            packed.product(pool, rows, f32(xd), 0, k, f32(y), 0, n, epilogue);
        } else {
            Gemm.sgemm(pool, false, true, rows, n, k, f32(xd), 0, k, f32(w), w.offset(), k, f32(y), 0, n, epilogue);
        }
    }

    /**
     * Float32 dW = dYᵀ·x with db added up while the product packs dYᵀ ({@link Gemm#sgemmWithRowSums}),
     * not in a second pass over dY: per Linear layer of a 32×128 MiniLM step, 4096×n floats fewer
     * to read. db has the bits of {@code dy.sum(0)}: the same double-precision sum in the same order.
     * Other dtypes, and shapes the product rejects, take the default way.
     */
    @Override
    public LinearGrads linearGrads(Tensor dy, Tensor x, DType out) {
        boolean float32 = dy.dtype() == DType.F32 && x.dtype() == DType.F32 && out == DType.F32;
        if (!float32 || dy.dim() != 2 || x.dim() != 2 || dy.size(0) != x.size(0)) return Backend.super.linearGrads(dy, x, out);
        Tensor g = dense(dy), xd = dense(x);
        int rows = g.size(0), n = g.size(1), k = xd.size(1);
        Tensor dw = uninitialised(DType.F32, n, k), db = uninitialised(DType.F32, n);
        double[] sums = new double[n];
        Gemm.sgemmWithRowSums(pool, true, false, n, k, rows, f32(g), 0, n, f32(xd), 0, k, f32(dw), 0, k, sums);
        float[] bias = f32(db);
        for (int j = 0; j < n; j++) bias[j] = (float) sums[j];
        biasSumsInProduct++;
        return new LinearGrads(dw, db);
    }

    /** How many {@link #linearGrads} took db from the product's packing: tests check it was not a second pass. */
    long biasSumsInProduct() {
        return biasSumsInProduct;
    }

    // ---- attention --------------------------------------------------------------------------

    @Override
    public AttentionOut attention(Tensor q, Tensor k, Tensor v, Tensor mask, double scale, double dropoutP, long seed, long offset) {
        if (q.dtype() != DType.F32) return Backend.super.attention(q, k, v, mask, scale, dropoutP, seed, offset);
        Attention.Dims d = dims(q, k);
        Tensor out = headsLastButOne(q.shape()), lse = uninitialised(DType.F32, d.batch(), d.heads(), d.queries());
        Tensor bits = dropoutP > 0 ? uninitialised(DType.I32, d.pairs() * d.queries() * Attention.wordsPerRow(d.t())) : null;
        Attention.forward(pool, d, heads(q), heads(k), heads(v), f32(dense(mask)), (float) scale,
                dropoutP, seed, offset, heads(out), f32(lse), bits == null ? null : (int[]) array(bits));
        return new AttentionOut(out, lse, bits);
    }

    @Override
    public AttentionGrads attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor mask, AttentionOut forward,
                                            double scale, double dropoutP, long seed, long offset) {
        if (q.dtype() != DType.F32) return Backend.super.attentionBackward(dOut, q, k, v, mask, forward, scale, dropoutP, seed, offset);
        Tensor dq = headsLastButOne(q.shape()), dk = headsLastButOne(k.shape()), dv = headsLastButOne(k.shape());
        attentionBackward(dOut, q, k, v, mask, forward, scale, dropoutP, dq, dk, dv);
        return new AttentionGrads(dq, dk, dv);
    }

    /**
     * The three gradients written where the packed layout has them, q's, k's and v's features of a
     * token side by side, instead of into three tensors that a concatenation then copies (three
     * copies of [B, T, H] a layer).
     */
    @Override
    public Tensor packedAttentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor mask, AttentionOut forward,
                                          double scale, double dropoutP, long seed, long offset, boolean half) {
        if (q.dtype() != DType.F32) {
            return Backend.super.packedAttentionBackward(dOut, q, k, v, mask, forward, scale, dropoutP, seed, offset, half);
        }
        Attention.Dims d = dims(q, k);
        // [B, T, 3, NH, HS]; with fewer query rows than keys the query gradient is zero past them
        Tensor packed = d.queries() < d.t() ? zeros(DType.F32, d.batch(), d.t(), 3, d.heads(), d.hs())
                : uninitialised(DType.F32, d.batch(), d.t(), 3, d.heads(), d.hs());
        Tensor heads = packed.permute(2, 0, 3, 1, 4);   // [3, B, NH, T, HS]
        attentionBackward(dOut, q, k, v, mask, forward, scale, dropoutP, heads.select(0, 0).narrow(2, 0, d.queries()), heads.select(0, 1),
                heads.select(0, 2));
        return packed.reshape(d.batch(), d.t(), 3 * d.heads() * d.hs());
    }

    /** Float32 attention's backward, its gradients written into dq, dk and dv ([B, NH, T, HS] views, HS contiguous). */
    private void attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor mask, AttentionOut forward, double scale,
                                   double dropoutP, Tensor dq, Tensor dk, Tensor dv) {
        int[] kept = dropoutP > 0 ? (int[]) array(dense(forward.dropoutBits())) : null;
        Attention.backward(pool, dims(q, k), heads(dOut), heads(q), heads(k), heads(v), f32(dense(mask)),
                f32(dense(forward.logSumExp())), (float) scale, dropoutP, kept, heads(dq), heads(dk), heads(dv));
    }

    /** The shapes of q [B, NH, Tq, HS] against k [B, NH, T, HS]. */
    private static Attention.Dims dims(Tensor q, Tensor k) {
        return new Attention.Dims(q.size(0), q.size(1), q.size(2), k.size(2), q.size(3));
    }

    /** A [B, NH, T, HS] float view of q, k, v or their gradients, read or written in place when HS is contiguous. */
    private Attention.Heads heads(Tensor x) {
        own(x);
        Tensor h = x.stride(3) == 1 ? x : contiguous(x);
        int[] st = h.strides();
        return new Attention.Heads(f32(h), h.offset(), st[0], st[1], st[2]);
    }

    /**
     * A new [B, NH, T, HS] tensor stored as [B, T, NH, HS]: the layout the model merges the heads
     * back into, so that merge is a view rather than a copy.
     */
    private Tensor headsLastButOne(int[] shape) {
        return uninitialised(DType.F32, shape[0], shape[2], shape[1], shape[3]).permute(0, 2, 1, 3);
    }

    // ---- normalisation and losses -----------------------------------------------------------

    /** Runs {@code body(row)} over the rows of the last axis, in parallel. */
    private void forRows(int rows, int len, java.util.function.IntConsumer body) {
        pool.forRange(rows, Math.max(1, GRAIN / Math.max(1, len)), (r0, r1) -> {
            for (int r = r0; r < r1; r++) body.accept(r);
        });
    }

    @Override
    public Tensor softmax(Tensor x) {
        return softmaxRows(x, false);
    }

    @Override
    public Tensor logSoftmax(Tensor x) {
        return softmaxRows(x, true);
    }

    private Tensor softmaxRows(Tensor x, boolean log) {
        Tensor in = dense(x);
        Tensor out = uninitialised(x.dtype(), x.shape());
        int len = Strided.rowLength(x.shape()), rows = x.numel() / Math.max(1, len);
        if (x.dtype() == DType.F32 && !log) {
            float[] s = f32(in), d = f32(out);
            forRows(rows, len, r -> RowKernels.softmax(s, d, r * len, len));
            return out;
        }
        Buf s = buf(in), d = buf(out);
        forRows(rows, len, r -> {
            int base = r * len;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < len; j++) max = Math.max(max, s.get(base + j));
            double sum = 0;
            for (int j = 0; j < len; j++) sum += Math.exp(s.get(base + j) - max);
            double logSum = Math.log(sum);
            for (int j = 0; j < len; j++) {
                double z = s.get(base + j) - max;
                d.set(base + j, log ? z - logSum : Math.exp(z) / sum);
            }
        });
        return out;
    }

    @Override
    public Tensor softmaxBackward(Tensor y, Tensor dy) {
        Tensor ys = dense(y), gs = dense(dy);
        Tensor out = uninitialised(y.dtype(), y.shape());
        int len = Strided.rowLength(y.shape()), rows = y.numel() / Math.max(1, len);
        if (y.dtype() == DType.F32) {
            float[] yv = f32(ys), g = f32(gs), d = f32(out);
            forRows(rows, len, r -> RowKernels.softmaxBackward(yv, g, d, r * len, len));
            return out;
        }
        Buf yv = buf(ys), g = buf(gs), d = buf(out);
        forRows(rows, len, r -> {
            int base = r * len;
            double dot = 0;
            for (int j = 0; j < len; j++) dot += g.get(base + j) * yv.get(base + j);
            for (int j = 0; j < len; j++) d.set(base + j, yv.get(base + j) * (g.get(base + j) - dot));
        });
        return out;
    }

    @Override
    public Tensor logSoftmaxBackward(Tensor y, Tensor dy) {
        Tensor ys = dense(y), gs = dense(dy);
        Tensor out = uninitialised(y.dtype(), y.shape());
        int len = Strided.rowLength(y.shape()), rows = y.numel() / Math.max(1, len);
        Buf yv = buf(ys), g = buf(gs), d = buf(out);
        forRows(rows, len, r -> {
            int base = r * len;
            double sum = 0;
            for (int j = 0; j < len; j++) sum += g.get(base + j);
            for (int j = 0; j < len; j++) d.set(base + j, g.get(base + j) - Math.exp(yv.get(base + j)) * sum);
        });
        return out;
    }

    @Override
    public LayerNormOut layerNorm(Tensor x, Tensor gamma, Tensor beta, double eps) {
        Tensor in = dense(x), g = dense(gamma), b = dense(beta);
        int len = x.size(-1), rows = x.numel() / Math.max(1, len);
        int[] statShape = Arrays.copyOf(x.shape(), x.dim() - 1);
        Tensor out = uninitialised(x.dtype(), x.shape()), mean = uninitialised(x.dtype(), statShape), rstd = uninitialised(x.dtype(), statShape);
        if (x.dtype() == DType.F32) {
            float[] s = f32(in), gv = f32(g), bv = f32(b), d = f32(out), mv = f32(mean), rv = f32(rstd);
            forRows(rows, len, r -> RowKernels.layerNorm(s, gv, bv, d, mv, rv, r, len, (float) eps));
            return new LayerNormOut(out, mean, rstd);
        }
        Buf s = buf(in), gv = buf(g), bv = buf(b), d = buf(out), mv = buf(mean), rv = buf(rstd);
        forRows(rows, len, r -> {
            int base = r * len;
            double mu = 0;
            for (int j = 0; j < len; j++) mu += s.get(base + j);
            mu /= len;
            double var = 0;
            for (int j = 0; j < len; j++) {
                double c = s.get(base + j) - mu;
                var += c * c;
            }
            double inv = 1 / Math.sqrt(var / len + eps);
            for (int j = 0; j < len; j++) d.set(base + j, (s.get(base + j) - mu) * inv * gv.get(j) + bv.get(j));
            mv.set(r, mu);
            rv.set(r, inv);
        });
        return new LayerNormOut(out, mean, rstd);
    }

    /**
     * With x̂ = (x − μ)·rstd and g = dy ⊙ γ: dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂)),
     * dγ = Σ_rows dy ⊙ x̂, dβ = Σ_rows dy. The column sums run per column block, each block over
     * all rows in order, so they do not depend on the thread count.
     */
    @Override
    public LayerNormGrads layerNormBackward(Tensor dy, Tensor x, Tensor gamma, Tensor mean, Tensor rstd) {
        Tensor gs = dense(dy), xs = dense(x), gm = dense(gamma), mu = dense(mean), rs = dense(rstd);
        int len = x.size(-1), rows = x.numel() / Math.max(1, len);
        Tensor dx = uninitialised(x.dtype(), x.shape()), dgamma = uninitialised(x.dtype(), len), dbeta = uninitialised(x.dtype(), len);
        if (x.dtype() == DType.F32) {
            float[] g = f32(gs), xv = f32(xs), gv = f32(gm), mv = f32(mu), rv = f32(rs), d = f32(dx);
            forRows(rows, len, r -> RowKernels.layerNormBackward(g, xv, gv, mv[r], rv[r], d, r * len, len));
            float[] dg = f32(dgamma), db = f32(dbeta);
            pool.forRange(len, 64, (c0, c1) -> RowKernels.layerNormParamGrads(g, xv, mv, rv, dg, db, rows, len, c0, c1));
            return new LayerNormGrads(dx, dgamma, dbeta);
        }
        Buf g = buf(gs), xv = buf(xs), gv = buf(gm), mv = buf(mu), rv = buf(rs), d = buf(dx);
        forRows(rows, len, r -> {
            int base = r * len;
            double m = mv.get(r), inv = rv.get(r), sumG = 0, sumGX = 0;
            for (int j = 0; j < len; j++) {
                double gj = g.get(base + j) * gv.get(j), xh = (xv.get(base + j) - m) * inv;
                sumG += gj;
                sumGX += gj * xh;
            }
            sumG /= len;
            sumGX /= len;
            for (int j = 0; j < len; j++) {
                double gj = g.get(base + j) * gv.get(j), xh = (xv.get(base + j) - m) * inv;
                d.set(base + j, inv * (gj - sumG - xh * sumGX));
            }
        });
        Buf dg = buf(dgamma), db = buf(dbeta);
        pool.forRange(len, 64, (c0, c1) -> {
            for (int c = c0; c < c1; c++) {
                double sg = 0, sb = 0;
                for (int r = 0; r < rows; r++) {
                    double gi = g.get(r * len + c);
                    sg += gi * (xv.get(r * len + c) - mv.get(r)) * rv.get(r);
                    sb += gi;
                }
                dg.set(c, sg);
                db.set(c, sb);
            }
        });
        return new LayerNormGrads(dx, dgamma, dbeta);
    }

    /** Rows whose dγ and dβ terms the residual LayerNorm's backward sums in float before adding them in double. */
    private static final int NORM_BLOCK_ROWS = 32;

    /**
     * One pass over each row, rows in parallel: the row's Philox draws become kept bits (kept for
     * the backward, 1 bit an element instead of a float mask), then sum, statistics and output.
     */
    @Override
    public ResidualNormOut dropoutAddLayerNorm(Tensor x, Tensor residual, Tensor gamma, Tensor beta, double eps, double p,
                                               long seed, long offset) {
        if (x.dtype() != DType.F32) return Backend.super.dropoutAddLayerNorm(x, residual, gamma, beta, eps, p, seed, offset);
        float[] xs = f32(dense(x)), rs = f32(dense(residual)), gv = f32(dense(gamma)), bv = f32(dense(beta));
        int len = x.size(-1), rows = x.numel() / Math.max(1, len), words = (len + 31) / 32;
        int[] statShape = Arrays.copyOf(x.shape(), x.dim() - 1);
        Tensor y = uninitialised(DType.F32, x.shape()), sum = uninitialised(DType.F32, x.shape());
        Tensor mean = uninitialised(DType.F32, statShape), rstd = uninitialised(DType.F32, statShape);
        Tensor bits = p > 0 ? uninitialised(DType.I32, rows, words) : null; // packKept writes every word
        float[] sv = f32(sum), yv = f32(y), mv = f32(mean), rv = f32(rstd);
        int[] kept = bits == null ? null : (int[]) array(bits);
        int threshold = Philox.keepThreshold((float) p);
        float scale = (float) (1.0 / (1.0 - p)), e = (float) eps;
        pool.forRange(rows, Math.max(1, GRAIN / Math.max(1, len)), (r0, r1) -> {
            int[] draws = kept == null ? null : new int[len];
            for (int r = r0; r < r1; r++) {
                if (kept != null) keptBits(seed, offset, (long) r * len, len, threshold, kept, r * words, draws);
                if (Simd.AVAILABLE) SimdResidualNorm.forward(xs, rs, kept, r * words, scale, gv, bv, sv, yv, mv, rv, r, len, e);
                else RowKernels.dropoutAddLayerNorm(xs, rs, kept, r * words, scale, gv, bv, sv, yv, mv, rv, r, len, e);
            }
        });
        return new ResidualNormOut(y, sum, mean, rstd, bits);
    }

    @Override
    public ResidualNormGrads dropoutAddLayerNormBackward(Tensor dy, ResidualNormOut forward, Tensor gamma, double p, long seed,
                                                         long offset) {
        if (dy.dtype() != DType.F32 || (p > 0 && forward.dropoutBits() == null)) {
            return Backend.super.dropoutAddLayerNormBackward(dy, forward, gamma, p, seed, offset);
        }
        float[] g = f32(dense(dy)), sv = f32(dense(forward.sum())), gv = f32(dense(gamma));
        float[] mv = f32(dense(forward.mean())), rv = f32(dense(forward.rstd()));
        int[] kept = p > 0 ? (int[]) array(dense(forward.dropoutBits())) : null;
        int len = dy.size(-1), rows = dy.numel() / Math.max(1, len), words = (len + 31) / 32;
        Tensor dres = uninitialised(DType.F32, dy.shape()), dx = kept == null ? dres : uninitialised(DType.F32, dy.shape());
        Tensor dgamma = uninitialised(DType.F32, len), dbeta = uninitialised(DType.F32, len);
        float[] dr = f32(dres), dxv = f32(dx);
        float scale = (float) (1.0 / (1.0 - p));
        // dγ and dβ in the same pass: float sums over fixed blocks of rows, then the blocks added in
        // order in double, so the result does not depend on the thread count
        int blocks = (rows + NORM_BLOCK_ROWS - 1) / NORM_BLOCK_ROWS;
        float[] pg = new float[blocks * len], pb = new float[blocks * len];
        pool.forRange(blocks, 1, (b0, b1) -> {
            for (int blk = b0; blk < b1; blk++) {
                for (int r = blk * NORM_BLOCK_ROWS, end = Math.min(rows, r + NORM_BLOCK_ROWS); r < end; r++) {
                    if (Simd.AVAILABLE) {
                        SimdResidualNorm.backward(g, sv, gv, mv[r], rv[r], kept, r * words, scale, dr, dxv, r * len, len, pg, pb, blk * len);
                    } else {
                        RowKernels.dropoutAddLayerNormBackward(g, sv, gv, mv[r], rv[r], kept, r * words, scale, dr, dxv, r * len, len,
                                pg, pb, blk * len);
                    }
                }
            }
        });
        float[] dg = f32(dgamma), db = f32(dbeta);
        for (int c = 0; c < len; c++) {
            double sg = 0, sb = 0;
            for (int blk = 0; blk < blocks; blk++) {
                sg += pg[blk * len + c];
                sb += pb[blk * len + c];
            }
            dg[c] = (float) sg;
            db[c] = (float) sb;
        }
        return new ResidualNormGrads(dx, dres, dgamma, dbeta);
    }

    @Override
    public Tensor crossEntropy(Tensor logits, Tensor labels, int ignoreIndex, double smoothing) {
        Tensor lg = dense(logits);
        int[] lab = (int[]) toHost(labels);
        int classes = logits.size(-1), rows = lab.length;
        OpChecks.countedLabels(lab, classes, ignoreIndex);
        Buf s = buf(lg);
        double total = 0;
        int counted = 0;
        for (int r = 0; r < rows; r++) {
            if (lab[r] == ignoreIndex) continue;
            int base = r * classes;
            double loss = logSumExp(s, base, classes) - s.get(base + lab[r]);
            if (smoothing != 0) {   // lse − (1 − ε)·x_label − ε·mean(x): ε of the target spread evenly
                double sum = 0;
                for (int c = 0; c < classes; c++) sum += s.get(base + c);
                loss += smoothing * (s.get(base + lab[r]) - sum / classes);
            }
            total += loss;
            counted++;
        }
        return full(logits.dtype(), new int[0], total / counted);
    }

    @Override
    public Tensor crossEntropyBackward(Tensor logits, Tensor labels, int ignoreIndex, double smoothing, Tensor dLoss) {
        Tensor lg = dense(logits);
        int[] lab = (int[]) toHost(labels);
        int classes = logits.size(-1), rows = lab.length;
        int counted = OpChecks.countedLabels(lab, classes, ignoreIndex);
        double scale = dLoss.item() / counted, spread = smoothing / classes;
        Tensor out = allocate(logits.dtype(), logits.shape());
        Buf s = buf(lg), d = buf(out);
        for (int r = 0; r < rows; r++) {
            if (lab[r] == ignoreIndex) continue;
            int base = r * classes;
            double lse = logSumExp(s, base, classes);
            for (int c = 0; c < classes; c++) {
                double p = Math.exp(s.get(base + c) - lse);
                d.set(base + c, (p - (c == lab[r] ? 1 - smoothing : 0) - spread) * scale);
            }
        }
        return out;
    }

    private static double logSumExp(Buf s, int base, int len) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < len; j++) max = Math.max(max, s.get(base + j));
        double sum = 0;
        for (int j = 0; j < len; j++) sum += Math.exp(s.get(base + j) - max);
        return max + Math.log(sum);
    }

    // ---- indexing ---------------------------------------------------------------------------

    @Override
    public Tensor embedding(Tensor weight, Tensor ids) {
        Tensor w = dense(weight);
        int[] idx = (int[]) toHost(ids);
        int vocab = weight.size(0), h = weight.size(1);
        OpChecks.checkIds(idx, vocab);
        int[] outShape = Arrays.copyOf(ids.shape(), ids.dim() + 1);
        outShape[ids.dim()] = h;
        Tensor out = uninitialised(weight.dtype(), outShape);
        Object s = array(w), d = array(out);
        pool.forRange(idx.length, Math.max(1, GRAIN / Math.max(1, h)), (t0, t1) -> {
            for (int t = t0; t < t1; t++) System.arraycopy(s, idx[t] * h, d, t * h, h);
        });
        return out;
    }

    /**
     * Blocks of vocabulary rows in parallel, each zeroed and then given its tokens' rows in token
     * order: the same sums whatever the thread count. Zeroing is most of the work (a MiniLM
     * gradient is 47 MB for 32 tokens), so it is shared out instead of done by the caller first.
     */
    @Override
    public Tensor embeddingBackward(Tensor ids, Tensor dy, int vocabSize) {
        int[] idx = (int[]) toHost(ids);
        OpChecks.checkIds(idx, vocabSize); // an id outside every block would be dropped silently
        Tensor g = dense(dy);
        int h = dy.size(-1);
        if (dy.dtype() == DType.F32) {
            Tensor out = uninitialised(DType.F32, vocabSize, h);
            float[] s = f32(g), d = f32(out);
            pool.forRange(vocabSize, Math.max(1, GRAIN / Math.max(1, h)), (v0, v1) -> {
                Arrays.fill(d, v0 * h, v1 * h, 0f);
                for (int t = 0; t < idx.length; t++) {
                    if (idx[t] < v0 || idx[t] >= v1) continue;
                    int src = t * h, dst = idx[t] * h;
                    for (int c = 0; c < h; c++) d[dst + c] += s[src + c];
                }
            });
            return out;
        }
        Tensor out = allocate(dy.dtype(), vocabSize, h);
        Buf s = buf(g), d = buf(out);
        pool.forRange(h, 16, (c0, c1) -> {
            for (int t = 0; t < idx.length; t++) {
                for (int c = c0; c < c1; c++) d.set(idx[t] * h + c, d.get(idx[t] * h + c) + s.get(t * h + c));
            }
        });
        return out;
    }

    // ---- in place ---------------------------------------------------------------------------

    private Tensor target(Tensor dst, Tensor src) {
        own(dst);
        OpChecks.checkInPlace(dst, src);
        return dense(src);
    }

    @Override
    public void addInPlace(Tensor dst, Tensor src, double alpha) {
        Tensor s = target(dst, src);
        int n = dst.numel(), off = dst.offset();
        if (dst.dtype() == DType.F32) {
            float[] d = f32(dst), v = f32(s);
            float a = (float) alpha;
            pool.forRange(n, GRAIN, (i0, i1) -> {
                for (int i = i0; i < i1; i++) d[off + i] += a * v[i];
            });
            return;
        }
        Buf d = buf(dst), v = buf(s);
        pool.forRange(n, GRAIN, (i0, i1) -> {
            for (int i = i0; i < i1; i++) d.set(off + i, d.get(off + i) + alpha * v.get(i));
        });
    }

    @Override
    public void scaleInPlace(Tensor t, double s) {
        target(t, t);
        Buf d = buf(t);
        int off = t.offset();
        pool.forRange(t.numel(), GRAIN, (i0, i1) -> {
            for (int i = i0; i < i1; i++) d.set(off + i, d.get(off + i) * s);
        });
    }

    @Override
    public void copyInPlace(Tensor dst, Tensor src) {
        own(src);
        OpChecks.checkCopy(dst, src);
        copyStrided(src, dst);
    }

    @Override
    public double sumOfSquares(Tensor t) {
        return sumOfSquares(List.of(t));
    }

    /** One parallel loop over the blocks of all the tensors, not one per tensor (most are too small to share out). */
    @Override
    public double sumOfSquares(List<Tensor> ts) {
        List<Tensor> d = ts.stream().map(this::dense).toList();
        if (!allF32(d)) {
            double sum = 0;
            for (Tensor t : d) sum += sumOfSquaresWide(t);
            return sum;
        }
        return blocks(d).sumOfSquares(pool, arrays(d), offsets(d));
    }

    /** Σ t² of a double tensor, in fixed blocks summed in order: the same total whatever the thread count. */
    private double sumOfSquaresWide(Tensor s) {
        Buf b = buf(s);
        int n = s.numel(), blocks = (n + GRAIN - 1) / GRAIN;
        double[] partial = new double[blocks];
        pool.forRange(blocks, 1, (b0, b1) -> {
            for (int blk = b0; blk < b1; blk++) {
                double acc = 0;
                for (int i = blk * GRAIN, end = Math.min(n, i + GRAIN); i < end; i++) acc += b.get(i) * b.get(i);
                partial[blk] = acc;
            }
        });
        double total = 0;
        for (double p : partial) total += p;
        return total;
    }

    @Override
    public void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep st) {
        adamW(List.of(param), List.of(grad), List.of(m), List.of(v), st);
    }

    @Override
    public void adamW(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, AdamWStep st) {
        adamW(params, grads, m, v, st, 1);
    }

    /** The clip read into the update: no pass that scales the gradients first (they keep their values). */
    @Override
    public void adamW(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, AdamWStep st, Tensor guard) {
        double[] decided = (double[]) guard.toHost();
        if (decided[3] == 0) adamW(params, grads, m, v, st, decided[2]);
    }

    /** Every parameter of the group in one parallel loop over their blocks, on the gradients times {@code clip}. */
    private void adamW(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, AdamWStep st, double clip) {
        List<Tensor> g = new ArrayList<>(params.size());
        for (int i = 0; i < params.size(); i++) {
            g.add(target(params.get(i), grads.get(i)));
            target(m.get(i), params.get(i));
            target(v.get(i), params.get(i));
        }
        if (params.isEmpty()) return;
        if (!allF32(params)) {
            if (clip != 1) g = scaled(g, clip);
            for (int i = 0; i < params.size(); i++) adamWWide(params.get(i), g.get(i), m.get(i), v.get(i), st);
            return;
        }
        AdamWRule rule = AdamWRule.of(st).clipped(clip);
        float[][] p = arrays(params), gv = arrays(g), mv = arrays(m), vv = arrays(v);
        int[] po = offsets(params), mo = offsets(m), vo = offsets(v);
        TensorBlocks blocks = blocks(params);
        blocks.forEachBlock(pool, b -> {
            int t = blocks.tensor[b];
            rule.update(p[t], po[t], gv[t], mv[t], mo[t], vv[t], vo[t], blocks.start[b], blocks.length[b]);
        });
    }

    /** AdamW on a double parameter, in double. */
    private void adamWWide(Tensor param, Tensor g, Tensor m, Tensor v, AdamWStep st) {
        int n = param.numel();
        double bc1 = 1 - Math.pow(st.beta1(), st.step()), bc2 = 1 - Math.pow(st.beta2(), st.step());
        Buf p = buf(param), gv = buf(g), mv = buf(m), vv = buf(v);
        int po = param.offset(), mo = m.offset(), vo = v.offset();
        pool.forRange(n, GRAIN, (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                double gi = gv.get(i);
                double mi = st.beta1() * mv.get(mo + i) + (1 - st.beta1()) * gi;
                double vi = st.beta2() * vv.get(vo + i) + (1 - st.beta2()) * gi * gi;
                mv.set(mo + i, mi);
                vv.set(vo + i, vi);
                double pi = p.get(po + i) * (1 - st.lr() * st.weightDecay());
                p.set(po + i, pi - st.lr() / bc1 * mi / (Math.sqrt(vi) / Math.sqrt(bc2) + st.eps()));
            }
        });
    }

    private static boolean allF32(List<Tensor> ts) {
        return ts.stream().allMatch(t -> t.dtype() == DType.F32);
    }

    private static TensorBlocks blocks(List<Tensor> ts) {
        return new TensorBlocks(ts.stream().map(Tensor::numel).toList());
    }

    private static float[][] arrays(List<Tensor> ts) {
        return ts.stream().map(CpuBackend::f32).toArray(float[][]::new);
    }

    private static int[] offsets(List<Tensor> ts) {
        return ts.stream().mapToInt(Tensor::offset).toArray();
    }
}
