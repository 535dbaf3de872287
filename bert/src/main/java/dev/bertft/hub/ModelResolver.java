package dev.bertft.hub;

import dev.bertft.hub.HttpDownloader.Head;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Turns {@code --model} into a folder holding what a command needs ({@link ModelFiles.Needs}): config.json,
 * the weights (model.safetensors, else pytorch_model.bin) and the vocabulary, or the vocabulary alone. Every
 * command resolves {@code --model} here, the same way:
 * <ol>
 * <li>an existing local folder is used as it is;</li>
 * <li>a hub id ({@code bert-base-uncased}, {@code google-bert/bert-base-uncased}) whose snapshot of the revision
 *     (refs/main's unless {@link HubOptions#revision} names another branch, tag or commit) in the Hugging Face
 *     cache is complete is used without touching the network (delete the cache folder to pick up a newer
 *     commit);</li>
 * <li>otherwise the revision's commit is asked of {@code <endpoint>/<id>/resolve/<revision>/config.json}, the
 *     files are fetched from {@code <endpoint>/<id>/resolve/<commit>/<file>} into the cache, and a branch or tag
 *     is recorded in refs/&lt;revision&gt;.</li>
 * </ol>
 * Offline mode (--offline, HF_HUB_OFFLINE=1) stops after step 2 with an error that lists what was looked at.
 */
public final class ModelResolver {
    private static final Pattern HUB_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?");
    private static final Pattern SAFE_ETAG = Pattern.compile("[A-Za-z0-9_.-]{1,128}");
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    private final HubCache cache;
    private final HttpDownloader http;
    private final URI endpoint;
    private final String revision;
    private final boolean offline;

    public ModelResolver(HubCache cache, HttpDownloader http, URI endpoint, String revision, boolean offline) {
        this.cache = cache;
        this.http = http;
        this.endpoint = endpoint;
        this.revision = HubOptions.checkRevision(revision);
        this.offline = offline;
    }

    /**
     * The resolver {@code options} describe, the environment filling in what they leave unset: the cache per
     * HF_HUB_CACHE/HF_HOME, the token HF_TOKEN or the one huggingface-cli login saved, HF_ENDPOINT, and HF_HUB_OFFLINE.
     */
    public static ModelResolver fromEnvironment(HubOptions options) throws IOException {
        Map<String, String> env = System.getenv();
        URI endpoint = endpoint(env);
        Path root = options.cacheDir() != null ? options.cacheDir() : HubCache.defaultRoot(env);
        String token = options.token() != null ? options.token() : HubCache.savedToken(env).map(HubCache.SavedToken::value).orElse(null);
        return new ModelResolver(new HubCache(root), HttpDownloader.forCommandLine(token, endpoint), endpoint,
                options.revision(), options.offline() || offlineByEnvironment(env));
    }

    /** $HF_ENDPOINT, else https://huggingface.co. */
    public static URI endpoint(Map<String, String> env) {
        return URI.create(env.getOrDefault("HF_ENDPOINT", "https://huggingface.co").replaceAll("/+$", ""));
    }

    /** HF_HUB_OFFLINE set to 1/true/yes/on, as huggingface_hub reads it. */
    public static boolean offlineByEnvironment(Map<String, String> env) {
        String v = env.getOrDefault("HF_HUB_OFFLINE", "").trim().toLowerCase(Locale.ROOT);
        return v.equals("1") || v.equals("true") || v.equals("yes") || v.equals("on");
    }

    /** A model's folder and the folder its tokenizer is read from. */
    public record ModelAndTokenizer(Path model, Path tokenizer) {}

    /**
     * {@code model}'s folder and its tokenizer's: the model's own, or, when {@code tokenizer} is not null (HF's
     * tokenizer_name), that folder's or hub id's, the model then needing only its config and weights.
     */
    public ModelAndTokenizer resolveWithTokenizer(String model, String tokenizer) throws IOException {
        Path modelDir = resolve(model, tokenizer == null ? ModelFiles.Needs.MODEL : ModelFiles.Needs.WEIGHTS);
        return new ModelAndTokenizer(modelDir, tokenizer == null ? modelDir : resolve(tokenizer, ModelFiles.Needs.TOKENIZER));
    }

    /** A folder with a whole model. */
    public Path resolve(String model) throws IOException {
        return resolve(model, ModelFiles.Needs.MODEL);
    }

    public Path resolve(String model, ModelFiles.Needs needs) throws IOException {
        Optional<Path> local = existingFolder(model);
        if (local.isPresent()) {
            List<String> missing = ModelFiles.missing(local.get(), needs);
            if (!missing.isEmpty()) throw new HubException("model folder " + model + " lacks " + String.join(", ", missing));
            return local.get();
        }
        if (!HUB_ID.matcher(model).matches() || model.contains("--") || model.contains("..")) {
            throw new HubException("model folder " + model + " does not exist, and it is not a hub id like google-bert/bert-base-uncased");
        }
        List<String> lookedAt = new ArrayList<>();
        for (String name : cacheNames(model)) {
            Optional<Path> snapshot = cache.snapshot(name, revision);
            if (snapshot.isEmpty()) {
                lookedAt.add(cache.repoFolder(name) + (HubCache.isCommit(revision) ? " (no snapshot " + revision + ")"
                        : " (no refs/" + revision + " snapshot)"));
                continue;
            }
            List<String> missing = ModelFiles.missing(snapshot.get(), needs);
            if (missing.isEmpty()) return snapshot.get();
            lookedAt.add(snapshot.get() + " (lacks " + String.join(", ", missing) + ")");
        }
        if (offline) {
            throw new HubException("model " + model + " is not a local folder nor complete in the Hugging Face cache, and offline mode"
                    + " is on (--offline or HF_HUB_OFFLINE=1); looked in: " + String.join("; ", lookedAt));
        }
        return download(model, needs);
    }

    /**
     * Cache folder names to try for an id. The hub moved the original BERT checkpoints under organisations
     * (bert-base-uncased is now google-bert/bert-base-uncased and the old name redirects), so a cache made
     * by either name serves both.
     */
    static List<String> cacheNames(String model) {
        List<String> names = new ArrayList<>(List.of(model));
        int slash = model.indexOf('/');
        String name = slash < 0 ? model : model.substring(slash + 1);
        String org = slash < 0 ? "" : model.substring(0, slash);
        String legacyOrg = name.startsWith("distilbert-") ? "distilbert" : name.startsWith("bert-") ? "google-bert" : null;
        if (legacyOrg != null && slash < 0) names.add(legacyOrg + "/" + name);
        if (legacyOrg != null && org.equals(legacyOrg)) names.add(name);
        return names;
    }

    private Path download(String model, ModelFiles.Needs needs) throws IOException {
        Head config;
        try {
            config = headOfConfig(fileUri(model, revision, ModelFiles.CONFIG), model);
        } catch (HubException.Unreachable e) {
            throw new HubException(e.getMessage() + "; to work without the network, give --model a local folder (config.json, "
                    + ModelFiles.WEIGHTS + " or pytorch_model.bin, vocab.txt), or download " + model
                    + " once into the Hugging Face cache (" + cache.root() + ") and set HF_HUB_OFFLINE=1", e);
        }
        String commit = config.header("X-Repo-Commit").orElse("");
        if (!HubCache.isCommit(commit)) {
            throw new HubException("the answer for " + config.uri() + " has no X-Repo-Commit header; is " + endpoint + " a Hugging Face hub?");
        }
        // Every file is fetched by commit, config.json too (its answer by revision names the commit and its ETag),
        // so a push to the branch during the download cannot mix revisions.
        fetch(model, commit, ModelFiles.CONFIG, new Head(config.status(), fileUri(model, commit, ModelFiles.CONFIG), config.headers()));
        if (needs != ModelFiles.Needs.TOKENIZER) fetchWeights(model, commit);
        List<String> tokenizerFiles = new ArrayList<>(List.of(ModelFiles.VOCAB, ModelFiles.TOKENIZER));
        tokenizerFiles.addAll(ModelFiles.OPTIONAL);
        for (String file : tokenizerFiles) {
            Optional<Head> head = headIfPresent(fileUri(model, commit, file));
            if (head.isPresent()) fetch(model, commit, file, head.get());
        }
        Path snapshot = cache.snapshotFolder(model, commit);
        List<String> missing = ModelFiles.missing(snapshot, needs);
        if (!missing.isEmpty()) throw new HubException("model " + model + " on the hub lacks " + String.join(", ", missing));
        if (!revision.equals(commit)) cache.setRef(model, revision, commit);
        return snapshot;
    }

    /** The weights transformers would take: model.safetensors, else its sharded index and shards, else pytorch_model.bin. */
    private void fetchWeights(String model, String commit) throws IOException {
        Optional<Head> weights = headIfPresent(fileUri(model, commit, ModelFiles.WEIGHTS));
        if (weights.isPresent()) {
            fetch(model, commit, ModelFiles.WEIGHTS, weights.get());
            return;
        }
        Optional<Head> index = headIfPresent(fileUri(model, commit, ModelFiles.WEIGHTS_INDEX));
        if (index.isPresent()) {
            fetch(model, commit, ModelFiles.WEIGHTS_INDEX, index.get());
            Path snapshot = cache.snapshotFolder(model, commit);
            for (String shard : ModelFiles.shards(snapshot.resolve(ModelFiles.WEIGHTS_INDEX))) {
                URI uri = fileUri(model, commit, shard);
                fetch(model, commit, shard, headIfPresent(uri).orElseThrow(() -> new HubException(
                        "model " + model + ": " + ModelFiles.WEIGHTS_INDEX + " names " + shard + ", but the hub has no " + uri)));
            }
            return;
        }
        Head pytorch = headIfPresent(fileUri(model, commit, ModelFiles.PYTORCH_WEIGHTS)).orElseThrow(() -> new HubException(
                "model " + model + " has none of " + ModelFiles.WEIGHTS + ", " + ModelFiles.WEIGHTS_INDEX + " and "
                        + ModelFiles.PYTORCH_WEIGHTS + " on the hub"));
        fetch(model, commit, ModelFiles.PYTORCH_WEIGHTS, pytorch);
    }

    /** Stores one file as blobs/&lt;etag&gt; (downloading it unless present) and links it into the snapshot. */
    private void fetch(String model, String commit, String file, Head head) throws IOException {
        String etag = head.header("X-Linked-Etag").or(() -> head.header("ETag")).map(ModelResolver::stripEtag).orElse("");
        if (!SAFE_ETAG.matcher(etag).matches()) {
            throw new HubException("the answer for " + head.uri() + " has no usable ETag ('" + etag + "'); is " + endpoint + " a Hugging Face hub?");
        }
        boolean redirected = head.status() / 100 == 3;   // an LFS file: the hub's 302 to the CDN describes the file
        long size = head.header("X-Linked-Size").or(() -> redirected ? Optional.empty() : head.header("Content-Length"))
                .map(ModelResolver::parseSize).orElse(-1L);
        String sha256 = SHA256.matcher(etag).matches() ? etag : null;  // LFS etags are the content's SHA-256
        http.download(head.uri(), cache.blob(model, etag), size, sha256, model + "/" + file);
        cache.link(model, commit, file, etag);
    }

    private Head headOfConfig(URI uri, String model) throws HubException {
        Head h = http.head(uri);
        if (h.status() == 404 && !revision.equals(HubOptions.MAIN)) {
            throw new HubException("model " + model + " has no revision " + revision + " on the hub, or no config.json in it (HTTP 404 for "
                    + uri + ")");
        }
        if (h.status() == 401 || h.status() == 404) {
            throw new HubException("model " + model + " not found on the hub (HTTP " + h.status() + " for " + uri
                    + "), and there is no local folder of that name");
        }
        if (h.status() >= 400) throw new HubException("the hub answered HTTP " + h.status() + " for " + uri);
        return h;
    }

    private Optional<Head> headIfPresent(URI uri) throws HubException {
        Head h = http.head(uri);
        if (h.status() == 404) return Optional.empty();
        if (h.status() >= 400) throw new HubException("the hub answered HTTP " + h.status() + " for " + uri);
        return Optional.of(h);
    }

    /** A revision with a slash (refs/pr/1) is one path segment, its slashes escaped, as huggingface_hub sends it. */
    private URI fileUri(String model, String revision, String file) {
        return URI.create(endpoint + "/" + model + "/resolve/" + revision.replace("/", "%2F") + "/" + file);
    }

    /** A size header, or -1 (unknown: the download then trusts the GET's Content-Length) when it is not a number. */
    private static long parseSize(String header) {
        try {
            return Math.max(-1, Long.parseLong(header.trim()));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** ETag values come quoted and sometimes weak: W/"abc" and "abc" both name blob abc. */
    private static String stripEtag(String etag) {
        String e = etag.trim();
        if (e.startsWith("W/")) e = e.substring(2);
        if (e.length() >= 2 && e.startsWith("\"") && e.endsWith("\"")) e = e.substring(1, e.length() - 1);
        return e;
    }

    private static Optional<Path> existingFolder(String model) {
        try {
            Path p = Path.of(model);
            return Files.isDirectory(p) ? Optional.of(p) : Optional.empty();
        } catch (InvalidPathException e) {
            return Optional.empty();
        }
    }
}
