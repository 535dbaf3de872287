package dev.bertft.data;

import dev.bertft.train.ProblemType;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The problem type and the label set, taken from the training data the way Hugging Face's run_glue.py and
 * BertForSequenceClassification do for a custom data set.
 *
 * <p>The problem type is the one asked for, else told by the training labels: a list label makes it
 * multi-label classification; else a float label makes it regression; else (integers and names) it is
 * single-label classification. (A CSV cell "a|b" is a list, but the name "a|b" when single-label
 * classification is asked for.) Every label, training and evaluation, must then suit it, or loading fails
 * with the first that does not, before any training.
 *
 * <p>Names (config.json's id2label): single-label, the distinct labels sorted (numerically when every label
 * is an integer, else by Unicode code point, as Python sorts strings) and numbered 0..n-1 in that order, so
 * integer labels 0..n-1 keep their ids and "neg"/"pos" become 0/1; multi-label, the distinct names in the
 * lists sorted the same way, or LABEL_0..LABEL_{n-1} (transformers' default names) for multi-hot rows of n;
 * regression, the one output LABEL_0. Evaluation labels must be among the names.
 */
final class Labels {
    static final int MAX_LABELS = 10_000;
    private static final Comparator<String> BY_CODE_POINT = (a, b) -> {
        for (int i = 0, j = 0; i < a.length() && j < b.length(); ) {
            int ca = a.codePointAt(i), cb = b.codePointAt(j);
            if (ca != cb) return Integer.compare(ca, cb);
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length(), b.length());
    };

    private final ProblemType type;
    /** Why the labels must be of that type, for errors: the option, the model, or the first training label that decided it. */
    private final String because;
    private final List<String> names;
    private final Map<String, Integer> ids = new HashMap<>();
    private final boolean numeric;
    /** Multi-hot rows are labels here (multi-label sets from rows, and a model's labels), not only lists of names. */
    private final boolean takesRows;
    /** Where the names came from, for the error about a label outside them. */
    private final String origin;

    private Labels(ProblemType type, String because, List<String> names, boolean numeric, boolean takesRows, String origin) {
        this.type = type;
        this.because = because;
        this.names = List.copyOf(names);
        this.numeric = numeric;
        this.takesRows = takesRows;
        this.origin = origin;
        for (int i = 0; i < names.size(); i++) ids.put(names.get(i), i);
    }

    /** A fine-tuned model's labels (its id2label in id order) and problem type, for evaluation data read without training data. */
    static Labels ofModel(List<String> names, ProblemType type) throws DataException {
        String because = "the model's problem_type " + type.hfName();
        if (type == ProblemType.REGRESSION && names.size() != 1) {
            throw new DataException("a regression model with " + names.size() + " outputs; bert-ft's data has one score per example");
        }
        boolean numeric = names.stream().allMatch(n -> TableReader.INTEGER.matcher(n).matches());
        List<String> keys = numeric ? names.stream().map(n -> String.valueOf(Long.parseLong(n))).toList() : names;
        // Rows of the model's width are multi-hot; names in lists are looked up, so both forms evaluate.
        return new Labels(type, because, keys, numeric, type == ProblemType.MULTI_LABEL_CLASSIFICATION, "the model's labels");
    }

    static Labels fromTraining(List<RawExample> train, String source, ProblemType requested) throws DataException {
        ProblemType type = requested;
        // asked for by --problem-type or by the model's config.json
        String because = requested == null ? null : "problem_type " + requested.hfName();
        if (type == null) {
            RawExample decider = first(train, RawExample.Kind::isList);
            if (decider != null) {
                type = ProblemType.MULTI_LABEL_CLASSIFICATION;
            } else {
                decider = first(train, k -> k == RawExample.Kind.FLOAT);
                type = decider != null ? ProblemType.REGRESSION : ProblemType.SINGLE_LABEL_CLASSIFICATION;
            }
            because = type.hfName() + (decider == null ? ", as the training labels are integers and names"
                    : ", as the label " + decider.label() + " at " + decider.where() + " tells");
        }
        for (RawExample e : train) requireSuits(e, type, because);
        return switch (type) {
            case REGRESSION -> new Labels(type, because, List.of("LABEL_0"), false, false, "the training labels");
            case SINGLE_LABEL_CLASSIFICATION -> classes(train, source, type, because);
            case MULTI_LABEL_CLASSIFICATION -> {
                RawExample row = first(train, k -> k == RawExample.Kind.MULTI_HOT);
                if (row == null) yield classes(train, source, type, because);
                int width = row.items().size();
                for (RawExample e : train) {
                    if (e.kind() != RawExample.Kind.MULTI_HOT) {
                        throw new DataException(e.where() + ": label '" + e.label() + "' names classes, but the one at " + row.where()
                                + " is a multi-hot row; use one form throughout");
                    }
                }
                List<String> names = new ArrayList<>();
                for (int i = 0; i < width; i++) names.add("LABEL_" + i);
                yield new Labels(type, because, names, false, true, "the training labels");
            }
        };
    }

    /** The first example whose label is of such a kind, or null. */
    private static RawExample first(List<RawExample> examples, Predicate<RawExample.Kind> kind) {
        for (RawExample e : examples) if (kind.test(e.kind())) return e;
        return null;
    }

    /** The distinct classes of single-label examples, or of the names in multi-label lists, sorted. */
    private static Labels classes(List<RawExample> train, String source, ProblemType type, String because) throws DataException {
        Set<String> distinct = new LinkedHashSet<>();
        boolean numeric = true;
        for (RawExample e : train) {
            distinct.addAll(type == ProblemType.SINGLE_LABEL_CLASSIFICATION ? List.of(e.label()) : e.items());
            numeric &= e.kind() == RawExample.Kind.INTEGER;
            if (distinct.size() > MAX_LABELS) throw new DataException(source + ": more than " + MAX_LABELS + " distinct labels");
        }
        List<String> names = new ArrayList<>(distinct);
        if (numeric) {
            names = names.stream().map(Long::parseLong).distinct().sorted().map(String::valueOf).toList();
        } else {
            names.sort(BY_CODE_POINT);
        }
        if (names.size() < 2) {
            String only = names.isEmpty() ? "no label" : "label '" + names.get(0) + "'";
            throw new DataException(source + ": every training example has " + only + "; classification needs at least two labels");
        }
        return new Labels(type, because, names, numeric, false, "the training labels");
    }

    /** One line naming the example when its label cannot be a label of this problem type. */
    private static void requireSuits(RawExample e, ProblemType type, String because) throws DataException {
        String why = switch (type) {
            case SINGLE_LABEL_CLASSIFICATION -> switch (e.kind()) {
                case INTEGER, NAME, DELIMITED -> null;
                case FLOAT -> "is a fractional number, not a class";
                case NAME_LIST, MULTI_HOT -> "is a list, but each example has one class";
            };
            case REGRESSION -> switch (e.kind()) {
                case INTEGER, FLOAT -> null;
                case NAME -> e.label().matches("(?i)[+-]?(nan|inf|infinity)") ? "is not a finite number" : "is not a number";
                case NAME_LIST, DELIMITED, MULTI_HOT -> "is a list, but a regression label is one number";
            };
            case MULTI_LABEL_CLASSIFICATION -> switch (e.kind()) {
                case INTEGER, NAME, NAME_LIST, DELIMITED -> null;
                case FLOAT -> "is a fractional number, not a class or a list of classes";
                case MULTI_HOT -> e.items().stream().allMatch(v -> Double.parseDouble(v) == 0 || Double.parseDouble(v) == 1)
                        ? null : "is not a multi-hot row (only 0s and 1s)";
            };
        };
        if (why != null) throw new DataException(e.where() + ": label '" + e.label() + "' " + why + " (" + because + ")");
    }

    ProblemType problemType() {
        return type;
    }

    List<String> names() {
        return names;
    }

    private int id(RawExample e, String item) throws DataException {
        String key = numeric && TableReader.INTEGER.matcher(item).matches() ? String.valueOf(Long.parseLong(item)) : item;
        Integer id = ids.get(key);
        if (id == null) {
            String known = names.size() <= 20 ? String.join(", ", names) : String.join(", ", names.subList(0, 20)) + ", ...";
            throw new DataException(e.where() + ": label '" + item + "' is not among " + origin + " (" + known + ")");
        }
        return id;
    }

    private Example example(RawExample e) throws DataException {
        requireSuits(e, type, because);
        return switch (type) {
            case SINGLE_LABEL_CLASSIFICATION -> new Example(e.text(), e.textPair(), id(e, e.label()));
            case REGRESSION -> new Example(e.text(), e.textPair(), new float[] {Float.parseFloat(e.label())});
            case MULTI_LABEL_CLASSIFICATION -> new Example(e.text(), e.textPair(), multiHot(e));
        };
    }

    private float[] multiHot(RawExample e) throws DataException {
        float[] row = new float[names.size()];
        if (e.kind() == RawExample.Kind.MULTI_HOT) {
            if (!takesRows || e.items().size() != row.length) {
                throw new DataException(e.where() + ": label '" + e.label() + "' is not a multi-hot row of " + row.length
                        + " (" + origin + ": " + String.join(", ", names) + ")");
            }
            for (int i = 0; i < row.length; i++) row[i] = Float.parseFloat(e.items().get(i));
        } else {
            for (String item : e.items()) row[id(e, item)] = 1;
        }
        return row;
    }

    List<Example> examples(List<RawExample> raw) throws DataException {
        List<Example> out = new ArrayList<>(raw.size());
        for (RawExample e : raw) out.add(example(e));
        return out;
    }
}
