package dev.bertft.autograd;

/**
 * Whether new ops record the graph, per thread. Evaluation runs inside
 * {@code try (var off = GradMode.off()) { ... }} so it builds no graph and keeps no activations.
 */
public final class GradMode implements AutoCloseable {
    private static final ThreadLocal<Boolean> ENABLED = ThreadLocal.withInitial(() -> true);
    private final boolean previous;

    private GradMode(boolean enabled) {
        previous = ENABLED.get();
        ENABLED.set(enabled);
    }

    public static GradMode off() {
        return new GradMode(false);
    }

    /** Records again inside an {@link #off()} block, or wherever the caller's mode is unknown (a recomputation in a backward pass). */
    public static GradMode on() {
        return new GradMode(true);
    }

    public static boolean enabled() {
        return ENABLED.get();
    }

    @Override
    public void close() {
        ENABLED.set(previous);
    }
}
