package dev.bertft.cli;

import dev.bertft.hub.HubOptions;
import dev.bertft.hub.ModelFiles;
import dev.bertft.hub.ModelResolver;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;

/**
 * How every command turns its {@code --model} into a folder: a local folder as it is, else a hub id from the
 * Hugging Face cache, else downloaded into it ({@link ModelResolver}); {@code --offline} stops before downloading,
 * and the other options are transformers' {@code from_pretrained} arguments of the same names.
 */
final class HubArgs {
    @Option(names = "--offline", description = "Never download; say what is missing (also HF_HUB_OFFLINE=1).")
    boolean offline;

    @Option(names = "--revision", paramLabel = "REV", defaultValue = HubOptions.MAIN,
            description = "The branch, tag or commit hash of a hub model to use (HF scripts: --model_revision). Default: ${DEFAULT-VALUE}.")
    String revision;

    @Option(names = "--cache-dir", paramLabel = "DIR",
            description = "The Hugging Face hub cache to read models from and download them into. Default: HF_HUB_CACHE, else HF_HOME/hub, "
                    + "else ~/.cache/huggingface/hub.")
    Path cacheDir;

    @Option(names = "--token", paramLabel = "TOKEN", description = "The hub token for gated or private models. Default: HF_TOKEN, else the "
            + "token huggingface-cli login saved. Never written to training_args.json.")
    String token;

    Path resolve(String model, ModelFiles.Needs needs) throws IOException {
        return resolver().resolve(model, needs);
    }

    /** The resolver these options and the environment describe. */
    ModelResolver resolver() throws IOException {
        return ModelResolver.fromEnvironment(options());
    }

    /** What the options say, checked: a malformed --revision is an error naming it. */
    HubOptions options() {
        try {
            return new HubOptions(cacheDir, token, revision, offline);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--revision: " + e.getMessage(), e);
        }
    }

    /** --offline or HF_HUB_OFFLINE. */
    boolean isOffline() {
        return offline || ModelResolver.offlineByEnvironment(System.getenv());
    }
}
