package dev.bertft.pytorch;

import dev.bertft.pytorch.RestrictedUnpickler.Tuple;
import org.junit.jupiter.api.Test;

import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The value opcodes against bytes written by Python 3.11's pickle.dumps(obj, protocol=2). */
class RestrictedUnpicklerTest {

    @Test
    void decodesWhatPythonEncodes() throws RestrictedUnpickler.Problem {
        // OrderedDict([('ints', (-1, 255, 256, 65535, 65536, -2**31, 2**31, -2**40, 2**63 - 1)),
        //              ('flags', (True, False, None)), ('nested', {'version': 1, 'é': ()})])
        byte[] pickle = HexFormat.of().parseHex("800263636f6c6c656374696f6e730a4f726465726564446963740a7100295271012858040000"
                + "00696e74737102284affffffff4bff4d00014dffff4a000001004a000000808a0500000080008a060000000000ff8a08ffffff"
                + "ffffffff7f7471035805000000666c616773710488894e87710558060000006e657374656471067d710728580700000076657273"
                + "696f6e71084b015802000000c3a971092975752e");
        Object value = RestrictedUnpickler.load(pickle);
        assertEquals(Map.of(
                "ints", new Tuple(List.of(-1L, 255L, 256L, 65535L, 65536L, -(1L << 31), 1L << 31, -(1L << 40), Long.MAX_VALUE)),
                "flags", new Tuple(List.of(true, false, RestrictedUnpickler.NONE)),
                "nested", Map.of("version", 1L, "é", new Tuple(List.of()))), value);
        assertEquals(List.of("ints", "flags", "nested"), List.copyOf(((Map<?, ?>) value).keySet()), "dict order is kept");
    }

    @Test
    void malformedStreamsAreProblemsNotCrashes() {
        for (String hex : List.of("", "80", "8002", "800228", "8002712a2e", "8002680c2e", "80025802", "8002580a000000616263",
                "80028a09ffffffffffffffffff2e", "800229522e", "8002632e", "80024b01752e", "8002752e", "800230")) {
            RestrictedUnpickler.Problem p = assertThrows(RestrictedUnpickler.Problem.class,
                    () -> RestrictedUnpickler.load(HexFormat.of().parseHex(hex)), hex);
            assertTrue(p.getMessage().startsWith("at byte "), p.getMessage());
        }
    }
}
