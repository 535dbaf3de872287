package dev.bertft.tensor;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The memory scopes of one backend ({@link Backend#openScope}), for any kind of allocation {@code A}
 * (a device block, a heap array): each thread's innermost open scope owns what is made on that thread;
 * {@code keep} hands an allocation to the enclosing scope, or out of all scopes; {@code release} and
 * {@code close} free what the scope, or one open inside it, still owns.
 */
public final class MemoryScopes<A> {
    private final Function<Tensor, A> allocationOf;
    private final Consumer<A> free;
    private final Consumer<A> leftAllScopes;
    /** The innermost open scope of each thread. */
    private final ThreadLocal<Scope> innermost = new ThreadLocal<>();

    /**
     * {@code allocationOf}: a tensor's allocation, after checking the tensor is the backend's;
     * {@code free}: gives an allocation back (at most once); {@code leftAllScopes}: told when the
     * outermost scope keeps an allocation, which from then on only the garbage collector frees.
     */
    public MemoryScopes(Function<Tensor, A> allocationOf, Consumer<A> free, Consumer<A> leftAllScopes) {
        this.allocationOf = allocationOf;
        this.free = free;
        this.leftAllScopes = leftAllScopes;
    }

    /** Records a new allocation as the calling thread's innermost scope's; false when no scope is open there. */
    public boolean made(A allocation) {
        Scope s = innermost.get();
        if (s == null) return false;
        s.made.add(allocation);
        return true;
    }

    /** Takes an allocation out of the calling thread's scopes, as if it had been made outside them all. */
    public void detach(A allocation) {
        for (Scope s = innermost.get(); s != null; s = s.parent) if (s.made.remove(allocation)) return;
    }

    public Backend.Scope open() {
        Scope s = new Scope(innermost.get());
        innermost.set(s);
        return s;
    }

    private final class Scope implements Backend.Scope {
        private final Scope parent;
        private final Thread thread = Thread.currentThread();
        private final Set<A> made = Collections.newSetFromMap(new IdentityHashMap<>());
        private boolean closed;

        private Scope(Scope parent) {
            this.parent = parent;
        }

        @Override
        public void keep(Tensor t) {
            A a = allocationOf.apply(t);
            if (!made.remove(a)) return; // made outside this scope, or kept already
            if (parent != null) parent.made.add(a);
            else leftAllScopes.accept(a);
        }

        @Override
        public void release(Tensor t) {
            A a = allocationOf.apply(t);
            if (Thread.currentThread() != thread) return;
            for (Scope s = innermost.get(); s != null; s = s.parent) {
                if (s.made.remove(a)) {
                    free.accept(a);
                    return;
                }
                if (s == this) return;
            }
        }

        @Override
        public void close() {
            if (closed) return;
            if (Thread.currentThread() != thread || innermost.get() != this) {
                throw new IllegalStateException("memory scopes close innermost first, on the thread that opened them");
            }
            closed = true;
            innermost.set(parent);
            for (A a : made) free.accept(a);
            made.clear();
        }
    }
}
