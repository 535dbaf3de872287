package dev.bertft.cli;

import dev.bertft.hub.ModelFiles;
import dev.bertft.hub.ModelResolver;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;

/**
 * How every command turns its {@code --model} into a folder: a local folder as it is, else a hub id from the
 * Hugging Face cache, else downloaded into it ({@link ModelResolver}); {@code --offline} stops before downloading.
 */
final class HubArgs {
    @Option(names = "--offline", description = "Never download; say what is missing (also HF_HUB_OFFLINE=1).")
    boolean offline;

    Path resolve(String model, ModelFiles.Needs needs) throws IOException {
        return ModelResolver.fromEnvironment(offline).resolve(model, needs);
    }

    /** --offline or HF_HUB_OFFLINE. */
    boolean isOffline() {
        return offline || ModelResolver.offlineByEnvironment(System.getenv());
    }
}
