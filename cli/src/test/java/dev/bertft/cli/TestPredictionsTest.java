package dev.bertft.cli;

import dev.bertft.api.Prediction;
import dev.bertft.classifier.ProblemType;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** predict_results.txt's values as run_classification.py writes them (Python's f"{x:3.3f}", str and list reprs). */
class TestPredictionsTest {
    private static Prediction multiLabel(String... labels) {
        return new Prediction(ProblemType.MULTI_LABEL_CLASSIFICATION, null, -1, 0, List.of(labels), new int[0], new float[0], new float[0]);
    }

    private static Prediction score(float value) {
        return new Prediction(ProblemType.REGRESSION, null, -1, value, List.of(), new int[0], new float[0], new float[0]);
    }

    @Test
    void valuesAsPythonPrintsThem() {
        // python3 -c "print(f'{0.12345:3.3f}', f'{-12.5:3.3f}', f'{1234.56789:3.3f}')"  ->  0.123 -12.500 1234.568
        assertEquals("0.123", TestPredictions.text(score(0.12345f)));
        assertEquals("-12.500", TestPredictions.text(score(-12.5f)));
        assertEquals("1234.568", TestPredictions.text(score(1234.56789f)));
        // print(['acting', 'plot']), print([]), print(["it's", 'a\\b'])
        assertEquals("['acting', 'plot']", TestPredictions.text(multiLabel("acting", "plot")));
        assertEquals("[]", TestPredictions.text(multiLabel()));
        assertEquals("[\"it's\", 'a\\\\b']", TestPredictions.text(multiLabel("it's", "a\\b")));
        assertEquals("pos", TestPredictions.text(new Prediction(ProblemType.SINGLE_LABEL_CLASSIFICATION, "pos", 1, 0.9f, List.of("pos"),
                new int[] {1}, new float[0], new float[0])));
    }
}
