package dev.bertft.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;

/**
 * HF's example scripts take their arguments from a JSON file when it is their only argument
 * ({@code python run_classification.py args.json}, HfArgumentParser.parse_json_file); so do train, eval, predict
 * and prepare: {@code bert-ft train args.json}. Each key becomes the option of that name, written as HF's command
 * line would give it, so the file's settings go through the same spellings, checks and refusals as typed ones.
 */
final class HfArgsFile {
    private static final ObjectMapper JSON = new ObjectMapper();

    private HfArgsFile() {
    }

    /** {@code args} with a lone .json argument after a command replaced by the options it holds; else as they are. */
    static String[] expand(CommandLine root, String... args) {
        if (args.length != 2 || !root.getSubcommands().containsKey(args[0]) || !args[1].endsWith(".json")) return args;
        CommandLine command = root.getSubcommands().get(args[0]);
        Path file = Path.of(args[1]);
        JsonNode settings;
        try {
            settings = JSON.readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new CommandLine.ParameterException(command, file + ": not a readable JSON file of settings ("
                    + CliErrors.message(e) + ")");
        }
        if (settings == null || !settings.isObject()) {
            throw new CommandLine.ParameterException(command, file + ": expected a JSON object of settings, as HF's scripts read");
        }
        List<String> out = new ArrayList<>(List.of(args[0]));
        for (Map.Entry<String, JsonNode> e : (Iterable<Map.Entry<String, JsonNode>>) settings::fields) {
            JsonNode v = e.getValue();
            String option = "--" + e.getKey();
            if (v.isNull() || v.isContainerNode() && v.isEmpty()) continue;   // unset, or an empty list or dict: the default
            OptionSpec known = HfSpellings.optionFor(command, option);
            if (v.isBoolean() && known != null && HfSpellings.isFlag(known)) {
                if (v.asBoolean()) out.add(option);   // a flag: given or not
            } else if (v.isBoolean()) {
                out.add(option);
                out.add(Boolean.toString(v.asBoolean()));
            } else if (v.isObject() && known != null && known.typeInfo().isMap()) {
                for (Map.Entry<String, JsonNode> kv : (Iterable<Map.Entry<String, JsonNode>>) v::fields) {
                    out.add(option);
                    out.add(kv.getKey() + "=" + kv.getValue().asText());
                }
            } else if (v.isObject()) {
                out.add(option);
                out.add(v.toString());   // a dict setting (lr_scheduler_kwargs), as the command line takes it
            } else if (v.isArray()) {
                out.add(option);
                out.add(StreamSupport.stream(v.spliterator(), false).map(JsonNode::asText).collect(Collectors.joining(",")));
            } else {
                out.add(option);
                out.add(v.asText());
            }
        }
        return out.toArray(new String[0]);
    }
}
