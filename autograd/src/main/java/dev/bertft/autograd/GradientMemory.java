package dev.bertft.autograd;

import dev.bertft.tensor.Backend;
import dev.bertft.tensor.Storage;
import dev.bertft.tensor.Tensor;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The memory of one backward pass on a device backend. A gradient on its way through the graph
 * is freed as soon as no node waits for it any more, as PyTorch's reference counts free it,
 * rather than when the step ends: otherwise a step's peak holds a gradient for every activation.
 *
 * <p>During a pass, gradients live only in the nodes' pending slots and in the leaves' grads. So
 * this counts, per storage (views of a gradient share one), the pending slots that hold it, and
 * frees the storage through the pass's memory scope when the count falls to zero. The scope frees
 * only what was made during the pass, so a seed or any older tensor is never touched, and a
 * leaf's grad is kept beyond the pass. Each node's backward also runs in a scope of its own: its
 * temporaries go when it returns, the gradients it passes on are kept. On the CPU, whose scopes
 * do nothing, this only counts.
 *
 * <p>A node's backward may run a pass of its own ({@link Var#recomputed}): that pass's memory nests
 * in the node's, and the leaf gradients it adds to are handed out ({@link #escape}) to outlive the
 * node's scope and the enclosing pass, as the enclosing pass's own leaf gradients do.
 */
final class GradientMemory implements AutoCloseable {
    private static final ThreadLocal<GradientMemory> ACTIVE = new ThreadLocal<>();

    private final GradientMemory enclosing;
    private final Backend backend;
    private final Backend.Scope pass;
    private final Map<Storage, Integer> holders = new IdentityHashMap<>();
    /** Nodes whose pending gradient changed during the node backward that runs now. */
    private final List<Var> touched = new ArrayList<>();
    /** Leaf gradients a pass nested in the node backward that runs now added to. */
    private final List<Tensor> escaping = new ArrayList<>();

    private GradientMemory(Backend backend, GradientMemory enclosing) {
        this.backend = backend;
        this.enclosing = enclosing;
        this.pass = backend.openScope();
    }

    static GradientMemory open(Backend backend) {
        GradientMemory m = new GradientMemory(backend, ACTIVE.get());
        ACTIVE.set(m);
        return m;
    }

    /** A leaf gradient made by a pass nested in a node's backward: it outlives the node and the pass around it. */
    static void escape(Tensor grad) {
        GradientMemory m = ACTIVE.get();
        if (m != null) m.escaping.add(grad);
    }

    /** A pending slot of {@code node} went from {@code before} (or none) to {@code after}. */
    static void replaced(Var node, Tensor before, Tensor after) {
        GradientMemory m = ACTIVE.get();
        if (m == null) return;
        m.touched.add(node);
        m.hold(after);
        if (before != null) m.drop(before);
    }

    void hold(Tensor t) {
        holders.merge(t.storage(), 1, Integer::sum);
    }

    /** One pending slot no longer holds {@code t}; the last one to let go frees it. */
    void drop(Tensor t) {
        int left = holders.merge(t.storage(), -1, Integer::sum);
        if (left == 0) {
            holders.remove(t.storage());
            pass.release(t);
        }
    }

    /** A leaf's grad, which outlives the pass. */
    void keep(Tensor grad) {
        pass.keep(grad);
    }

    /** The scope one node's backward runs in; it starts a new list of touched nodes. */
    Backend.Scope nodeScope() {
        touched.clear();
        escaping.clear();
        return backend.openScope();
    }

    List<Var> touched() {
        return touched;
    }

    /** Keeps, beyond {@code node} (the scope of the node backward that just ran) and this pass, the leaf gradients it escaped. */
    void keepEscaped(Backend.Scope node) {
        for (Tensor g : escaping) {
            node.keep(g);
            pass.keep(g);
        }
        escaping.clear();
    }

    @Override
    public void close() {
        if (enclosing == null) ACTIVE.remove();
        else ACTIVE.set(enclosing);
        pass.close();
    }
}
