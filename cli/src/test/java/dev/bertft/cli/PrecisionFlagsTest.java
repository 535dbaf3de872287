package dev.bertft.cli;

import dev.bertft.autograd.Precision;
import dev.bertft.tensor.DType;
import dev.bertft.tensor.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --bf16, --fp16, --tf32 and --save-dtype as users type them, and what the CPU refuses. */
class PrecisionFlagsTest {
    @TempDir
    Path tmp;

    @Test
    void hfSpellingsOfThePrecisionFlags() {
        assertTrue(CliFlagsTest.parseTrain("train", "--bf16").precisionArgs.bf16);
        assertTrue(CliFlagsTest.parseTrain("train", "--bf16", "True", "--seed", "1").precisionArgs.bf16);
        assertFalse(CliFlagsTest.parseTrain("train", "--fp16", "False").precisionArgs.fp16);
        assertEquals(Boolean.FALSE, CliFlagsTest.parseTrain("train", "--tf32", "False").precisionArgs.tf32);
        assertEquals(null, CliFlagsTest.parseTrain("train").precisionArgs.tf32);
        assertEquals(DType.BF16, CliFlagsTest.parseTrain("train", "--save_dtype", "bfloat16").saveDtype.dtype());
        assertEquals(DType.F32, CliFlagsTest.parseTrain("train").saveDtype.dtype());
    }

    @Test
    void theCpuRunsFp32AndRefusesHalfPrecisionAndTf32() {
        PrecisionArgs plain = new PrecisionArgs();
        assertEquals(Precision.FP32, plain.resolve(new CpuBackend(1)));
        PrecisionArgs off = CliFlagsTest.parseTrain("train", "--tf32", "false").precisionArgs;
        assertEquals(Precision.FP32, off.resolve(new CpuBackend(1)));
        for (String flag : new String[] {"--bf16", "--fp16"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> CliFlagsTest.parseTrain("train", flag).precisionArgs.resolve(new CpuBackend(1)));
            assertTrue(e.getMessage().startsWith(flag + ": the CPU computes in float32 only"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> CliFlagsTest.parseTrain("train", "--tf32", "true").precisionArgs.resolve(new CpuBackend(1)));
        assertThrows(IllegalArgumentException.class, () -> CliFlagsTest.parseTrain("train", "--bf16", "--fp16").precisionArgs.resolve(new CpuBackend(1)));
    }

    @Test
    void halfPrecisionOnTheCpuFailsInOneLineBeforeTheModelIsRead() throws Exception {
        Path missingModel = tmp.resolve("no-such-model");
        PredictCommandTest.Run r = PredictCommandTest.run("train", "--bf16", "--device", "cpu", "--model", missingModel.toString(),
                "--data", tmp.resolve("none.csv").toString(), "--output-dir", tmp.resolve("out").toString());
        assertEquals(1, r.exit(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("--bf16: the CPU computes in float32 only"), r.err());
        assertFalse(Files.exists(tmp.resolve("out").resolve("model.safetensors")));
    }

    @Test
    void aSaveDtypeThatIsNoTypeIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CliFlagsTest.parseTrain("train", "--save-dtype", "int8").saveDtype.dtype());
        assertEquals("--save-dtype must be float32, bfloat16 or float16, got 'int8'", e.getMessage());
    }
}
