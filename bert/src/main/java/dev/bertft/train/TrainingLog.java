package dev.bertft.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.io.AtomicFiles;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The logging directory: {@code log.jsonl} with one JSON object per logging step and
 * evaluation, {@code training.png} (a {@link TrainingChart}) redrawn at each evaluation, and
 * with TensorBoard reporting on, an event file with every logged value as a scalar.
 */
final class TrainingLog {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path dir;
    private final boolean tensorBoard;
    private final Consumer<String> warn;
    private final Function<TrainerState, BufferedImage> chart;
    private TensorBoardWriter events;
    private boolean drawing = true;

    /** warn: where the one line goes when the chart cannot be drawn on this machine. */
    TrainingLog(Path dir, boolean tensorBoard, Consumer<String> warn) {
        this(dir, tensorBoard, warn, state -> TrainingChart.draw(TrainingChart.layout(state.logHistory, state.maxSteps)));
    }

    /** With the chart drawn by {@code chart} (a test's stands in for a runtime without fonts). */
    TrainingLog(Path dir, boolean tensorBoard, Consumer<String> warn, Function<TrainerState, BufferedImage> chart) {
        this.dir = dir;
        this.tensorBoard = tensorBoard;
        this.warn = warn;
        this.chart = chart;
    }

    /** Opens the event file when training begins (as HF's TensorBoardCallback), so an unwritable folder fails before step 1. */
    void start() throws IOException {
        if (dir != null && tensorBoard) events = TensorBoardWriter.create(dir);
    }

    void append(ObjectNode entry) throws IOException {
        if (dir == null) return;
        Files.createDirectories(dir);
        Files.write(dir.resolve("log.jsonl"), (JSON.writeValueAsString(entry) + "\n").getBytes(StandardCharsets.UTF_8),
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        if (events != null) events.scalars(entry.path("step").asLong(), scalars(entry));
    }

    /** Every value but the step, under HF's tag; a non-finite value (null in JSON) is NaN, as HF passes it on. */
    private static Map<String, Float> scalars(ObjectNode entry) {
        Map<String, Float> out = new LinkedHashMap<>();
        entry.fields().forEachRemaining(e -> {
            if (e.getKey().equals("step")) return;
            if (e.getValue().isNumber()) out.put(TensorBoardWriter.hfTag(e.getKey()), e.getValue().floatValue());
            else if (e.getValue().isNull()) out.put(TensorBoardWriter.hfTag(e.getKey()), Float.NaN);
        });
        return out;
    }

    /**
     * Redraws training.png. Text needs the runtime's font library, which a minimal server image
     * may lack (a jlink runtime built against the system's harfbuzz, say): the chart is then left
     * out with one warning, and training goes on, since nothing else depends on it.
     */
    void drawChart(TrainerState state) throws IOException {
        if (dir == null || !drawing) return;
        System.setProperty("java.awt.headless", "true");
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        try {
            ImageIO.write(chart.apply(state), "png", png);
        } catch (LinkageError | java.awt.AWTError e) {
            drawing = false;
            warn.accept("training.png not drawn: this Java runtime cannot render text (" + e.getMessage() + ")");
            return;
        }
        AtomicFiles.write(dir.resolve("training.png"), png.toByteArray());
    }
}
