package dev.bertft.cli;

import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * SIGINT (Ctrl-C) and SIGTERM while training: the first asks the Trainer to stop after the update
 * in progress, a second ends the process at once. Java's public API can only shut the JVM down on
 * a signal, not let it finish a step, so this uses {@code sun.misc.Signal} from jdk.unsupported,
 * the module the JDK keeps for exactly such uses.
 */
final class StopSignals implements AutoCloseable {
    private final Map<Signal, SignalHandler> previous = new LinkedHashMap<>();
    private volatile Signal received;

    private StopSignals() {}

    /** Handles SIGINT and SIGTERM until {@link #close()}: {@code requestStop} on the first, an immediate exit on the next. */
    static StopSignals install(Runnable requestStop, Consumer<String> say) {
        StopSignals signals = new StopSignals();
        for (String name : new String[] {"INT", "TERM"}) {
            SignalHandler old = handle(name, s -> {
                if (signals.received != null) Runtime.getRuntime().halt(exitCode(s));
                signals.received = s;
                say.accept("bert-ft: SIG" + s.getName() + " received: stopping after the current step (send it again to quit at once)");
                requestStop.run();
            });
            if (old != null) signals.previous.put(new Signal(name), old);
        }
        return signals;
    }

    /** Installs {@code handler} for the signal and returns the one it replaces, or null where the JVM keeps it (-Xrs). */
    static SignalHandler handle(String name, SignalHandler handler) {
        try {
            return Signal.handle(new Signal(name), handler);
        } catch (IllegalArgumentException reservedByTheJvm) {
            return null;
        }
    }

    /** 128 plus the number of the signal received, as shells report a process it ended: 130 for SIGINT, 143 for SIGTERM. */
    int exitCode() {
        return exitCode(received);
    }

    private static int exitCode(Signal s) {
        return 128 + s.getNumber();
    }

    @Override
    public void close() {
        previous.forEach(Signal::handle);
    }
}
