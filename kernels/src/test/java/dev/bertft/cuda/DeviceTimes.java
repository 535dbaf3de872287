package dev.bertft.cuda;

import dev.bertft.tensor.Backend;

import java.util.Arrays;
import java.util.Locale;

/**
 * A benchmark call's GPU time as bench/scripts/cuda_events.py takes PyTorch's, so the two compare
 * in one run: 3 untimed calls, then {@code reps} timed between CUDA events recorded around each;
 * every call in a memory scope, as a training step runs, so its tensors come from the caching
 * allocator. Milliseconds: the median (of the middle two for an even count), fastest and slowest.
 */
record DeviceTimes(double medianMs, double minMs, double maxMs) {
    static DeviceTimes of(CudaBackend gpu, int reps, Runnable call) {
        Runnable scoped = () -> {
            try (Backend.Scope s = gpu.openScope()) {
                call.run();
            }
        };
        for (int i = 0; i < 3; i++) scoped.run();
        float[] ms = gpu.deviceMillis(reps, scoped);
        Arrays.sort(ms);
        return new DeviceTimes((ms[(reps - 1) / 2] + ms[reps / 2]) / 2.0, ms[0], ms[reps - 1]);
    }

    /** The JSON fields median_ms, min_ms, max_ms and tflops (for {@code flops} a call), as the peer scripts print them. */
    String json(double flops) {
        return String.format(Locale.ROOT, "\"median_ms\": %.4f, \"min_ms\": %.4f, \"max_ms\": %.4f, \"tflops\": %.1f", medianMs, minMs,
                maxMs, flops / (medianMs / 1e3) / 1e12);
    }

    /** {@code s} with JSON's escapes for what is not ASCII, which a JVM's standard output may not encode. */
    static String ascii(String s) {
        StringBuilder b = new StringBuilder();
        s.chars().forEach(c -> b.append(c < 128 ? String.valueOf((char) c) : String.format(Locale.ROOT, "\\u%04x", c)));
        return b.toString();
    }
}
