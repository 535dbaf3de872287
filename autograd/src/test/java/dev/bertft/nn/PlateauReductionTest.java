package dev.bertft.nn;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * reduce_lr_on_plateau against torch.optim.lr_scheduler.ReduceLROnPlateau (torch 1.13): six option sets
 * fed one sequence of 22 metrics (improvements, ties, gains under the threshold, a NaN, a slow climb), the
 * rate after each. Fixture: autograd/src/test/resources/fixtures/plateau.json from
 * src/test/python/make_fixtures.py.
 */
class PlateauReductionTest {

    private static JsonNode load() throws IOException {
        try (InputStream in = PlateauReductionTest.class.getResourceAsStream("/fixtures/plateau.json")) {
            assertNotNull(in, "fixture plateau.json is missing; run autograd/src/test/python/make_fixtures.py plateau.json");
            return new ObjectMapper().readTree(in);
        }
    }

    /** The option set as lr_scheduler_kwargs hold it: numbers as Double, names as String. */
    private static Map<String, Object> options(JsonNode o) {
        Map<String, Object> out = new LinkedHashMap<>();
        o.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().isTextual() ? e.getValue().asText() : e.getValue().asDouble()));
        return out;
    }

    @Test
    void ratesMatchTorchUnderEveryOptionSet() throws IOException {
        JsonNode f = load();
        double lr = f.get("lr").asDouble();
        JsonNode metrics = f.get("metrics");
        int reduced = 0;
        for (JsonNode c : f.get("cases")) {
            // torch's default mode is min: what bert-ft chooses for a metric where lower is better
            PlateauReduction p = new PlateauReduction(lr, options(c.get("options")), false);
            JsonNode rates = c.get("rates");
            for (int i = 0; i < metrics.size(); i++) {
                p.step(metrics.get(i).isNull() ? Double.NaN : metrics.get(i).asDouble());
                assertEquals(rates.get(i).asDouble(), p.rate(), 0, c.get("options") + " after evaluation " + (i + 1));
            }
            assertEquals(metrics.size(), p.state().evaluations());
            if (p.rate() < lr) reduced++;
        }
        assertTrue(reduced >= 4, "the fixture reduces the rate under most option sets: " + reduced);
    }

    @Test
    void aMetricWhereHigherIsBetterDefaultsToMaxMode() {
        // accuracy rising every evaluation: max mode never reduces; torch's min mode would after patience + 1 = 2
        PlateauReduction max = new PlateauReduction(1.0, Map.of("patience", 1.0), true);
        PlateauReduction min = new PlateauReduction(1.0, Map.of("patience", 1.0, "mode", "min"), true);
        for (double accuracy : new double[] {0.5, 0.6, 0.7, 0.8}) {
            max.step(accuracy);
            min.step(accuracy);
        }
        assertEquals(1.0, max.rate(), 0);
        assertEquals(0.1, min.rate(), 1e-15);
    }

    @Test
    void stateRoundTripsAndOptionsAreChecked() throws IOException {
        PlateauReduction p = new PlateauReduction(1.0, Map.of("patience", 0.0, "cooldown", 2.0), false);
        p.step(1.0);
        p.step(2.0);   // worse: reduced, cooldown 2
        PlateauReduction.State saved = p.state();
        assertEquals(new PlateauReduction.State(0.1, 1.0, 0, 2, 2), saved);
        PlateauReduction resumed = new PlateauReduction(1.0, Map.of("patience", 0.0, "cooldown", 2.0), false);
        resumed.restore(saved);
        for (double m : List.of(3.0, 4.0, 5.0)) {
            p.step(m);
            resumed.step(m);
        }
        assertEquals(p.state(), resumed.state());
        assertEquals(0.01, p.rate(), 1e-15, "two evaluations of cooldown, then the third reduces");
        // before the first evaluation the best is infinite, which JSON has no number for: the checkpoint's path keeps it
        ObjectMapper json = new ObjectMapper();
        PlateauReduction.State fresh = new PlateauReduction(1.0, Map.of(), false).state();
        assertEquals(fresh, json.treeToValue(json.readTree(json.writeValueAsBytes(json.valueToTree(fresh))), PlateauReduction.State.class));

        var e = assertThrows(IllegalArgumentException.class, () -> new PlateauReduction(1.0, Map.of("factor", 1.0), false));
        assertEquals("factor must be in (0, 1), got 1.0", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new PlateauReduction(1.0, Map.of("mode", "up"), false));
        assertEquals("mode must be one of min, max, got up", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new PlateauReduction(1.0, Map.of("num_cycles", 1.0), false));
        assertTrue(e.getMessage().startsWith("reduce_lr_on_plateau takes mode, factor, patience"), e.getMessage());
    }
}
