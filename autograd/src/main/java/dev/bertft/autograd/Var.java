package dev.bertft.autograd;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.Ops;
import dev.bertft.tensor.Tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;
import java.util.function.UnaryOperator;

/**
 * A tensor in the autograd graph. Every differentiable op is a method here that computes its
 * forward with {@link Tensor} ops and records how to send the output gradient back to its
 * inputs: one place holds all the gradient rules. {@link #backward()} walks the graph once in
 * reverse topological order, accumulates {@code grad} on leaves that require it, and then
 * releases the graph so activations do not outlive the step.
 */
public final class Var {
    /** Sends the gradient of this node's output to its inputs. */
    @FunctionalInterface
    private interface Backward {
        void apply(Tensor gradOut);
    }

    private Tensor value;
    private Tensor grad;
    private final boolean requiresGrad;
    private final String op;
    private Var[] inputs;
    private Backward backward;
    /** Gradient arriving from consumers during the backward pass in progress. */
    private Tensor pending;
    /** Set once a backward pass has freed this op's link to its inputs: no gradient can pass through it again. */
    private boolean released;
    /**
     * Under {@link Autocast}: the value rounded once to BF16/F16 as a product's operand, written by
     * the op that made it (LayerNorm, GELU) or cast by the first product that read it and kept for
     * the others (one cast for Q, K and V). Never kept on a leaf, whose value outlives the step.
     */
    private Tensor halfCopy;
    /**
     * On a {@link #linearGelu} result that needs a gradient: what the backend kept of its GELU for
     * the backward (under autocast the half pre-activation). The gradient such a node collects is
     * then the one at GELU's input (under autocast in the half format, float32 sums rounded once):
     * {@link #accumulate} applies GELU's derivative to what arrives, and a Linear layer reading
     * this value has it applied inside the product that makes its input gradient
     * ({@link #accumulateProduct}), so dY itself is never written out.
     */
    private Backend.GeluSaved gelu;
    /** For {@link #rows}: the parameter whose rows {@code firstRow ..} this shows, else null. */
    private final Var whole;
    private final int firstRow;

    private Var(Tensor value, boolean requiresGrad, String op, Var[] inputs, Backward backward) {
        this(value, requiresGrad, op, inputs, backward, null, 0);
    }

    private Var(Tensor value, boolean requiresGrad, String op, Var[] inputs, Backward backward, Var whole, int firstRow) {
        this.value = value;
        this.requiresGrad = requiresGrad;
        this.op = op;
        this.inputs = inputs;
        this.backward = backward;
        this.whole = whole;
        this.firstRow = firstRow;
    }

    /**
     * Rows {@code first .. first + count} of a parameter as a parameter of their own name, for
     * checkpoint I/O: HF's separate query, key and value of a fused [3·H, H] one. Its value and
     * gradient are always those rows of the whole's (views, no copy), and setting its value
     * replaces them in the whole; the whole is what ops read and the optimizer updates, so the
     * view itself takes no part in computing and has no gradient of its own to set or clear.
     */
    public static Var rows(Var whole, int first, int count) {
        if (!whole.isLeaf() || whole.whole != null) throw new IllegalArgumentException("rows: " + whole + " is not a parameter");
        return new Var(whole.value.narrow(0, first, count), false, "rows", new Var[0], null, whole, first);
    }

    /** The parameter whose values this one holds: the whole of a {@link #rows} view, else this. */
    public Var base() {
        return whole == null ? this : whole;
    }

    /** This parameter's part of {@code t}, a tensor shaped like {@link #base()}'s value (its optimizer moments). */
    public Tensor partOf(Tensor t) {
        return whole == null ? t : t.narrow(0, firstRow, value.size(0));
    }

    /** A leaf that collects a gradient (a parameter). */
    public static Var parameter(Tensor value) {
        return new Var(value, true, "parameter", new Var[0], null);
    }

    /** A leaf without a gradient (inputs, masks). */
    public static Var constant(Tensor value) {
        return new Var(value, false, "constant", new Var[0], null);
    }

    /** The result of an op: recorded only when grad mode is on and some input needs a gradient. */
    private static Var result(String op, Tensor value, Backward backward, Var... inputs) {
        boolean needs = false;
        if (GradMode.enabled()) for (Var v : inputs) needs |= v.requiresGrad;
        return needs ? new Var(value, true, op, inputs, backward) : new Var(value, false, op, new Var[0], null);
    }

    public Tensor value() {
        return whole == null ? value : partOf(whole.value);
    }

    /** Replaces a parameter's value (loading weights); shape and dtype must match. */
    public void setValue(Tensor v) {
        Tensor now = value();
        if (!v.sameShape(now) || v.dtype() != now.dtype()) {
            throw new IllegalArgumentException("setValue: " + v + " does not match " + now);
        }
        if (whole == null) {
            value = v;
            return;
        }
        int rows = now.size(0), after = whole.value.size(0) - firstRow - rows;
        List<Tensor> parts = new ArrayList<>();
        if (firstRow > 0) parts.add(whole.value.narrow(0, 0, firstRow));
        parts.add(v);
        if (after > 0) parts.add(whole.value.narrow(0, firstRow + rows, after));
        whole.setValue(Tensor.concat(parts, 0));
    }

    /**
     * Replaces a parameter's value by its cast to {@code dtype} for good: a model that only
     * predicts under autocast to that type, whose products read the same bits either way. Not for
     * a parameter stored as rows of another ({@link #rows}): cast the whole.
     */
    public void keepAs(DType dtype) {
        if (whole != null) throw new IllegalStateException("keepAs: a parameter of rows " + firstRow + ".. of another; cast that one");
        value = value.cast(dtype);
    }

    /** The accumulated gradient, or null when none has arrived since the last {@link #zeroGrad()}. */
    public Tensor grad() {
        if (whole == null) return grad;
        return whole.grad == null ? null : partOf(whole.grad);
    }

    public void setGrad(Tensor g) {
        requireOwnGradient();
        grad = g;
    }

    public void zeroGrad() {
        requireOwnGradient();
        grad = null;
    }

    private void requireOwnGradient() {
        if (whole != null) throw new IllegalStateException("rows of " + whole + " have no gradient of their own: train the whole");
    }

    public boolean requiresGrad() {
        return requiresGrad;
    }

    public boolean isLeaf() {
        return backward == null;
    }

    public int[] shape() {
        return value.shape();
    }

    public int size(int d) {
        return value.size(d);
    }

    public int dim() {
        return value.dim();
    }

    public Backend backend() {
        return value.backend();
    }

    @Override
    public String toString() {
        return "Var(" + op + ", " + value + ")";
    }

    // ---- backward ---------------------------------------------------------------------------

    /** Backpropagates from a scalar with seed gradient 1. */
    public void backward() {
        if (value.numel() != 1) {
            throw new IllegalArgumentException("backward: output of " + op + " has shape " + Arrays.toString(value.shape())
                    + "; give a seed gradient for a non-scalar");
        }
        backward(value.backend().full(value.dtype(), value.shape(), 1.0));
    }

    public void backward(Tensor seed) {
        if (!seed.sameShape(value)) {
            throw new IllegalArgumentException("backward: seed gradient " + Arrays.toString(seed.shape()) + " does not match output "
                    + Arrays.toString(value.shape()) + " of " + op);
        }
        if (!requiresGrad) throw new IllegalStateException("backward: " + op + " output does not require a gradient");
        List<Var> order = topologicalOrder();
        for (Var node : order) {
            if (node.released) {
                // as torch: silently treating the freed op as a leaf would drop every gradient behind it
                throw new IllegalStateException("backward: the graph through " + node.op + " " + Arrays.toString(node.value.shape())
                        + " was freed by an earlier backward; run the forward again");
            }
        }
        try (GradientMemory memory = GradientMemory.open(value.backend())) {
            pending = collected(seed);
            memory.hold(pending);
            for (Var node : order) {
                Tensor g = node.pending;
                node.pending = null;
                if (g == null) continue;
                if (node.isLeaf()) {
                    node.grad = node.grad == null ? g : node.grad.add(g);
                    memory.keep(node.grad);
                } else {
                    try (Backend.Scope step = memory.nodeScope()) {
                        node.backward.apply(g);
                        for (Var v : memory.touched()) if (v.pending != null) step.keep(v.pending);
                        memory.keepEscaped(step);
                    }
                }
                memory.drop(g);
            }
        }
        for (Var node : order) {
            if (!node.isLeaf()) {
                node.backward = null;
                node.inputs = new Var[0];
                node.gelu = null;
                node.released = true;
            }
        }
    }

    /** The value as a product's operand of type {@code h}: the copy its producer wrote or the first product cast, else a cast now. */
    private Tensor operand(DType h) {
        if (value.dtype() == h) return value;
        if (halfCopy != null && halfCopy.dtype() == h) return halfCopy;
        Tensor cast = value.cast(h);
        if (!op.equals("parameter") && !op.equals("constant")) halfCopy = cast;
        return cast;
    }

    /** Lets the value, and the half copy its producer wrote for the next product, outlive {@code scope}. */
    public void keepIn(Backend.Scope scope) {
        scope.keep(value);
        if (halfCopy != null) scope.keep(halfCopy);
    }

    /**
     * The format a product writes this node's gradient in, {@code out} being its sums': a half
     * value's own, as torch.autocast's (attention's context, whose backward reads dO so), except
     * GELU's output, from whose float32 dY GELU's derivative makes the half gradient at its input.
     */
    private DType gradientFormat(DType out) {
        return value.dtype().isHalf() && !op.equals("linear_gelu") ? value.dtype() : out;
    }

    private Var withHalfCopy(Tensor copy) {
        halfCopy = copy;
        return this;
    }

    /** Adds {@code g} to the gradient flowing into this node during backward (ignored when it needs none). */
    private void accumulate(Tensor g) {
        if (!requiresGrad) return;
        addPending(collected(g));
    }

    /** g, a gradient at this node's value, as the gradient the node collects: at GELU's input for a linear_gelu (see {@link #gelu}). */
    private Tensor collected(Tensor g) {
        return gelu == null ? g : g.backend().geluBackward(gelu, g);
    }

    /**
     * Adds g·w, the gradient a Linear layer with weight w sends to its input, this node:
     * {@code accumulate(g.matmul(w, format))}, with GELU's derivative (at GELU's output) applied
     * inside the product ({@link Backend#matmulGeluBackward}), or the gradient collected so far
     * (a residual's) added inside it ({@link Backend#matmulAdd}).
     */
    private void accumulateProduct(Tensor g, Tensor w, DType format) {
        if (!requiresGrad) return;
        if (gelu != null) {
            if (format == value.dtype() || gelu.halfPre() != null) addPending(g.backend().matmulGeluBackward(g, w, gelu));
            else accumulate(g.matmul(w, format));
        } else if (pending != null && pending.dtype() == format && pending.dim() == g.dim() && pending.size(-1) == w.size(1)
                && Arrays.equals(pending.shape(), 0, g.dim() - 1, g.shape(), 0, g.dim() - 1)) {
            replacePending(g.backend().matmulAdd(g, w, pending));
        } else {
            accumulate(g.matmul(w, format));
        }
    }

    private void addPending(Tensor g) {
        replacePending(pending == null ? g : pending.add(g));
    }

    private void replacePending(Tensor next) {
        Tensor before = pending;
        pending = next;
        GradientMemory.replaced(this, before, pending);
    }

    /** Nodes reachable from this one, outputs before inputs. */
    private List<Var> topologicalOrder() {
        List<Var> post = new ArrayList<>();
        Set<Var> seen = Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[] {this, 0});
        seen.add(this);
        while (!stack.isEmpty()) {
            Object[] top = stack.peek();
            Var v = (Var) top[0];
            int i = (Integer) top[1];
            if (i < v.inputs.length) {
                top[1] = i + 1;
                Var in = v.inputs[i];
                if (in.requiresGrad && seen.add(in)) stack.push(new Object[] {in, 0});
            } else {
                stack.pop();
                post.add(v);
            }
        }
        Collections.reverse(post);
        return post;
    }

    // ---- recomputation ----------------------------------------------------------------------

    /**
     * f(x) without keeping what f computes on the way (activation checkpointing, HF's
     * gradient_checkpointing): the forward runs f without a graph, in a memory scope that keeps
     * only its output; the backward runs f once more, with a graph, from x's value and with the
     * random stream back where the forward had it (the same dropout masks) and the forward's
     * {@link Autocast} (the backward runs outside it), sends the gradient through that in a pass
     * of its own, and hands x its share. So one f's activations are alive
     * at a time, for one more forward of each. {@code parameters}: the leaves f reads, whose
     * gradients the second pass adds to; {@code position} and {@code seek} read and move the
     * random stream f draws from.
     */
    public static Var recomputed(Var x, UnaryOperator<Var> f, Collection<Var> parameters, LongSupplier position, LongConsumer seek) {
        long start = position.getAsLong();
        DType autocast = Autocast.operands();
        Var y;
        try (GradMode off = GradMode.off(); Backend.Scope scope = x.backend().openScope()) {
            y = f.apply(x);
            y.keepIn(scope);
        }
        Var[] inputs = new Var[parameters.size() + 1];
        inputs[0] = x;
        int i = 1;
        for (Var p : parameters) inputs[i++] = p;
        Tensor xValue = x.value, xHalf = x.halfCopy;
        return result("recomputed", y.value, g -> {
            long end = position.getAsLong();
            seek.accept(start);
            Var in = new Var(xValue, true, "recomputed_input", new Var[0], null).withHalfCopy(xHalf);
            Var again;
            try (GradMode on = GradMode.on(); Autocast products = Autocast.to(autocast)) {
                again = f.apply(in);
            } finally {
                seek.accept(end);
            }
            again.backward(g);
            for (Var p : parameters) if (p.grad != null) GradientMemory.escape(p.grad);
            if (in.grad != null) x.accumulate(in.grad);
        }, inputs).withHalfCopy(y.halfCopy);
    }

    // ---- pointwise --------------------------------------------------------------------------

    public Var add(Var o) {
        Tensor a = value, b = o.value;
        return result("add", a.add(b), g -> {
            accumulate(sumTo(g, a.shape()));
            o.accumulate(sumTo(g, b.shape()));
        }, this, o);
    }

    public Var sub(Var o) {
        Tensor a = value, b = o.value;
        return result("sub", a.sub(b), g -> {
            accumulate(sumTo(g, a.shape()));
            o.accumulate(sumTo(g.neg(), b.shape()));
        }, this, o);
    }

    public Var mul(Var o) {
        Tensor a = value, b = o.value;
        return result("mul", a.mul(b), g -> {
            if (requiresGrad) accumulate(sumTo(g.mul(b), a.shape()));
            if (o.requiresGrad) o.accumulate(sumTo(g.mul(a), b.shape()));
        }, this, o);
    }

    /** d(a/b)/da = 1/b, d(a/b)/db = −a/b² = −(a/b)/b. */
    public Var div(Var o) {
        Tensor a = value, b = o.value, q = a.div(b);
        return result("div", q, g -> {
            if (requiresGrad) accumulate(sumTo(g.div(b), a.shape()));
            if (o.requiresGrad) o.accumulate(sumTo(g.mul(q).div(b).neg(), b.shape()));
        }, this, o);
    }

    public Var add(double s) {
        return result("add_scalar", value.add(s), this::accumulate, this);
    }

    public Var mul(double s) {
        return result("mul_scalar", value.mul(s), g -> accumulate(g.mul(s)), this);
    }

    /** s − x. */
    public Var rsub(double s) {
        return result("rsub", value.scalarOp(Ops.Scalar.RSUB, s), g -> accumulate(g.neg()), this);
    }

    /** x^p; d/dx = p·x^(p−1). */
    public Var pow(double p) {
        Tensor x = value;
        return result("pow", x.scalarOp(Ops.Scalar.POW, p), g -> accumulate(g.mul(x.scalarOp(Ops.Scalar.POW, p - 1).mul(p))), this);
    }

    public Var neg() {
        return result("neg", value.neg(), g -> accumulate(g.neg()), this);
    }

    public Var exp() {
        Tensor y = value.exp();
        return result("exp", y, g -> accumulate(g.mul(y)), this);
    }

    public Var log() {
        Tensor x = value;
        return result("log", x.log(), g -> accumulate(g.div(x)), this);
    }

    /** d√x = 1/(2√x). */
    public Var sqrt() {
        Tensor y = value.sqrt();
        return result("sqrt", y, g -> accumulate(g.div(y).mul(0.5)), this);
    }

    /** d tanh = 1 − tanh². */
    public Var tanh() {
        Tensor y = value.tanh();
        return result("tanh", y, g -> accumulate(g.mul(y.mul(y).scalarOp(Ops.Scalar.RSUB, 1))), this);
    }

    /** Exact (erf) GELU, as Hugging Face's "gelu". */
    public Var gelu() {
        Tensor x = value;
        DType h = Autocast.operands();
        if (h == null) return result("gelu", x.gelu(), g -> accumulate(x.backend().geluBackward(x, g)), this);
        Backend.Copied<Tensor> y = x.backend().gelu(x, h);
        return result("gelu", y.out(), g -> accumulate(x.backend().geluBackward(x, g)), this).withHalfCopy(y.copy());
    }

    // ---- reductions -------------------------------------------------------------------------

    public Var sum(int... axes) {
        return reduceOp(Ops.Reduce.SUM, false, axes);
    }

    public Var mean(int... axes) {
        return reduceOp(Ops.Reduce.MEAN, false, axes);
    }

    public Var max(int... axes) {
        return reduceOp(Ops.Reduce.MAX, false, axes);
    }

    /**
     * Sum and mean spread the gradient evenly; max sends it to the maxima (split between ties,
     * as torch.amax does).
     */
    public Var reduceOp(Ops.Reduce kind, boolean keepDims, int... axes) {
        Tensor x = value;
        int[] ax = x.normalizeAxes(axes);
        Tensor y = x.reduce(kind, keepDims, ax);
        return result(kind.name().toLowerCase(), y, g -> {
            Tensor gk = keepDimsOf(g, x.dim(), ax);
            Tensor spread = switch (kind) {
                case SUM -> gk.expand(x.shape());
                case MEAN -> gk.mul(reducedCount(x, ax) == 0 ? 0 : 1.0 / reducedCount(x, ax)).expand(x.shape());
                case MAX -> {
                    Tensor hit = x.binary(Ops.Binary.EQ, keepDimsOf(y, x.dim(), ax));
                    Tensor ties = hit.reduce(Ops.Reduce.SUM, true, ax);
                    yield hit.mul(gk.div(ties));
                }
            };
            accumulate(spread.contiguous());
        }, this);
    }

    private static int reducedCount(Tensor x, int[] axes) {
        int n = 1;
        for (int a : axes) n *= x.size(a);
        return n;
    }

    /** Re-inserts reduced axes as size 1 (a no-op when they were kept). */
    private static Tensor keepDimsOf(Tensor t, int rank, int[] axes) {
        if (t.dim() == rank) return t;
        for (int a : axes) t = t.unsqueeze(a);
        return t;
    }

    /** Sums a broadcast gradient back to the operand's shape. */
    static Tensor sumTo(Tensor g, int[] shape) {
        int[] gs = g.shape();
        if (Arrays.equals(gs, shape)) return g;
        int lead = gs.length - shape.length;
        int[] axes = new int[gs.length];
        int n = 0;
        for (int d = 0; d < gs.length; d++) {
            if (d < lead || (shape[d - lead] == 1 && gs[d] != 1)) axes[n++] = d;
        }
        Tensor s = n == 0 ? g : g.reduce(Ops.Reduce.SUM, true, Arrays.copyOf(axes, n));
        return s.reshape(shape);
    }

    // ---- views ------------------------------------------------------------------------------

    public Var reshape(int... shape) {
        int[] in = value.shape();
        return result("reshape", value.reshape(shape), g -> accumulate(g.reshape(in)), this);
    }

    public Var transpose(int d0, int d1) {
        return result("transpose", value.transpose(d0, d1), g -> accumulate(g.transpose(d0, d1)), this);
    }

    public Var permute(int... perm) {
        int[] inverse = new int[perm.length];
        for (int i = 0; i < perm.length; i++) inverse[value.axis(perm[i])] = i;
        return result("permute", value.permute(perm), g -> accumulate(g.permute(inverse)), this);
    }

    /** The slice [start, start+length) of axis d; its gradient lands in a zero tensor of the input's shape. */
    public Var narrow(int d, int start, int length) {
        Tensor x = value;
        int a = x.axis(d);
        return result("narrow", x.narrow(a, start, length), g -> {
            Tensor full = x.backend().zeros(x.dtype(), x.shape());
            x.backend().copyInPlace(full.narrow(a, start, length), g);
            accumulate(full);
        }, this);
    }

    public Var select(int d, int i) {
        int a = value.axis(d);
        return narrow(a, i, 1).reshape(dropAxis(value.shape(), a));
    }

    /**
     * The inverse of {@link #select}: this as index i of a new axis d of length n, zeros at the
     * other indices; the gradient is that index's slice of the output's gradient.
     */
    public Var placedAt(int d, int i, int n) {
        Tensor x = value;
        if (d < 0 || d > x.dim() || i < 0 || i >= n) {
            throw new IllegalArgumentException("placed_at: index " + i + " of a new axis " + d + " of length " + n + " for " + x);
        }
        int[] shape = new int[x.dim() + 1];
        for (int a = 0, j = 0; a < shape.length; a++) shape[a] = a == d ? n : x.size(j++);
        Tensor out = x.backend().zeros(x.dtype(), shape);
        x.backend().copyInPlace(out.select(d, i), x);
        return result("placed_at", out, g -> accumulate(g.select(d, i).contiguous()), this);
    }

    private static int[] dropAxis(int[] shape, int a) {
        int[] out = new int[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) if (i != a) out[j++] = shape[i];
        return out;
    }

    public Var unsqueeze(int d) {
        int[] in = value.shape();
        return result("unsqueeze", value.unsqueeze(d), g -> accumulate(g.reshape(in)), this);
    }

    public Var expand(int... shape) {
        int[] in = value.shape();
        return result("expand", value.expand(shape), g -> accumulate(sumTo(g, in)), this);
    }

    public Var contiguous() {
        return result("contiguous", value.contiguous(), this::accumulate, this);
    }

    public static Var concat(List<Var> parts, int d) {
        List<Tensor> values = new ArrayList<>();
        for (Var p : parts) values.add(p.value);
        Tensor out = Tensor.concat(values, d);
        int axis = out.axis(d);
        return result("concat", out, g -> {
            int start = 0;
            for (Var p : parts) {
                int len = p.value.size(axis);
                p.accumulate(g.narrow(axis, start, len));
                start += len;
            }
        }, parts.toArray(new Var[0]));
    }

    public List<Var> split(int d, int... sizes) {
        List<Var> out = new ArrayList<>();
        int start = 0;
        for (int s : sizes) {
            out.add(narrow(d, start, s));
            start += s;
        }
        if (start != value.size(d)) {
            throw new IllegalArgumentException("split: sizes " + Arrays.toString(sizes) + " do not add up to " + value.size(d));
        }
        return out;
    }

    // ---- linear algebra ---------------------------------------------------------------------

    /**
     * a[..., M, K] · b[..., K, N] (b may be 2-D and shared): da = g · bᵀ, db = aᵀ · g, summed over
     * the batch when b is shared. The transposes are views; the backend reads them in place.
     */
    public Var matmul(Var o) {
        DType h = Autocast.operands(), out = value.dtype();
        Tensor a = operandOrValue(this, h), b = operandOrValue(o, h);
        return result("matmul", a.matmul(b, out), gOut -> {
            Tensor g = operandOf(gOut, a);
            if (requiresGrad) accumulate(g.matmul(b.transpose(-1, -2), out));
            if (o.requiresGrad) {
                if (b.dim() == 2 && a.dim() > 2) {
                    Tensor a2 = a.reshape(-1, a.size(-1)), g2 = g.reshape(-1, g.size(-1));
                    o.accumulate(a2.transpose(0, 1).matmul(g2, out));
                } else {
                    o.accumulate(a.transpose(-1, -2).matmul(g, out));
                }
            }
        }, this, o);
    }

    /** An output gradient as an operand of the backward's products: rounded to the forward's operand type under autocast. */
    private static Tensor operandOf(Tensor g, Tensor forwardOperand) {
        return g.dtype() == forwardOperand.dtype() ? g : g.cast(forwardOperand.dtype());
    }

    /**
     * x · Wᵀ + b with W as [out, in], the layout of torch.nn.Linear and HF checkpoints, as one node
     * (the backend adds b into the product's output): dx = g·W, dW = gᵀ·x over all rows of x,
     * db = g summed over all rows.
     */
    public Var linear(Var weight, Var bias) {
        Var[] inputs = bias == null ? new Var[] {this, weight} : new Var[] {this, weight, bias};
        DType h = Autocast.operands();
        Tensor b = bias == null ? null : bias.value;
        if (h != null) {
            Tensor x = operand(h), w = Autocast.parameter(weight.value);
            return result("linear", x.backend().linear(x, w, b, DType.F32), g -> linearBackward(g, x, w, weight, bias), inputs);
        }
        Tensor x = value, w = weight.value;
        return result("linear", x.linear(w, b), g -> linearBackward(g, x, w, weight, bias), inputs);
    }

    /**
     * {@link #linear}, whose result under autocast is rounded to the products' type, as
     * torch.autocast's linear returns it: for a result that only products read (attention's Q, K
     * and V), so no float32 copy of it is kept. Outside autocast, {@link #linear} itself.
     */
    public Var linearOperand(Var weight, Var bias) {
        DType h = Autocast.operands();
        if (h == null) return linear(weight, bias);
        Var[] inputs = bias == null ? new Var[] {this, weight} : new Var[] {this, weight, bias};
        Tensor x = operand(h), w = Autocast.parameter(weight.value);
        return result("linear", x.linear(w, bias == null ? null : Autocast.parameter(bias.value)), g -> linearBackward(g, x, w, weight, bias), inputs);
    }

    /**
     * {@link #linearOperand} of a fused Q/K/V weight [3·H, H] (its first {@code queryFeatures} = H
     * rows the query's) for a self-attention asked only at position 0 ([CLS]): x [B, T, H] → [B, T, 3·H]
     * with the key and value columns at every position, the query columns at position 0 alone and
     * zeros at the others, which attention never reads ({@link #packedAttention} with one query row).
     * Each column of a product is its own chain, so the computed ones are the full product's bits.
     * The backward is the full linear's, on a gradient whose query columns are zero outside
     * position 0 exactly as the full layer's are there: dx, dW and db are the full layer's bits.
     */
    public Var linearFirstQuery(Var weight, Var bias, int queryFeatures) {
        DType h = Autocast.operands();
        Tensor x = operandOrValue(this, h), w = h == null ? weight.value : Autocast.parameter(weight.value);
        Tensor b = bias == null ? null : h == null ? bias.value : Autocast.parameter(bias.value);
        int n = w.size(0), kv = n - queryFeatures;
        if (x.dim() != 3 || queryFeatures <= 0 || kv <= 0) {
            throw new IllegalArgumentException("linear_first_query: input " + Arrays.toString(x.shape()) + " must be [B, T, H] and "
                    + queryFeatures + " query rows fewer than the weight's " + n);
        }
        Tensor keysValues = x.linear(w.narrow(0, queryFeatures, kv), b == null ? null : b.narrow(0, queryFeatures, kv));
        Tensor query = x.select(1, 0).contiguous().linear(w.narrow(0, 0, queryFeatures), b == null ? null : b.narrow(0, 0, queryFeatures));
        Backend be = x.backend();
        Tensor out = be.zeros(keysValues.dtype(), x.size(0), x.size(1), n);
        be.copyInPlace(out.narrow(2, queryFeatures, kv), keysValues);
        be.copyInPlace(out.select(1, 0).narrow(1, 0, queryFeatures), query);
        Var[] inputs = bias == null ? new Var[] {this, weight} : new Var[] {this, weight, bias};
        return result("linear_first_query", out, g -> linearBackward(g, x, w, weight, bias), inputs);
    }

    /**
     * GELU(x · Wᵀ + b), the feed-forward expansion, as one node: the backend adds b and applies the
     * exact GELU in one pass over the product, and keeps for the backward either the product (GELU'
     * is taken again of product + b) or GELU' itself ({@link Backend.GeluSaved}), so no tensor holds
     * the pre-activation.
     */
    public Var linearGelu(Var weight, Var bias) {
        Tensor b = bias.value;
        if (b.dim() != 1 || b.size(0) != weight.value.size(0) || b.dtype() != value.dtype() || b.backend() != value.backend()) {
            throw new IllegalArgumentException("linear_gelu: bias " + b + " must be [" + weight.value.size(0) + "] " + value.dtype() + " on "
                    + value.backend().name());
        }
        Backend be = value.backend();
        DType h = Autocast.operands();
        boolean differentiated = GradMode.enabled() && (requiresGrad || weight.requiresGrad || bias.requiresGrad);
        if (h != null) {
            // As torch.autocast: the product plus bias rounded to h (GELU's saved input), GELU in float32
            // rounded to h for the next Linear; only these two [B, T, I] halves are kept. The gradient
            // arrives at GELU's input, in h (see gelu): the operand of the two products and of the bias
            // gradient's sum, which the next Linear's input-gradient product writes so
            Tensor x = operand(h), w = Autocast.parameter(weight.value);
            Backend.HalfLinearGelu out = be.halfLinearGelu(x, w, Autocast.parameter(bias.value), differentiated);
            Var y = result("linear_gelu", out.y(), dPre -> linearBackward(dPre, x, w, weight, bias), this, weight, bias);
            if (y.requiresGrad) y.gelu = Backend.GeluSaved.ofHalfPre(out.pre());
            return y;
        }
        Tensor x = value, w = weight.value;
        Backend.LinearGelu out = be.linearGelu(x, w, b, differentiated);
        // the gradient arrives at GELU's input (see gelu)
        Var y = result("linear_gelu", out.y(), dPre -> linearBackward(dPre, x, w, weight, bias), this, weight, bias);
        if (y.requiresGrad) y.gelu = out.saved();
        return y;
    }

    /**
     * dx = g·W, dW = gᵀ·x over all rows of x, db = g summed over all rows, for g the gradient of
     * x · Wᵀ + b. Under autocast x and W are the forward's BF16/F16 operands and g is rounded to
     * their type, as torch.autocast's Linear sees it: the operand of the two products and of db's
     * sum (taken in float32), which the weight-gradient product takes from the tiles it reads.
     * Every sum and gradient stays float32; the producer of a half gOut (GELU's, the residual
     * LayerNorm's and attention's backward kernels) writes no float32 form of it at all.
     */
    private void linearBackward(Tensor gOut, Tensor x, Tensor w, Var weight, Var bias) {
        Tensor g = operandOf(gOut, x);
        // a half g still gives float32 dx and parameter gradients
        DType out = gOut.dtype().isHalf() ? DType.F32 : gOut.dtype();
        accumulateProduct(g, w, gradientFormat(out));
        boolean biasGrad = bias != null && bias.requiresGrad;
        if (weight.requiresGrad) {
            Tensor x2 = x.reshape(-1, x.size(-1)), g2 = g.reshape(-1, g.size(-1));
            if (biasGrad) { // both from one read of dY where the backend can
                Backend.LinearGrads d = g2.backend().linearGrads(g2, x2, out);
                weight.accumulate(d.weight());
                bias.accumulate(d.bias().reshape(bias.shape()));
                return;
            }
            weight.accumulate(g2.transpose(0, 1).matmul(x2, out));
        }
        if (biasGrad) bias.accumulate(sumTo(g.dtype() == out ? g : g.cast(out), bias.shape()));
    }

    // ---- normalisation, activations over the last axis --------------------------------------

    public Var softmax() {
        Tensor y = value.softmax();
        return result("softmax", y, g -> accumulate(y.backend().softmaxBackward(y, g)), this);
    }

    public Var logSoftmax() {
        Tensor y = value.logSoftmax();
        return result("log_softmax", y, g -> accumulate(y.backend().logSoftmaxBackward(y, g)), this);
    }

    /** LayerNorm over the last axis with learned γ (weight) and β (bias). */
    public Var layerNorm(Var gamma, Var beta, double eps) {
        Tensor x = value;
        int h = x.size(-1);
        if (gamma.dim() != 1 || gamma.size(0) != h || beta.dim() != 1 || beta.size(0) != h) {
            throw new IllegalArgumentException("layer_norm: weight " + Arrays.toString(gamma.shape()) + " and bias "
                    + Arrays.toString(beta.shape()) + " must be [" + h + "] for input " + Arrays.toString(x.shape()));
        }
        DType half = Autocast.operands();
        Backend.Copied<Backend.LayerNormOut> normed = half == null ? new Backend.Copied<>(x.backend().layerNorm(x, gamma.value, beta.value, eps), null)
                : x.backend().layerNorm(x, gamma.value, beta.value, eps, half);
        Backend.LayerNormOut out = normed.out();
        return result("layer_norm", out.y(), g -> {
            Backend.LayerNormGrads d = x.backend().layerNormBackward(g, x, gamma.value, out.mean(), out.rstd());
            accumulate(d.dx());
            gamma.accumulate(d.dgamma());
            beta.accumulate(d.dbeta());
        }, this, gamma, beta).withHalfCopy(normed.copy());
    }

    /**
     * LayerNorm(dropout(this) + residual) over the last axis, the end of each BERT residual block,
     * as one node: the mask is {@link #dropout}'s for (p, seed, offset), p = 0 for none. The backward
     * sends LayerNorm's input gradient to the residual and that times the mask to this.
     */
    public Var dropoutAddLayerNorm(Var residual, Var gamma, Var beta, double eps, double p, long seed, long offset) {
        Backend be = value.backend();
        Backend.Copied<Backend.ResidualNormOut> normed = residualNorm("dropout_add_layer_norm", value, residual, gamma, beta, eps, p, seed,
                offset, Autocast.operands());
        Backend.ResidualNormOut out = normed.out();
        return result("dropout_add_layer_norm", out.y(), g -> {
            Backend.ResidualNormGrads d = be.dropoutAddLayerNormBackward(g, out, gamma.value, p, seed, offset);
            accumulate(d.dx());
            residual.accumulate(d.dresidual());
            gamma.accumulate(d.dgamma());
            beta.accumulate(d.dbeta());
        }, this, residual, gamma, beta).withHalfCopy(normed.copy());
    }

    /**
     * LayerNorm(dropout(this · Wᵀ + b) + residual), {@link #linear} then {@link #dropoutAddLayerNorm},
     * as one node whose product lives only inside its forward (an inner memory scope): neither
     * backward reads it (the Linear's needs its input and weight, the LayerNorm's its sum and
     * statistics), so a step keeps no float32 [B, T, H] product per residual block. Under autocast
     * the product is written in the operands' format, as torch.autocast's Linear returns it, and
     * the fused op reads it so and writes the half copy of y the next Linear reads.
     */
    public Var linearDropoutAddLayerNorm(Var weight, Var bias, Var residual, Var gamma, Var beta, double eps, double p, long seed,
                                         long offset) {
        DType h = Autocast.operands();
        Tensor x = operandOrValue(this, h), w = h == null ? weight.value : Autocast.parameter(weight.value);
        Backend be = x.backend();
        Backend.Copied<Backend.ResidualNormOut> normed;
        try (Backend.Scope product = be.openScope()) {
            Tensor b = bias == null ? null : h == null ? bias.value : Autocast.parameter(bias.value);
            normed = residualNorm("linear_dropout_add_layer_norm", x.linear(w, b), residual, gamma, beta, eps, p, seed, offset, h);
            Backend.ResidualNormOut o = normed.out();
            for (Tensor t : new Tensor[] {o.y(), o.sum(), o.mean(), o.rstd(), o.dropoutBits(), normed.copy()}) if (t != null) product.keep(t);
        }
        Backend.ResidualNormOut out = normed.out();
        Var[] inputs = bias == null ? new Var[] {this, weight, residual, gamma, beta} : new Var[] {this, weight, bias, residual, gamma, beta};
        return result("linear_dropout_add_layer_norm", out.y(), g -> {
            // under autocast the kernel writes dx in h only, the operand of the Linear's products
            Backend.ResidualNormGrads d = h == null ? be.dropoutAddLayerNormBackward(g, out, gamma.value, p, seed, offset)
                    : be.dropoutAddLayerNormBackward(g, out, gamma.value, p, seed, offset, h);
            linearBackward(d.dx(), x, w, weight, bias);
            residual.accumulate(d.dresidual());
            gamma.accumulate(d.dgamma());
            beta.accumulate(d.dbeta());
        }, inputs).withHalfCopy(normed.copy());
    }

    /**
     * The checked forward of LayerNorm(dropout(x) + residual) that {@code op} runs; with y's copy in
     * {@code half} under autocast (null: none), x then float32 or already in that format.
     */
    private static Backend.Copied<Backend.ResidualNormOut> residualNorm(String op, Tensor x, Var residual, Var gamma, Var beta, double eps,
                                                                       double p, long seed, long offset, DType half) {
        int h = x.size(-1);
        if (!x.sameShape(residual.value) || (x.dtype() != residual.value.dtype() && (half == null || x.dtype() != half))) {
            throw new IllegalArgumentException(op + ": input " + x + " and residual " + residual.value + " must have one shape and dtype");
        }
        if (gamma.dim() != 1 || gamma.size(0) != h || beta.dim() != 1 || beta.size(0) != h) {
            throw new IllegalArgumentException(op + ": weight " + Arrays.toString(gamma.shape()) + " and bias "
                    + Arrays.toString(beta.shape()) + " must be [" + h + "] for input " + Arrays.toString(x.shape()));
        }
        if (p < 0 || p >= 1) throw new IllegalArgumentException(op + ": p must be in [0, 1), got " + p);
        Backend be = x.backend();
        if (half == null) return new Backend.Copied<>(be.dropoutAddLayerNorm(x, residual.value, gamma.value, beta.value, eps, p, seed, offset), null);
        return be.dropoutAddLayerNorm(x, residual.value, gamma.value, beta.value, eps, p, seed, offset, half);
    }

    /**
     * Inverted dropout: in training each element is zeroed with probability p and the rest
     * scaled by 1/(1−p); the mask comes from Philox(seed, offset), so it is the same on every
     * device and thread count. Identity when not training or p = 0.
     */
    public Var dropout(double p, boolean training, long seed, long offset) {
        if (p < 0 || p >= 1) throw new IllegalArgumentException("dropout: p must be in [0, 1), got " + p);
        if (!training || p == 0) return this;
        Tensor mask = value.backend().dropoutMask(value.dtype(), value.shape(), p, seed, offset);
        DType h = Autocast.operands();
        if (h == null || value.dtype() != DType.F32) return result("dropout", value.mul(mask), g -> accumulate(g.mul(mask)), this);
        Backend.Copied<Tensor> y = value.backend().mul(value, mask, h);    // with the copy the next Linear reads
        return result("dropout", y.out(), g -> accumulate(g.mul(mask)), this).withHalfCopy(y.copy());
    }

    /**
     * Fused multi-head attention: softmax(q·kᵀ·scale + mask)·v over q, k, v [B, NH, T, HS] with an
     * additive key mask [B, T] (a constant), and dropout p on the probabilities in training.
     * The probabilities are never kept: the backward recomputes them from the log-sum-exp.
     * q may hold the first Tq ≤ T query positions only, as {@link Backend#attention} allows.
     */
    public static Var attention(Var q, Var k, Var v, Tensor mask, double scale, double dropoutP, boolean training, long seed,
                                long offset) {
        DType h = Autocast.operands();
        Tensor qt = operandOrValue(q, h), kt = operandOrValue(k, h), vt = operandOrValue(v, h);
        return attention(qt, kt, vt, mask, scale, dropoutP, training, seed, offset, false, (g, out, p) -> {
            Backend.AttentionGrads d = qt.backend().attentionBackward(g, qt, kt, vt, mask, out, scale, p, seed, offset);
            q.accumulate(d.dq());
            k.accumulate(d.dk());
            v.accumulate(d.dv());
        }, q, k, v);
    }

    /**
     * {@link #attention} of the heads packed in one [B, T, 3·H] product of a fused Q/K/V linear,
     * H = {@code heads}·HS, query features first, then key, then value (the order of
     * torch.cat([Wq, Wk, Wv])): q, k and v are views of it, and the three gradients go back as
     * one [B, T, 3·H] tensor, written once, for the one backward GEMM of that linear. Only the first
     * {@code queryRows} positions ask (T: all; 1: the [CLS] rows of {@link #linearFirstQuery}): the
     * result is [B, NH, queryRows, HS], and the query gradient is zero at the other positions.
     * Under autocast, with the packed heads a half product ({@link #linearOperand}), the result is
     * in that format too, as torch.autocast's attention returns it (only products read it), and so
     * is the packed gradient, the operand of that product's backward: the backend's kernels write
     * them so, instead of float32 that a cast then rounds.
     */
    public static Var packedAttention(Var qkv, int heads, int queryRows, Tensor mask, double scale, double dropoutP, boolean training,
                                      long seed, long offset) {
        Tensor x = operandOrValue(qkv, Autocast.operands());
        if (x.dim() != 3 || x.size(2) % (3 * heads) != 0) {
            throw new IllegalArgumentException("packed attention: " + Arrays.toString(x.shape()) + " must be [B, T, 3·" + heads + "·HS]");
        }
        int b = x.size(0), t = x.size(1), hs = x.size(2) / (3 * heads);
        if (queryRows <= 0 || queryRows > t) throw new IllegalArgumentException("packed attention: " + queryRows + " query rows of " + t);
        Tensor split = x.reshape(b, t, 3, heads, hs).permute(2, 0, 3, 1, 4);   // [3, B, NH, T, HS], views
        boolean half = Autocast.operands() != null && x == qkv.value;
        Tensor q = split.select(0, 0).narrow(2, 0, queryRows), k = split.select(0, 1), v = split.select(0, 2);
        return attention(q, k, v, mask, scale, dropoutP, training, seed, offset, half,
                (g, out, p) -> qkv.accumulate(x.backend().packedAttentionBackward(g, q, k, v, mask, out, scale, p, seed, offset, half)),
                qkv);
    }

    /**
     * What a product reads of {@code x}: its value, or under autocast ({@code h} not null) its
     * operand in h (attention's products, matmul, a Linear's input), the sums still float32.
     */
    private static Tensor operandOrValue(Var x, DType h) {
        return h == null ? x.value : x.operand(h);
    }

    private static Var attention(Tensor qt, Tensor kt, Tensor vt, Tensor mask, double scale, double dropoutP, boolean training, long seed,
                                 long offset, boolean half, AttentionBackward backward, Var... inputs) {
        if (qt.dim() != 4 || kt.dim() != 4 || !kt.sameShape(vt) || qt.size(0) != kt.size(0) || qt.size(1) != kt.size(1)
                || qt.size(2) > kt.size(2) || qt.size(3) != kt.size(3) || mask.dim() != 2 || mask.size(0) != qt.size(0)
                || mask.size(1) != kt.size(2)) {
            throw new IllegalArgumentException("attention: q " + Arrays.toString(qt.shape()) + ", k " + Arrays.toString(kt.shape())
                    + ", v " + Arrays.toString(vt.shape()) + " must be [B, NH, Tq ≤ T, HS] and equal [B, NH, T, HS], mask "
                    + Arrays.toString(mask.shape()) + " [B, T]");
        }
        DType scores = qt.dtype().isHalf() ? DType.F32 : qt.dtype();   // half-precision heads' scores are float32
        if (mask.dtype() != scores) throw new IllegalArgumentException("attention: mask dtype " + mask.dtype() + " differs from " + scores);
        double p = training ? dropoutP : 0;
        Backend be = qt.backend();
        Backend.AttentionOut out = half ? be.attentionHalfOut(qt, kt, vt, mask, scale, p, seed, offset)
                : be.attention(qt, kt, vt, mask, scale, p, seed, offset);
        return result("attention", out.out(), g -> backward.run(g, out, p), inputs);
    }

    /** What the backward of an attention node does with the output's gradient g: its forward's result and dropout p at hand. */
    private interface AttentionBackward {
        void run(Tensor g, Backend.AttentionOut forward, double dropoutP);
    }

    // ---- indexing and losses ----------------------------------------------------------------

    /** Rows of {@code weight} [V, H] at integer {@code ids}; the gradient scatter-adds into the rows used. */
    public static Var embedding(Var weight, Tensor ids) {
        if (weight.dim() != 2) throw new IllegalArgumentException("embedding: weight must be [vocab, hidden], got "
                + Arrays.toString(weight.shape()));
        if (ids.dtype() != DType.I32) throw new IllegalArgumentException("embedding: ids must be I32, got " + ids.dtype());
        Tensor w = weight.value;
        return result("embedding", w.backend().embedding(w, ids),
                g -> weight.accumulate(w.backend().embeddingBackward(ids, g, w.size(0))), weight);
    }

    /** Mean squared error against a float target of the same shape (torch's mse_loss, reduction "mean"). */
    public Var mseLoss(Tensor target) {
        requireSameShape("mse_loss", target);
        Var diff = sub(constant(target));
        return diff.mul(diff).mean();
    }

    /**
     * Mean binary cross-entropy of logits x against targets y in [0, 1], over every element (torch's
     * binary_cross_entropy_with_logits): max(x, 0) − x·y + log(1 + e^−|x|), which never exponentiates a
     * large positive number. d/dx = σ(x) − y, with σ(x) = (1 + tanh(x/2)) / 2, which is finite everywhere.
     */
    public Var bceWithLogits(Tensor target) {
        requireSameShape("binary_cross_entropy_with_logits", target);
        Tensor x = value;
        Tensor positivePart = x.add(x.unary(Ops.Unary.ABS)).mul(0.5);
        Tensor softplusOfMinusAbs = x.unary(Ops.Unary.ABS).neg().exp().add(1).log();
        Tensor loss = positivePart.sub(x.mul(target)).add(softplusOfMinusAbs).mean();
        double n = x.numel();
        return result("binary_cross_entropy_with_logits", loss, g -> {
            Tensor sigmoid = x.mul(0.5).tanh().add(1).mul(0.5);
            accumulate(sigmoid.sub(target).mul(g.mul(1 / n)));
        }, this);
    }

    private void requireSameShape(String op, Tensor target) {
        if (!target.sameShape(value)) {
            throw new IllegalArgumentException(op + ": input " + Arrays.toString(value.shape()) + " and target "
                    + Arrays.toString(target.shape()) + " must have the same shape");
        }
        if (!target.dtype().isFloating()) throw new IllegalArgumentException(op + ": target must be floating point, got " + target.dtype());
    }

    /** Mean cross-entropy of logits [N, C] against labels [N]; rows labelled ignoreIndex count for nothing. */
    public Var crossEntropy(Tensor labels, int ignoreIndex) {
        return crossEntropy(labels, ignoreIndex, 0);
    }

    /**
     * The same against targets smoothed by ε: 1 − ε on the label plus ε/C on each of the C classes,
     * torch's {@code cross_entropy(label_smoothing=ε)}. Per row, lse(x) − (1 − ε)·x_label − ε·mean(x).
     */
    public Var crossEntropy(Tensor labels, int ignoreIndex, double smoothing) {
        if (!(smoothing >= 0 && smoothing <= 1)) throw new IllegalArgumentException("cross_entropy: label smoothing must be in [0, 1], got " + smoothing);
        Tensor logits = value;
        if (logits.dim() != 2 || labels.dim() != 1 || labels.size(0) != logits.size(0)) {
            throw new IllegalArgumentException("cross_entropy: logits " + Arrays.toString(logits.shape()) + " and labels "
                    + Arrays.toString(labels.shape()) + " must be [N, C] and [N]");
        }
        if (labels.dtype() != DType.I32) throw new IllegalArgumentException("cross_entropy: labels must be I32, got " + labels.dtype());
        Tensor loss = logits.backend().crossEntropy(logits, labels, ignoreIndex, smoothing);
        return result("cross_entropy", loss,
                g -> accumulate(logits.backend().crossEntropyBackward(logits, labels, ignoreIndex, smoothing, g)), this);
    }
}
