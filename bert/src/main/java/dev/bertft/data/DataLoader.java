package dev.bertft.data;

import dev.bertft.classifier.ProblemType;
import dev.bertft.hub.HttpDownloader;
import dev.bertft.hub.ModelResolver;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Builds the {@link Dataset} the Trainer uses from {@link DataOptions}.
 *
 * <p>Where evaluation examples come from, first match wins: --eval-data (its own test/validation part if
 * it has one, else all of it); --validation-split (a seeded random part of the training data); the data's
 * own test or validation part; else none. Labels and the problem type are fixed by the training examples
 * and --problem-type (see {@link Labels}).
 *
 * <p>Randomness: one {@code SplittableRandom(seed)} is split into three independent streams, for the
 * validation split, the training subset and the evaluation subset, in that order. Subsets are drawn after
 * the validation split, so --max-train-samples never changes which examples are held out.
 */
public final class DataLoader {
    public static final URI IMDB_URL = URI.create("https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz");
    /** Published SHA-256 of aclImdb_v1.tar.gz (84,125,825 bytes). */
    public static final String IMDB_SHA256 = "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe";

    private record Source(List<RawExample> train, List<RawExample> eval) {
    }

    private final Path cacheDir;
    private final HttpDownloader http;
    private final URI imdbUrl;
    private final String imdbSha256;

    /**
     * @param cacheDir   where the imdb archive is kept (datasets/aclImdb_v1.tar.gz under it)
     * @param imdbSha256 the archive's SHA-256, or null not to check it
     */
    public DataLoader(Path cacheDir, HttpDownloader http, URI imdbUrl, String imdbSha256) {
        this.cacheDir = cacheDir;
        this.http = http;
        this.imdbUrl = imdbUrl;
        this.imdbSha256 = imdbSha256;
    }

    /** The command line's loader: cache in $BERTFT_CACHE, else $XDG_CACHE_HOME/bert-ft, else ~/.cache/bert-ft. */
    public static DataLoader fromEnvironment() {
        Map<String, String> env = System.getenv();
        Path cache = env.containsKey("BERTFT_CACHE") ? Path.of(env.get("BERTFT_CACHE"))
                : env.containsKey("XDG_CACHE_HOME") ? Path.of(env.get("XDG_CACHE_HOME"), "bert-ft")
                : Path.of(System.getProperty("user.home"), ".cache", "bert-ft");
        return new DataLoader(cache, HttpDownloader.forCommandLine(null, null), IMDB_URL, IMDB_SHA256);
    }

    /** True when HF_HUB_OFFLINE asks for offline mode; the CLI ORs this with --offline. */
    public static boolean offlineByEnvironment() {
        return ModelResolver.offlineByEnvironment(System.getenv());
    }

    public Dataset load(DataOptions o) throws IOException {
        if (o.validationSplit() < 0 || o.validationSplit() >= 1) {
            throw new DataSettingException("{0} must be at least 0 and below 1, got " + o.validationSplit(), DataSetting.VALIDATION_SPLIT);
        }
        if (o.validationSplit() > 0 && o.evalData() != null) {
            throw new DataSettingException("{0} and {1} both given; choose one", DataSetting.VALIDATION_SPLIT, DataSetting.EVAL_DATA);
        }
        if (o.maxTrainSamples() < 0 || o.maxEvalSamples() < 0) throw new DataSettingException("{0} and {1} must not be negative", DataSetting.MAX_TRAIN_SAMPLES, DataSetting.MAX_EVAL_SAMPLES);
        Streams random = Streams.of(o.seed());

        Source data = read(o.data(), o);
        List<RawExample> train = data.train();
        List<RawExample> eval;
        if (o.evalData() != null) {
            eval = evaluationExamples(o);
        } else if (o.validationSplit() > 0) {
            Subsets.Split<RawExample> split = Subsets.holdOut(train, o.validationSplit(), random.split(), o.data());
            train = split.train();
            eval = split.eval();
        } else {
            eval = data.eval();
        }
        if (train.isEmpty()) throw new DataException(o.data() + ": no training examples");
        Labels labels = Labels.fromTraining(train, o.data(), o.problemType());
        return new Dataset(
                labels.examples(Subsets.sample(train, o.maxTrainSamples(), random.train())),
                labels.examples(Subsets.sample(eval, o.maxEvalSamples(), random.eval())),
                labels.names(), labels.problemType());
    }

    /**
     * Only the examples of {@code --eval-data}, numbered by a fine-tuned model's labels (its
     * id2label in id order) as its problem type reads them: evaluation without reading any training
     * data. The subset of {@code --max-eval-samples} is the one {@link #load} draws with the same seed.
     */
    public Dataset loadEvaluation(DataOptions o, List<String> modelLabels, ProblemType modelType) throws IOException {
        if (o.evalData() == null) throw new DataSettingException("no {0} to evaluate on", DataSetting.EVAL_DATA);
        if (o.maxEvalSamples() < 0) throw new DataSettingException("{0} must not be negative", DataSetting.MAX_EVAL_SAMPLES);
        if (o.problemType() != null && o.problemType() != modelType) {
            throw new DataSettingException("{0} " + o.problemType().hfName() + " is not the model's problem_type " + modelType.hfName(), DataSetting.PROBLEM_TYPE);
        }
        Labels labels = Labels.ofModel(modelLabels, modelType);
        return new Dataset(List.of(), labels.examples(Subsets.sample(evaluationExamples(o), o.maxEvalSamples(), Streams.of(o.seed()).eval())),
                labels.names(), modelType);
    }

    /**
     * The texts of a CSV, TSV or JSON Lines file for prediction, in the file's order: each as a {@link LabeledText}
     * whose label is null (a label column, if the file has one, is not read).
     */
    public static List<LabeledText> readTexts(Path file, TextColumns columns) throws IOException {
        List<LabeledText> out = new ArrayList<>();
        for (RawExample e : TableReader.read(file, columns, null)) out.add(new LabeledText(e.text(), e.textPair(), null));
        return out;
    }

    /**
     * Examples given in memory, labelled as files' examples are: the problem type asked for, or the one the
     * training labels tell; the label names from the training examples. {@code eval} may be empty.
     */
    public static Dataset fromMemory(List<LabeledText> train, List<LabeledText> eval, ProblemType problemType) throws DataException {
        if (train.isEmpty()) throw new DataException("no training examples");
        List<RawExample> rawTrain = raw(train, "training example "), rawEval = raw(eval, "evaluation example ");
        Labels labels = Labels.fromTraining(rawTrain, "the training examples", problemType);
        return new Dataset(labels.examples(rawTrain), labels.examples(rawEval), labels.names(), labels.problemType());
    }

    private static List<RawExample> raw(List<LabeledText> examples, String what) throws DataException {
        List<RawExample> out = new java.util.ArrayList<>(examples.size());
        for (int i = 0; i < examples.size(); i++) out.add(examples.get(i).raw(what + i));
        return out;
    }

    /** The three streams split from SplittableRandom(seed), in this order (see the top). */
    private record Streams(SplittableRandom split, SplittableRandom train, SplittableRandom eval) {
        static Streams of(long seed) {
            SplittableRandom root = new SplittableRandom(seed);
            return new Streams(root.split(), root.split(), root.split());
        }
    }

    /** --eval-data's evaluation split, or the whole of it when it has none (a single file). */
    private List<RawExample> evaluationExamples(DataOptions o) throws IOException {
        Source e = read(o.evalData(), o);
        return e.eval().isEmpty() ? e.train() : e.eval();
    }

    private Source read(String spec, DataOptions o) throws IOException {
        Path path;
        try {
            path = Path.of(spec);
        } catch (java.nio.file.InvalidPathException e) {
            throw new DataException("data " + spec + " is not a valid path: " + e.getMessage());
        }
        if (spec.equals("imdb") && !Files.exists(path)) return imdb(ImdbReader.readArchive(imdbArchive(o.offline())));
        if (Files.isDirectory(path)) {
            if (ImdbReader.root(path) != null) return imdb(ImdbReader.readFolder(path));
            return tableFolder(path, o);
        }
        if (!Files.isRegularFile(path)) throw new DataException("data " + spec + " does not exist (expected a file, a folder or \"imdb\")");
        String name = path.getFileName().toString();
        if (name.endsWith(".tar.gz") || name.endsWith(".tgz")) return imdb(ImdbReader.readArchive(path));
        return new Source(TableReader.read(path, o.textColumns(), o.labelColumn()), List.of());
    }

    private static Source imdb(ImdbReader.Splits s) {
        return new Source(s.train(), s.test());
    }

    /** A folder of tables: train.* required; validation.* (preferred) or test.* for evaluation. */
    private static Source tableFolder(Path dir, DataOptions o) throws IOException {
        Path train = table(dir, "train");
        if (train == null) {
            throw new DataException("data folder " + dir + " has neither aclImdb train/{neg,pos} folders nor a train.csv, train.tsv or train.jsonl file");
        }
        Path eval = table(dir, "validation");
        if (eval == null) eval = table(dir, "test");
        return new Source(TableReader.read(train, o.textColumns(), o.labelColumn()),
                eval == null ? List.of() : TableReader.read(eval, o.textColumns(), o.labelColumn()));
    }

    private static Path table(Path dir, String split) {
        for (String ext : List.of(".csv", ".tsv", ".jsonl", ".json")) {
            Path p = dir.resolve(split + ext);
            if (Files.isRegularFile(p)) return p;
        }
        return null;
    }

    /** The official archive in the cache, downloaded (resumable, atomic, checksummed) when absent. */
    private Path imdbArchive(boolean offline) throws IOException {
        Path archive = cacheDir.resolve("datasets").resolve("aclImdb_v1.tar.gz");
        if (Files.isRegularFile(archive)) return archive;
        if (offline) {
            throw new DataException("imdb: " + archive + " is not there and offline mode is on (--offline or HF_HUB_OFFLINE=1);"
                    + " download " + imdbUrl + " there, or pass --data path/to/aclImdb_v1.tar.gz");
        }
        http.download(imdbUrl, archive, -1, imdbSha256, "aclImdb_v1.tar.gz");
        return archive;
    }
}
