package dev.bertft.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The chart's pixels where its scales say the grid, the ticks, their labels and the points are. */
class TrainingChartTest {
    private static final long MAX_STEPS = 90;

    @BeforeAll
    static void headless() {
        System.setProperty("java.awt.headless", "true");
    }

    /** A 90-step run: losses every 5 steps, an evaluation every 30. */
    private static ArrayNode history() {
        ArrayNode h = new ObjectMapper().createArrayNode();
        for (int step = 5; step <= MAX_STEPS; step += 5) {
            h.addObject().put("loss", 0.7 - 0.005 * step).put("learning_rate", 5e-5 * (1 - step / 100.0)).put("step", step);
            if (step % 30 == 0) {
                h.addObject().put("eval_loss", 0.75 - 0.004 * step).put("eval_accuracy", 0.6 + 0.003 * step).put("step", step);
            }
        }
        return h;
    }

    private static int rgb(BufferedImage img, int x, int y) {
        return img.getRGB(x, y) & 0xFFFFFF;
    }

    private static int rgb(Color c) {
        return c.getRGB() & 0xFFFFFF;
    }

    private static double fraction(BufferedImage img, Color c, int x0, int y0, int x1, int y1) {
        int hits = 0, all = 0;
        for (int x = x0; x <= x1; x++) {
            for (int y = y0; y <= y1; y++, all++) if (rgb(img, x, y) == rgb(c)) hits++;
        }
        return (double) hits / all;
    }

    @Test
    void gridAndTicksLieWhereTheScalesPutThem() {
        List<TrainingChart.Plot> plots = TrainingChart.layout(history(), MAX_STEPS);
        BufferedImage img = TrainingChart.draw(plots);
        assertEquals(3, plots.size());
        for (TrainingChart.Plot p : plots) {
            List<Double> yTicks = p.y().ticks(), xTicks = p.x().ticks();
            assertTrue(yTicks.size() >= 3 && xTicks.size() >= 3, p.title() + ": " + yTicks + " " + xTicks);
            for (double t : yTicks) {
                int y = p.py(t);
                assertEquals(rgb(TrainingChart.AXIS), rgb(img, p.left() - 3, y), p.title() + " tick " + t);
                boolean frame = y == p.top() || y == p.bottom();
                Color line = frame ? TrainingChart.AXIS : TrainingChart.GRID;
                // series may cross a grid line; most of it stays the grid's colour
                assertTrue(fraction(img, line, p.left() + 1, y, p.right() - 1, y) > 0.6, p.title() + " grid at " + t);
                assertTrue(fraction(img, Color.WHITE, p.left() - 60, y - 6, p.left() - 8, y + 6) < 0.98,
                        p.title() + ": a label beside tick " + t);
                assertEquals(rgb(Color.WHITE), rgb(img, p.left() - 3, y + (p.bottom() - p.top()) / (2 * (yTicks.size() - 1))),
                        "no tick between ticks");
            }
            for (double t : xTicks) {
                int x = p.px(t);
                assertEquals(rgb(TrainingChart.AXIS), rgb(img, x, p.bottom() + 3), p.title() + " step tick " + t);
                Color line = x == p.left() || x == p.right() ? TrainingChart.AXIS : TrainingChart.GRID;
                assertTrue(fraction(img, line, x, p.top() + 1, x, p.bottom() - 1) > 0.6, p.title() + " grid at step " + t);
            }
            assertEquals(0, p.x().lo());
            assertEquals(MAX_STEPS, p.x().hi(), 0, "the step axis ends at the last step, 90 being a tick of 10s");
        }
    }

    @Test
    void evalLossSharesTheLossAxisAndAccuracyHasItsOwn() {
        ArrayNode h = history();
        List<TrainingChart.Plot> plots = TrainingChart.layout(h, MAX_STEPS);
        BufferedImage img = TrainingChart.draw(plots);
        TrainingChart.Plot loss = plots.get(0), accuracy = plots.get(1);
        // training loss 0.675 .. 0.25, eval loss 0.63 .. 0.39: one axis holds both
        assertTrue(loss.y().lo() <= 0.25 && loss.y().hi() >= 0.675, loss.y().toString());
        assertTrue(accuracy.y().lo() <= 0.69 && accuracy.y().hi() >= 0.87 && accuracy.y().hi() < 1.5, accuracy.y().toString());
        for (var e : h) {
            int x = loss.px(e.get("step").asDouble());
            if (e.has("eval_loss")) {
                assertEquals(rgb(TrainingChart.EVAL_LOSS), rgb(img, x, loss.py(e.get("eval_loss").asDouble())), "eval loss point " + e);
                assertEquals(rgb(TrainingChart.EVAL_ACCURACY), rgb(img, x, accuracy.py(e.get("eval_accuracy").asDouble())),
                        "accuracy point " + e);
            }
        }
        assertTrue(fraction(img, TrainingChart.EVAL_LOSS, 0, 0, TrainingChart.WIDTH - 1, loss.top() - 1) > 0,
                "the legend names eval loss");
    }
}
