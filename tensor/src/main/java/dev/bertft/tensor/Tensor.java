package dev.bertft.tensor;

import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

/**
 * A dense, strided, n-dimensional view over a {@link Storage}. Views (reshape, transpose,
 * narrow, expand) share storage and copy nothing; every computing op checks shapes and dtypes
 * here, then runs on the backend that owns the storage. Tensors are immutable values except
 * through the explicitly in-place methods the optimizer uses.
 */
public final class Tensor {
    private final Storage storage;
    private final int[] shape;
    private final int[] strides;
    private final int offset;

    public Tensor(Storage storage, int[] shape, int[] strides, int offset) {
        if (shape.length != strides.length) throw new IllegalArgumentException("shape and strides differ in rank");
        this.storage = storage;
        this.shape = shape.clone();
        this.strides = strides.clone();
        this.offset = offset;
    }

    /** A contiguous row-major view of the whole storage. */
    public static Tensor contiguousView(Storage storage, int... shape) {
        return new Tensor(storage, shape, contiguousStrides(shape), 0);
    }

    // ---- factories --------------------------------------------------------------------------

    public static Tensor of(Backend backend, float[] data, int... shape) {
        return backend.fromHost(data, DType.F32, checkCount(data.length, shape));
    }

    public static Tensor of(Backend backend, double[] data, int... shape) {
        return backend.fromHost(data, DType.F64, checkCount(data.length, shape));
    }

    public static Tensor of(Backend backend, int[] data, int... shape) {
        return backend.fromHost(data, DType.I32, checkCount(data.length, shape));
    }

    public static Tensor scalar(Backend backend, DType dtype, double value) {
        return backend.full(dtype, new int[0], value);
    }

    private static int[] checkCount(int n, int[] shape) {
        if (numel(shape) != n) {
            throw new IllegalArgumentException("data has " + n + " elements but shape " + Arrays.toString(shape)
                    + " needs " + numel(shape));
        }
        return shape;
    }

    // ---- metadata ---------------------------------------------------------------------------

    public Storage storage() {
        return storage;
    }

    public Backend backend() {
        return storage.backend();
    }

    public DType dtype() {
        return storage.dtype();
    }

    public int[] shape() {
        return shape.clone();
    }

    public int[] strides() {
        return strides.clone();
    }

    public int offset() {
        return offset;
    }

    public int dim() {
        return shape.length;
    }

    /** Size of axis {@code d}; negative axes count from the end. */
    public int size(int d) {
        return shape[axis(d)];
    }

    public int stride(int d) {
        return strides[axis(d)];
    }

    public int numel() {
        return numel(shape);
    }

    public static int numel(int[] shape) {
        long n = 1;
        for (int s : shape) {
            if (s < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            n *= s;
        }
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " is too large");
        return (int) n;
    }

    public static int[] contiguousStrides(int[] shape) {
        int[] st = new int[shape.length];
        int s = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            st[d] = s;
            s *= Math.max(shape[d], 1);
        }
        return st;
    }

    /** Row-major with no gaps (size-1 axes may have any stride). */
    public boolean isContiguous() {
        int s = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            if (shape[d] != 1 && strides[d] != s) return false;
            s *= shape[d];
        }
        return true;
    }

    public int axis(int d) {
        int a = d < 0 ? d + shape.length : d;
        if (a < 0 || a >= shape.length) {
            throw new IllegalArgumentException("axis " + d + " out of range for shape " + Arrays.toString(shape));
        }
        return a;
    }

    public boolean sameShape(Tensor o) {
        return Arrays.equals(shape, o.shape);
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + " " + dtype() + " on " + backend().name();
    }

    // ---- views ------------------------------------------------------------------------------

    /** Same elements in a new shape; one dim may be −1. Copies only when the view is not contiguous. */
    public Tensor reshape(int... newShape) {
        int[] ns = inferShape(newShape);
        if (!isContiguous()) return contiguous().reshape(ns);
        return new Tensor(storage, ns, contiguousStrides(ns), offset);
    }

    private int[] inferShape(int[] newShape) {
        int[] ns = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int d = 0; d < ns.length; d++) {
            if (ns[d] == -1) {
                if (infer >= 0) throw new IllegalArgumentException("reshape: more than one -1 in " + Arrays.toString(newShape));
                infer = d;
            } else {
                known *= ns[d];
            }
        }
        if (infer >= 0) {
            if (known == 0 || numel() % known != 0) throw badReshape(newShape);
            ns[infer] = (int) (numel() / known);
        }
        if (numel(ns) != numel()) throw badReshape(newShape);
        return ns;
    }

    private IllegalArgumentException badReshape(int[] newShape) {
        return new IllegalArgumentException("reshape: cannot view shape " + Arrays.toString(shape) + " as "
                + Arrays.toString(newShape));
    }

    /** Swaps two axes without copying. */
    public Tensor transpose(int d0, int d1) {
        int a = axis(d0), b = axis(d1);
        int[] p = new int[shape.length];
        for (int i = 0; i < p.length; i++) p[i] = i;
        p[a] = b;
        p[b] = a;
        return permute(p);
    }

    /** Reorders axes: output axis i is input axis perm[i]. */
    public Tensor permute(int... perm) {
        if (perm.length != shape.length) {
            throw new IllegalArgumentException("permute: " + Arrays.toString(perm) + " does not match rank of " + Arrays.toString(shape));
        }
        boolean[] seen = new boolean[perm.length];
        int[] ns = new int[perm.length], nst = new int[perm.length];
        for (int i = 0; i < perm.length; i++) {
            int a = axis(perm[i]);
            if (seen[a]) throw new IllegalArgumentException("permute: repeated axis in " + Arrays.toString(perm));
            seen[a] = true;
            ns[i] = shape[a];
            nst[i] = strides[a];
        }
        return new Tensor(storage, ns, nst, offset);
    }

    /** The slice [start, start+length) of one axis, without copying. */
    public Tensor narrow(int d, int start, int length) {
        int a = axis(d);
        if (start < 0 || length < 0 || start + length > shape[a]) {
            throw new IllegalArgumentException("narrow: [" + start + ", " + (start + length) + ") out of range for axis "
                    + d + " of " + Arrays.toString(shape));
        }
        int[] ns = shape.clone();
        ns[a] = length;
        return new Tensor(storage, ns, strides, offset + start * strides[a]);
    }

    /** Index {@code i} of axis {@code d}, dropping that axis. */
    public Tensor select(int d, int i) {
        int a = axis(d);
        return narrow(a, i, 1).squeeze(a);
    }

    public Tensor unsqueeze(int d) {
        int a = d < 0 ? d + shape.length + 1 : d;
        if (a < 0 || a > shape.length) throw new IllegalArgumentException("unsqueeze: axis " + d + " out of range");
        int[] ns = new int[shape.length + 1], nst = new int[shape.length + 1];
        for (int i = 0, j = 0; i < ns.length; i++) {
            if (i == a) {
                ns[i] = 1;
                nst[i] = j < shape.length ? strides[j] * shape[j] : 1;
            } else {
                ns[i] = shape[j];
                nst[i] = strides[j++];
            }
        }
        return new Tensor(storage, ns, nst, offset);
    }

    public Tensor squeeze(int d) {
        int a = axis(d);
        if (shape[a] != 1) throw new IllegalArgumentException("squeeze: axis " + d + " of " + Arrays.toString(shape) + " is not 1");
        int[] ns = new int[shape.length - 1], nst = new int[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (i == a) continue;
            ns[j] = shape[i];
            nst[j++] = strides[i];
        }
        return new Tensor(storage, ns, nst, offset);
    }

    /** Broadcasts size-1 axes (and new leading axes) to {@code target} with stride 0. */
    public Tensor expand(int... target) {
        if (target.length < shape.length) throw new IllegalArgumentException("expand: " + Arrays.toString(shape)
                + " to fewer dims " + Arrays.toString(target));
        int lead = target.length - shape.length;
        int[] nst = new int[target.length];
        for (int i = 0; i < target.length; i++) {
            if (i < lead) {
                nst[i] = 0;
                continue;
            }
            int s = shape[i - lead];
            if (s == target[i]) nst[i] = strides[i - lead];
            else if (s == 1) nst[i] = 0;
            else throw new IllegalArgumentException("expand: cannot broadcast " + Arrays.toString(shape) + " to " + Arrays.toString(target));
        }
        return new Tensor(storage, target, nst, offset);
    }

    /** A contiguous tensor with these elements: this one if already so. */
    public Tensor contiguous() {
        return isContiguous() ? this : backend().contiguous(this);
    }

    /** A contiguous copy that shares nothing with this tensor. */
    public Tensor copy() {
        return backend().contiguous(this);
    }

    public Tensor to(Backend target) {
        return target.adopt(this);
    }

    public Tensor cast(DType to) {
        return dtype() == to ? this : backend().cast(this, to);
    }

    // ---- host access ------------------------------------------------------------------------

    public Object toHost() {
        return backend().toHost(this);
    }

    public float[] toFloatArray() {
        return (float[]) cast(DType.F32).toHost();
    }

    public double[] toDoubleArray() {
        return (double[]) cast(DType.F64).toHost();
    }

    public int[] toIntArray() {
        return (int[]) cast(DType.I32).toHost();
    }

    /**
     * {@link #toFloatArray}'s values as they are now, read later: the supplier waits for the work asked
     * before this call and not for what is asked after it ({@link Backend#toHostLater}).
     */
    public Supplier<float[]> toFloatArrayLater() {
        Supplier<Object> values = backend().toHostLater(cast(DType.F32));
        return () -> (float[]) values.get();
    }

    /** {@link #toDoubleArray}'s values as they are now, read later, as {@link #toFloatArrayLater}. */
    public Supplier<double[]> toDoubleArrayLater() {
        Supplier<Object> values = backend().toHostLater(cast(DType.F64));
        return () -> (double[]) values.get();
    }

    /** The value of a one-element tensor. */
    public double item() {
        if (numel() != 1) throw new IllegalArgumentException("item: tensor of shape " + Arrays.toString(shape) + " is not a scalar");
        return toDoubleArray()[0];
    }

    // ---- computing ops (validated here, run by the backend) ---------------------------------

    public Tensor add(Tensor o) {
        return binary(Ops.Binary.ADD, o);
    }

    public Tensor sub(Tensor o) {
        return binary(Ops.Binary.SUB, o);
    }

    public Tensor mul(Tensor o) {
        return binary(Ops.Binary.MUL, o);
    }

    public Tensor div(Tensor o) {
        return binary(Ops.Binary.DIV, o);
    }

    public Tensor binary(Ops.Binary op, Tensor o) {
        sameDevice("binary " + op, o);
        requireFloating(op.name().toLowerCase(), this, o);
        if (dtype() != o.dtype()) throw new IllegalArgumentException(op.name().toLowerCase() + ": dtypes differ: " + dtype() + " vs " + o.dtype());
        broadcastShape(op.name().toLowerCase(), shape, o.shape);
        return backend().binary(op, this, o);
    }

    public Tensor add(double s) {
        return scalarOp(Ops.Scalar.ADD, s);
    }

    public Tensor mul(double s) {
        return scalarOp(Ops.Scalar.MUL, s);
    }

    public Tensor scalarOp(Ops.Scalar op, double s) {
        requireFloating(op.name().toLowerCase(), this);
        return backend().scalar(op, this, s);
    }

    public Tensor unary(Ops.Unary op) {
        requireFloating(op.name().toLowerCase(), this);
        return backend().unary(op, this);
    }

    public Tensor exp() {
        return unary(Ops.Unary.EXP);
    }

    public Tensor log() {
        return unary(Ops.Unary.LOG);
    }

    public Tensor sqrt() {
        return unary(Ops.Unary.SQRT);
    }

    public Tensor tanh() {
        return unary(Ops.Unary.TANH);
    }

    public Tensor gelu() {
        return unary(Ops.Unary.GELU);
    }

    public Tensor neg() {
        return unary(Ops.Unary.NEG);
    }

    public Tensor sum(int... axes) {
        return reduce(Ops.Reduce.SUM, false, axes);
    }

    public Tensor mean(int... axes) {
        return reduce(Ops.Reduce.MEAN, false, axes);
    }

    public Tensor max(int... axes) {
        return reduce(Ops.Reduce.MAX, false, axes);
    }

    /** Reduces over the given axes (all axes when none are given). */
    public Tensor reduce(Ops.Reduce op, boolean keepDims, int... axes) {
        requireFloating(op.name().toLowerCase(), this);
        int[] ax = normalizeAxes(axes);
        if (numel() == 0 && op == Ops.Reduce.MAX) throw new IllegalArgumentException("max of an empty tensor " + Arrays.toString(shape));
        if (ax.length == 0) return keepDims ? this : this.copy();
        return backend().reduce(op, this, ax, keepDims);
    }

    /** Sorted distinct axes; all axes when {@code axes} is empty. */
    public int[] normalizeAxes(int... axes) {
        if (axes.length == 0) {
            int[] all = new int[shape.length];
            for (int i = 0; i < all.length; i++) all[i] = i;
            return all;
        }
        int[] ax = new int[axes.length];
        for (int i = 0; i < axes.length; i++) ax[i] = axis(axes[i]);
        Arrays.sort(ax);
        for (int i = 1; i < ax.length; i++) {
            if (ax[i] == ax[i - 1]) throw new IllegalArgumentException("repeated axis in " + Arrays.toString(axes));
        }
        return ax;
    }

    public Tensor argmax(int d) {
        requireFloating("argmax", this);
        if (size(d) == 0) throw new IllegalArgumentException("argmax: axis " + d + " of " + Arrays.toString(shape) + " is empty");
        return backend().argmax(this, axis(d));
    }

    /** Batched matrix product a[..., M, K] · b[..., K, N]; b may be 2-D. */
    public Tensor matmul(Tensor b) {
        return matmul(b, dtype());
    }

    /**
     * {@link #matmul(Tensor)} written in {@code out}: this tensor's dtype, or F32 when both are
     * BF16 or F16 (the float32 sums unrounded, as a mixed-precision layer wants them).
     */
    public Tensor matmul(Tensor b, DType out) {
        if (out != dtype() && !(out == DType.F32 && dtype().isHalf())) {
            throw new IllegalArgumentException("matmul: a product of " + dtype() + " cannot be written as " + out);
        }
        sameDevice("matmul", b);
        requireProductOperands("matmul", this, b);
        if (dtype() != b.dtype()) throw new IllegalArgumentException("matmul: dtypes differ: " + dtype() + " vs " + b.dtype());
        if (dim() < 2 || b.dim() < 2 || size(-1) != b.size(-2)
                || (b.dim() > 2 && !Arrays.equals(Arrays.copyOf(shape, dim() - 2), Arrays.copyOf(b.shape, b.dim() - 2)))) {
            throw new IllegalArgumentException("matmul: shapes " + Arrays.toString(shape) + " and " + Arrays.toString(b.shape)
                    + " do not multiply");
        }
        return backend().matmul(this, b, out);
    }

    /** x[..., K]·wᵀ + bias with w as [N, K] (torch.nn.Linear's layout) and bias [N] or null. */
    public Tensor linear(Tensor w, Tensor bias) {
        if (w.dim() != 2 || dim() < 2 || size(-1) != w.size(1) || (bias != null && (bias.dim() != 1 || bias.size(0) != w.size(0)))) {
            throw new IllegalArgumentException("linear: input " + Arrays.toString(shape) + ", weight " + Arrays.toString(w.shape)
                    + (bias == null ? "" : ", bias " + Arrays.toString(bias.shape)) + ": want [..., K], [N, K], [N]");
        }
        sameDevice("linear", w);
        if (bias != null) sameDevice("linear", bias);
        requireProductOperands("linear", this, w);
        if (dtype() != w.dtype() || (bias != null && bias.dtype() != dtype())) {
            throw new IllegalArgumentException("linear: dtypes differ: " + dtype() + ", " + w.dtype() + (bias == null ? "" : ", " + bias.dtype()));
        }
        return backend().linear(this, w, bias);
    }

    public Tensor softmax() {
        requireFloating("softmax", this);
        return backend().softmax(this);
    }

    public Tensor logSoftmax() {
        requireFloating("logSoftmax", this);
        return backend().logSoftmax(this);
    }

    public Tensor concat(int d, Tensor... rest) {
        Tensor[] all = new Tensor[rest.length + 1];
        all[0] = this;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return concat(List.of(all), d);
    }

    public static Tensor concat(List<Tensor> parts, int d) {
        if (parts.isEmpty()) throw new IllegalArgumentException("concat: no tensors");
        Tensor first = parts.get(0);
        int a = first.axis(d);
        for (Tensor t : parts) {
            first.sameDevice("concat", t);
            boolean ok = t.dim() == first.dim() && t.dtype() == first.dtype();
            for (int i = 0; ok && i < t.dim(); i++) ok = i == a || t.shape[i] == first.shape[i];
            if (!ok) throw new IllegalArgumentException("concat: " + t + " does not fit " + first + " along axis " + d);
        }
        return first.backend().concat(parts, a);
    }

    /** Splits one axis into views of the given sizes. */
    public List<Tensor> split(int d, int... sizes) {
        int a = axis(d), total = 0;
        for (int s : sizes) total += s;
        if (total != shape[a]) throw new IllegalArgumentException("split: sizes " + Arrays.toString(sizes) + " do not add up to "
                + shape[a] + " on axis " + d);
        Tensor[] out = new Tensor[sizes.length];
        for (int i = 0, start = 0; i < sizes.length; start += sizes[i++]) out[i] = narrow(a, start, sizes[i]);
        return List.of(out);
    }

    // ---- validation helpers -----------------------------------------------------------------

    void sameDevice(String op, Tensor o) {
        if (o.backend() != backend()) {
            throw new IllegalArgumentException(op + ": tensors on different devices: " + backend().name() + " and " + o.backend().name());
        }
    }

    /** F32 or F64: what every computing op takes, except the products, which take BF16/F16 too. */
    static void requireFloating(String op, Tensor... ts) {
        requireProductOperands(op, ts);
        for (Tensor t : ts) {
            if (t.dtype().isHalf()) {
                throw new IllegalArgumentException(op + ": " + t.dtype() + " tensors are stored, cast and multiplied (matmul, linear) only;"
                        + " cast to F32 first, got " + t);
            }
        }
    }

    private static void requireProductOperands(String op, Tensor... ts) {
        for (Tensor t : ts) {
            if (!t.dtype().isFloating()) throw new IllegalArgumentException(op + ": needs a floating tensor, got " + t);
        }
    }

    /** NumPy broadcasting of two shapes; a clear error naming the op when they do not broadcast. */
    public static int[] broadcastShape(String op, int[] a, int[] b) {
        int n = Math.max(a.length, b.length);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            int x = i < n - a.length ? 1 : a[i - (n - a.length)];
            int y = i < n - b.length ? 1 : b[i - (n - b.length)];
            if (x != y && x != 1 && y != 1) {
                throw new IllegalArgumentException(op + ": shapes " + Arrays.toString(a) + " and " + Arrays.toString(b)
                        + " do not broadcast");
            }
            out[i] = x == 1 ? y : x;
        }
        return out;
    }
}
