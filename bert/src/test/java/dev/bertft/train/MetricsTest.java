package dev.bertft.train;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Metrics against values worked out independently: by hand, and (scipy and sklearn are not installed)
 * with numpy 1.24 as the comments show.
 */
class MetricsTest {
    @Test
    void regressionErrorsAndCorrelations() {
        double[] labels = {1.0, 2.0, 2.0, 3.5, 5.0}, predictions = {1.5, 1.5, 2.5, 3.0, 4.0};
        Metrics m = Metrics.regression(0.123, labels, predictions);
        assertEquals(List.of("mse", "rmse", "pearson", "spearmanr"), List.copyOf(m.scores().keySet()));
        assertEquals(0.4, m.get("mse"), 1e-15);                        // (4 · 0.5² + 1²) / 5
        assertEquals(0.6324555320336759, m.get("rmse"), 1e-15);        // np.sqrt(0.4)
        assertEquals(0.9411540655263034, m.get("pearson"), 1e-12);     // np.corrcoef(p, l)[0, 1]
        // ranks with ties averaged: labels 1, 2.5, 2.5, 4, 5; predictions 1.5, 1.5, 3, 4, 5;
        // np.corrcoef of those ranks
        assertEquals(0.9210526315789475, m.get("spearmanr"), 1e-12);
        assertEquals(0.123, m.get("loss"));
        assertEquals(5, m.count());
        assertNull(m.confusion());
        assertArrayEquals(new double[] {4, 1.5, 1.5, 6, 4, 4}, Metrics.ranks(new double[] {3, 1, 1, 9, 3, 3}));
        assertTrue(Double.isNaN(Metrics.regression(0, labels, new double[] {2, 2, 2, 2, 2}).get("pearson")),
                "a constant has no correlation (scipy: nan)");
    }

    @Test
    void multiLabelExactMatchAndMicroMacroF1() {
        boolean[][] labels = {{true, false, true}, {false, false, false}, {false, true, true}, {true, true, false}};
        boolean[][] predicted = {{true, false, false}, {false, false, false}, {false, true, true}, {false, true, true}};
        Metrics m = Metrics.multiLabel(0.5, labels, predicted);
        assertEquals(List.of("accuracy", "f1_micro", "f1_macro"), List.copyOf(m.scores().keySet()));
        assertEquals(0.5, m.get("accuracy"), 0);                       // rows 2 and 3 exactly right
        // per label (tp, fp, fn): (1, 0, 1) → 2/3, (2, 0, 0) → 1, (1, 1, 1) → 1/2; all: (4, 1, 2) → 8/11
        assertEquals(8.0 / 11, m.get("f1_micro"), 1e-15);
        assertEquals((2.0 / 3 + 1 + 0.5) / 3, m.get("f1_macro"), 1e-15);
        // a label never true nor predicted counts 0 in the macro average, as sklearn's zero_division=0
        Metrics none = Metrics.multiLabel(0, new boolean[][] {{true, false}}, new boolean[][] {{true, false}});
        assertEquals(0.5, none.get("f1_macro"), 0);
        assertEquals(1.0, none.get("f1_micro"), 0);
    }

    @Test
    void singleLabelAccuracyF1AndConfusion() {
        // true 1 1 1 0 0, predicted 1 0 1 1 0: tp 2, fp 1, fn 1 → F1 of class 1 = 4/6
        Metrics m = Metrics.singleLabel(0.7, new int[] {1, 1, 1, 0, 0}, new int[] {1, 0, 1, 1, 0}, 2);
        assertEquals(0.6, m.get("accuracy"), 1e-15);
        assertEquals(4.0 / 6, m.get("f1"), 1e-15);
        assertArrayEquals(new long[] {1, 1}, m.confusion()[0]);
        assertArrayEquals(new long[] {1, 2}, m.confusion()[1]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.get("mse"));
        assertEquals("no metric mse here (loss, accuracy, f1)", e.getMessage());
    }
}
