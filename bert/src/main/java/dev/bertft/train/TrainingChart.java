package dev.bertft.train;

import com.fasterxml.jackson.databind.JsonNode;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/**
 * training.png: three panels over the steps of the run, each with ticked, labelled axes, a
 * light grid and a legend: training and eval loss on one loss axis, eval accuracy, and the
 * learning rate.
 */
final class TrainingChart {
    static final Color GRID = new Color(228, 228, 228), AXIS = new Color(64, 64, 64);
    static final Color TRAIN_LOSS = new Color(31, 119, 180), EVAL_LOSS = new Color(214, 39, 40),
            EVAL_ACCURACY = new Color(44, 160, 44), LEARNING_RATE = new Color(255, 127, 14);
    static final int WIDTH = 900, PANEL_HEIGHT = 240;
    private static final int LEFT = 80, RIGHT = 24, TOP = 34, BOTTOM = 44, X_INTERVALS = 10, Y_INTERVALS = 5;
    /** Beyond this many points a series is a line only: dots would merge into a band. */
    private static final int MAX_DOTS = 60;

    private TrainingChart() {}

    record Series(String label, Color color, List<double[]> points) {}

    /** A panel: its plot area in pixels, the scales it maps onto it, and what it draws. */
    record Plot(String title, int left, int top, int right, int bottom, AxisScale x, AxisScale y, List<Series> series) {
        int px(double v) {
            return left + (int) Math.round((right - left) * (v - x.lo()) / (x.hi() - x.lo()));
        }

        int py(double v) {
            return bottom - (int) Math.round((bottom - top) * (v - y.lo()) / (y.hi() - y.lo()));
        }
    }

    /** The panels for this log history; the step axis runs to maxSteps (or the last logged step, if later). */
    static List<Plot> layout(Iterable<JsonNode> history, long maxSteps) {
        List<double[]> loss = series(history, "loss"), evalLoss = series(history, "eval_loss");
        List<double[]> accuracy = series(history, "eval_accuracy"), lr = series(history, "learning_rate");
        long lastStep = Math.max(1, maxSteps);
        for (JsonNode e : history) lastStep = Math.max(lastStep, e.path("step").asLong());
        AxisScale steps = AxisScale.nice(0, lastStep, (int) Math.min(X_INTERVALS, lastStep));
        return List.of(
                plot(0, "loss", steps, new Series("training loss", TRAIN_LOSS, loss), new Series("eval loss", EVAL_LOSS, evalLoss)),
                plot(1, "eval accuracy", steps, new Series("eval accuracy", EVAL_ACCURACY, accuracy)),
                plot(2, "learning rate", steps, new Series("learning rate", LEARNING_RATE, lr)));
    }

    private static Plot plot(int index, String title, AxisScale x, Series... series) {
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (double[] p : s.points()) {
                min = Math.min(min, p[1]);
                max = Math.max(max, p[1]);
            }
        }
        AxisScale y = min <= max ? AxisScale.nice(min, max, Y_INTERVALS) : AxisScale.nice(0, 1, Y_INTERVALS);
        int top = index * PANEL_HEIGHT;
        return new Plot(title, LEFT, top + TOP, WIDTH - RIGHT, top + PANEL_HEIGHT - BOTTOM, x, y, List.of(series));
    }

    private static List<double[]> series(Iterable<JsonNode> history, String key) {
        List<double[]> out = new ArrayList<>();
        for (JsonNode e : history) {
            if (e.path(key).isNumber()) out.add(new double[] {e.path("step").asDouble(), e.path(key).asDouble()});
        }
        return out;
    }

    static BufferedImage draw(List<Plot> plots) {
        BufferedImage img = new BufferedImage(WIDTH, plots.size() * PANEL_HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        for (Plot p : plots) {
            axes(g, p);
            for (Series s : p.series()) line(g, p, s);
            legend(g, p);
        }
        g.dispose();
        return img;
    }

    /** Grid, frame, ticks and labels, without antialiasing so each line is one exact pixel wide. */
    private static void axes(Graphics2D g, Plot p) {
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_OFF);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setStroke(new BasicStroke(1));
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        FontMetrics fm = g.getFontMetrics();
        for (double t : p.x().ticks()) {
            int x = p.px(t);
            g.setColor(GRID);
            g.drawLine(x, p.top(), x, p.bottom());
            g.setColor(AXIS);
            g.drawLine(x, p.bottom(), x, p.bottom() + 5);
            String label = p.x().label(t);
            g.drawString(label, x - fm.stringWidth(label) / 2, p.bottom() + 7 + fm.getAscent());
        }
        for (double t : p.y().ticks()) {
            int y = p.py(t);
            g.setColor(GRID);
            g.drawLine(p.left(), y, p.right(), y);
            g.setColor(AXIS);
            g.drawLine(p.left() - 5, y, p.left(), y);
            String label = p.y().label(t);
            g.drawString(label, p.left() - 8 - fm.stringWidth(label), y + fm.getAscent() / 2 - 1);
        }
        g.drawRect(p.left(), p.top(), p.right() - p.left(), p.bottom() - p.top());
        g.drawString("step", (p.left() + p.right()) / 2 - fm.stringWidth("step") / 2, p.bottom() + 9 + 2 * fm.getAscent());
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.drawString(p.title(), p.left(), p.top() - 10);
    }

    private static void line(Graphics2D g, Plot p, Series s) {
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(s.color());
        g.setStroke(new BasicStroke(1.8f));
        int px = -1, py = -1;
        for (double[] pt : s.points()) {
            int x = p.px(pt[0]), y = p.py(pt[1]);
            if (px >= 0) g.drawLine(px, py, x, y);
            if (s.points().size() <= MAX_DOTS) g.fillOval(x - 3, y - 3, 7, 7);
            px = x;
            py = y;
        }
    }

    /** Top right, above the plot area, so it never hides a point. */
    private static void legend(Graphics2D g, Plot p) {
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        FontMetrics fm = g.getFontMetrics();
        int x = p.right();
        for (int i = p.series().size() - 1; i >= 0; i--) {
            Series s = p.series().get(i);
            x -= fm.stringWidth(s.label());
            g.setColor(AXIS);
            g.drawString(s.label(), x, p.top() - 10);
            x -= 16;
            g.setColor(s.color());
            g.fillRect(x, p.top() - 10 - fm.getAscent() / 2 - 1, 12, 4);
            x -= 14;
        }
    }
}
