package dev.bertft.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bertft.io.AtomicFiles;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The logging directory: {@code log.jsonl} with one JSON object per logging step and
 * evaluation, and {@code training.png}, a chart of training loss, learning rate and eval
 * accuracy over steps, redrawn at each evaluation.
 */
final class TrainingLog {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path dir;

    TrainingLog(Path dir) {
        this.dir = dir;
    }

    void append(ObjectNode entry) throws IOException {
        if (dir == null) return;
        Files.createDirectories(dir);
        Files.write(dir.resolve("log.jsonl"), (JSON.writeValueAsString(entry) + "\n").getBytes(StandardCharsets.UTF_8),
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    void drawChart(TrainerState state) throws IOException {
        if (dir == null) return;
        System.setProperty("java.awt.headless", "true");
        List<double[]> loss = series(state, "loss"), lr = series(state, "learning_rate"), acc = series(state, "eval_accuracy");
        int w = 900, panelH = 220, h = 3 * panelH + 20;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        long maxStep = Math.max(1, state.maxSteps);
        panel(g, 0, w, panelH, "training loss", loss, maxStep, new Color(31, 119, 180));
        panel(g, panelH, w, panelH, "learning rate", lr, maxStep, new Color(255, 127, 14));
        panel(g, 2 * panelH, w, panelH, "eval accuracy", acc, maxStep, new Color(44, 160, 44));
        g.dispose();
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(img, "png", png);
        AtomicFiles.write(dir.resolve("training.png"), png.toByteArray());
    }

    private static List<double[]> series(TrainerState state, String key) {
        List<double[]> out = new ArrayList<>();
        for (JsonNode e : state.logHistory) {
            if (e.path(key).isNumber()) out.add(new double[] {e.path("step").asDouble(), e.path(key).asDouble()});
        }
        return out;
    }

    private static void panel(Graphics2D g, int top, int w, int h, String title, List<double[]> pts, long maxStep, Color color) {
        int left = 70, right = w - 20, y0 = top + 30, y1 = top + h - 30;
        g.setColor(Color.DARK_GRAY);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.drawString(title, left, top + 20);
        g.drawRect(left, y0, right - left, y1 - y0);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        g.drawString("step " + maxStep, right - 70, y1 + 15);
        g.drawString("0", left, y1 + 15);
        if (pts.isEmpty()) return;
        double lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE;
        for (double[] p : pts) {
            lo = Math.min(lo, p[1]);
            hi = Math.max(hi, p[1]);
        }
        if (hi == lo) {
            hi += Math.max(1e-12, Math.abs(hi) * 0.05);
            lo -= Math.max(1e-12, Math.abs(lo) * 0.05);
        }
        g.drawString(String.format("%.4g", hi), 5, y0 + 10);
        g.drawString(String.format("%.4g", lo), 5, y1);
        g.setColor(color);
        g.setStroke(new BasicStroke(1.8f));
        int px = -1, py = -1;
        for (double[] p : pts) {
            int x = left + (int) ((right - left) * p[0] / maxStep);
            int y = y1 - (int) ((y1 - y0) * (p[1] - lo) / (hi - lo));
            if (px >= 0) g.drawLine(px, py, x, y);
            g.fillOval(x - 2, y - 2, 4, 4);
            px = x;
            py = y;
        }
    }
}
