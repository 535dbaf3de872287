package dev.bertft.hub;

import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * How a hub id is looked up, with the meaning transformers' {@code from_pretrained} gives its arguments:
 *
 * @param cacheDir the Hugging Face hub cache to read and download into ({@code cache_dir}); null: HF_HUB_CACHE,
 *                 else HF_HOME/hub, else ~/.cache/huggingface/hub
 * @param token    the token sent to the hub for gated or private models ({@code token}); null: HF_TOKEN
 * @param revision a branch, tag or commit hash of the model's repository ({@code revision}, the example scripts'
 *                 {@code --model_revision}); "main" by default
 * @param offline  never download, use the cache only (also HF_HUB_OFFLINE=1)
 */
public record HubOptions(Path cacheDir, String token, String revision, boolean offline) {
    public static final String MAIN = "main";
    /** Branch and tag names as git allows them here, and hub ones like refs/pr/1: no empty, "." or ".." part. */
    private static final Pattern REVISION = Pattern.compile("(?!.*(^|/)\\.{1,2}(/|$))[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*");

    public HubOptions {
        checkRevision(revision);
    }

    static String checkRevision(String revision) {
        Objects.requireNonNull(revision, "revision is null");
        if (!REVISION.matcher(revision).matches() || revision.length() > 255) {
            throw new IllegalArgumentException("revision must be a branch, tag or commit hash of the model's repository, got '"
                    + revision + "'");
        }
        return revision;
    }

    /** The cache and token from the environment, the main branch, downloads allowed. */
    public static HubOptions defaults() {
        return new HubOptions(null, null, MAIN, false);
    }

    public HubOptions withCacheDir(Path cacheDir) {
        return new HubOptions(cacheDir, token, revision, offline);
    }

    public HubOptions withToken(String token) {
        return new HubOptions(cacheDir, token, revision, offline);
    }

    public HubOptions withRevision(String revision) {
        return new HubOptions(cacheDir, token, revision, offline);
    }

    public HubOptions withOffline(boolean offline) {
        return new HubOptions(cacheDir, token, revision, offline);
    }

    /** The token is a secret: it never goes into messages or logs. */
    @Override
    public String toString() {
        return "HubOptions[cacheDir=" + cacheDir + ", token=" + (token == null ? "null" : "<set>") + ", revision=" + revision
                + ", offline=" + offline + "]";
    }
}
