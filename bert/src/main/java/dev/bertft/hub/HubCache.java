package dev.bertft.hub;

import dev.bertft.io.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The Hugging Face hub cache on disk, in the layout huggingface_hub and transformers share, so that a model
 * downloaded by Python is found here and the other way round:
 *
 * <pre>
 * &lt;root&gt;/models--ORG--NAME/refs/&lt;revision&gt;           the commit hash a branch or tag ("main") pointed at when last fetched
 * &lt;root&gt;/models--ORG--NAME/blobs/&lt;etag&gt;              file contents, named by git SHA-1 or LFS SHA-256
 * &lt;root&gt;/models--ORG--NAME/snapshots/&lt;commit&gt;/&lt;file&gt;  relative symlink to ../../blobs/&lt;etag&gt;
 * </pre>
 */
public final class HubCache {
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}");

    private final Path root;

    public HubCache(Path root) {
        this.root = root;
    }

    /** $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub (huggingface_hub's order; XDG_CACHE_HOME too). */
    public static Path defaultRoot(Map<String, String> env) {
        return set(env, "HF_HUB_CACHE").map(Path::of).orElseGet(() -> hfHome(env).resolve("hub"));
    }

    /** A hub token and where it was found ("HF_TOKEN", or the file's path). */
    public record SavedToken(String value, String source) {
        @Override
        public String toString() {
            return "token from " + source;   // never the value
        }
    }

    /**
     * The token huggingface_hub would send: $HF_TOKEN, else the file 'huggingface-cli login' saves ($HF_TOKEN_PATH, else
     * $HF_HOME/token); empty when there is none.
     */
    public static Optional<SavedToken> savedToken(Map<String, String> env) throws IOException {
        Optional<String> token = set(env, "HF_TOKEN");
        if (token.isPresent()) return Optional.of(new SavedToken(token.get().trim(), "HF_TOKEN"));
        Path file = set(env, "HF_TOKEN_PATH").map(Path::of).orElseGet(() -> hfHome(env).resolve("token"));
        if (!Files.isRegularFile(file)) return Optional.empty();
        String saved = Files.readString(file, StandardCharsets.UTF_8).trim();
        return saved.isEmpty() ? Optional.empty() : Optional.of(new SavedToken(saved, file.toString()));
    }

    /** $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
    private static Path hfHome(Map<String, String> env) {
        Optional<String> home = set(env, "HF_HOME"), xdg = set(env, "XDG_CACHE_HOME");
        if (home.isPresent()) return Path.of(home.get());
        if (xdg.isPresent()) return Path.of(xdg.get(), "huggingface");
        return Path.of(System.getProperty("user.home"), ".cache", "huggingface");
    }

    /** An environment variable's value, unless it is unset or blank (which huggingface_hub takes as unset too). */
    private static Optional<String> set(Map<String, String> env, String name) {
        return Optional.ofNullable(env.get(name)).filter(v -> !v.isBlank());
    }

    public Path root() {
        return root;
    }

    /** models--ORG--NAME for "ORG/NAME", models--NAME for a legacy id without an organisation. */
    public Path repoFolder(String repoId) {
        return root.resolve("models--" + repoId.replace("/", "--"));
    }

    /** The snapshot of a revision, if it exists: a commit hash's own folder, else the one refs/&lt;revision&gt; points to. */
    public Optional<Path> snapshot(String repoId, String revision) throws IOException {
        String commit = revision;
        if (!isCommit(revision)) {
            Path ref = ref(repoId, revision);
            if (!Files.isRegularFile(ref)) return Optional.empty();
            commit = Files.readString(ref, StandardCharsets.UTF_8).trim();
            if (!isCommit(commit)) return Optional.empty();
        }
        Path snapshot = snapshotFolder(repoId, commit);
        return Files.isDirectory(snapshot) ? Optional.of(snapshot) : Optional.empty();
    }

    /** Whether a revision is a full commit hash, which names its snapshot without a ref. */
    public static boolean isCommit(String revision) {
        return COMMIT.matcher(revision).matches();
    }

    /** refs/&lt;revision&gt;; a hub revision like refs/pr/1 is a nested path, as huggingface_hub stores it. */
    public Path ref(String repoId, String revision) {
        return repoFolder(repoId).resolve("refs").resolve(revision);
    }

    public Path snapshotFolder(String repoId, String commit) {
        return repoFolder(repoId).resolve("snapshots").resolve(commit);
    }

    public Path blob(String repoId, String etag) {
        return repoFolder(repoId).resolve("blobs").resolve(etag);
    }

    /** Makes snapshots/&lt;commit&gt;/&lt;file&gt; point at the blob; a copy where the file system has no symlinks. */
    public void link(String repoId, String commit, String file, String etag) throws IOException {
        Path pointer = snapshotFolder(repoId, commit).resolve(file);
        Path blob = blob(repoId, etag);
        Files.createDirectories(pointer.getParent());
        if (Files.isRegularFile(pointer)) return;   // follows the link: present and its blob too
        Files.deleteIfExists(pointer);              // a dangling link left by an interrupted run
        try {
            Files.createSymbolicLink(pointer, pointer.getParent().relativize(blob));
        } catch (UnsupportedOperationException | IOException e) {
            AtomicFiles.copy(blob, pointer);
        }
    }

    /** Writes refs/&lt;revision&gt; = commit through a temporary file and a rename, so readers never see half a hash. */
    public void setRef(String repoId, String revision, String commit) throws IOException {
        AtomicFiles.write(ref(repoId, revision), commit.getBytes(StandardCharsets.UTF_8));
    }
}
