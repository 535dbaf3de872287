package dev.bertft.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What training_args.json holds: every option of a command with its effective value, under
 * Hugging Face's name where it has one; and, like HF's Trainer on resuming, one warning per
 * option whose value differs from the checkpoint's.
 */
final class RecordedArgs {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Options that change where things go or how fast, not what is trained. */
    private static final Set<String> UNCOMPARED = Set.of("output_dir", "logging_dir", "resume_from_checkpoint", "device", "threads",
            "offline", "cache_dir", "verbose");
    /** Secrets: never written (HF's TrainingArguments writes its hub token as a placeholder). */
    private static final Set<String> UNRECORDED = Set.of("token");

    private RecordedArgs() {
    }

    /** Each option's value as parsed, replaced by {@code effective} where the command settled one (keys are HF names). */
    static Map<String, Object> of(CommandSpec command, Map<String, Object> effective) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (OptionSpec o : command.options()) {
            if (o.usageHelp() || o.versionHelp() || o.hidden() && o.getValue() == null) continue;   // a hidden HF setting that was not given
            String key = HfSpellings.key(command, o);
            if (UNRECORDED.contains(key)) continue;
            out.put(key, effective.containsKey(key) ? effective.get(key) : plain(o.getValue()));
        }
        return out;
    }

    /** One line per option whose value in {@code now} differs from the checkpoint's file; none when it has no such file. */
    static List<String> differences(CommandSpec command, Map<String, Object> now, Path checkpointArgs) throws IOException {
        if (!Files.isRegularFile(checkpointArgs)) return List.of();   // written before training_args.json existed
        JsonNode then;
        try {
            then = JSON.readTree(checkpointArgs.toFile());
        } catch (JsonProcessingException e) {
            throw new IOException(checkpointArgs + ": not valid JSON (" + e.getOriginalMessage() + ")", e);
        }
        JsonNode current = JSON.readTree(JSON.writeValueAsBytes(now));   // read back, so numbers compare as the file's do
        List<String> lines = new ArrayList<>();
        for (OptionSpec o : command.options()) {
            String key = HfSpellings.key(command, o);
            if (then == null || !then.has(key) || !current.has(key) || UNCOMPARED.contains(key)) continue;
            if (!then.get(key).equals(current.get(key))) {
                lines.add("warning: " + o.longestName() + " is " + current.get(key) + " but was " + then.get(key) + " in "
                        + checkpointArgs + "; the run continues with " + current.get(key));
            }
        }
        return lines;
    }

    /** A value JSON writes as the user wrote it: paths as text, lists and maps of text. */
    private static Object plain(Object value) {
        if (value == null || value instanceof Number || value instanceof Boolean || value instanceof String) return value;
        if (value instanceof Collection<?> c) return c.stream().map(RecordedArgs::plain).toList();
        if (value instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, v) -> out.put(String.valueOf(k), plain(v)));
            return out;
        }
        return value.toString();
    }
}
