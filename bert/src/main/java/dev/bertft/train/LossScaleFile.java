package dev.bertft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.nn.GradScaler;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** scaler.json in an fp16 run's checkpoints: the {@link GradScaler}'s scale and growth tracker, so --resume continues it exactly. */
final class LossScaleFile {
    static final String NAME = "scaler.json";

    private LossScaleFile() {}

    /** Into a checkpoint folder being assembled (the checkpoint appears whole, so a plain write suffices). */
    static void write(Path checkpoint, GradScaler scaler) throws IOException {
        ObjectNode o = TrainerState.JSON.createObjectNode();
        o.put("scale", scaler.state().scale());
        o.put("growth_tracker", scaler.state().growthTracker());
        Files.write(checkpoint.resolve(NAME), TrainerState.JSON.writeValueAsBytes(o));
    }

    /** The scaler as the checkpoint left it; a checkpoint of a run that was not fp16 has none, and the scaler starts afresh as torch's would. */
    static void restore(Path checkpoint, GradScaler scaler) throws IOException {
        Path file = checkpoint.resolve(NAME);
        if (!Files.exists(file)) return;
        JsonNode o = TrainerState.JSON.readTree(file.toFile());
        if (o == null || !o.path("scale").isNumber() || !o.path("growth_tracker").isInt()) {
            throw new IOException(file + ": want a number 'scale' and an integer 'growth_tracker'");
        }
        try {
            scaler.restore(new GradScaler.State(o.get("scale").asDouble(), o.get("growth_tracker").asInt()));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }
}
