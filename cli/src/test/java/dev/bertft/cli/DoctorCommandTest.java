package dev.bertft.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** doctor's hub line: the cache and endpoint huggingface_hub would use, and the token named by its source, never shown. */
class DoctorCommandTest {
    @TempDir
    Path tmp;

    @Test
    void theHubLineNamesTheTokensSourceNotItsValue() throws IOException {
        Path hfHome = Files.createDirectories(tmp.resolve("hf-home"));
        String none = DoctorCommand.hub(Map.of("HF_HOME", hfHome.toString()));
        assertEquals("hub:      cache " + hfHome.resolve("hub") + " (--cache-dir or HF_HUB_CACHE to change), endpoint https://huggingface.co,"
                + " no token (gated or private models need --token, HF_TOKEN or huggingface-cli login)", none);

        Files.writeString(hfHome.resolve("token"), "hf_from_login\n");
        String login = DoctorCommand.hub(Map.of("HF_HOME", hfHome.toString(), "HF_HUB_OFFLINE", "1", "HF_ENDPOINT", "https://mirror.example/"));
        assertTrue(login.contains("endpoint https://mirror.example, token from " + hfHome.resolve("token") + ", offline (HF_HUB_OFFLINE)"), login);
        assertFalse(login.contains("hf_from_login"), login);

        String env = DoctorCommand.hub(Map.of("HF_HOME", hfHome.toString(), "HF_TOKEN", "hf_env_value"));
        assertTrue(env.endsWith("token from HF_TOKEN") && !env.contains("hf_env_value"), env);
    }
}
