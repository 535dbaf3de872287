package dev.bertft.data;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The label set, taken from the training data the way Hugging Face's run_glue.py does for a custom data set:
 * the distinct label values, sorted (numerically when every label is an integer, else by Unicode code point,
 * as Python sorts strings), numbered 0..n-1 in that order. The sorted values are the names (id2label), so
 * integer labels 0..n-1 keep their ids and "neg"/"pos" become 0/1. Evaluation labels must be among them.
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

    private final List<String> names;
    private final Map<String, Integer> ids = new HashMap<>();
    private final boolean numeric;
    /** Where the names came from, for the error about a label outside them. */
    private final String origin;

    private Labels(List<String> names, boolean numeric, String origin) {
        this.names = List.copyOf(names);
        this.numeric = numeric;
        this.origin = origin;
        for (int i = 0; i < names.size(); i++) ids.put(names.get(i), i);
    }

    /** A fine-tuned model's labels (its id2label in id order), for evaluation data read without training data. */
    static Labels ofModel(List<String> names) {
        boolean numeric = names.stream().allMatch(n -> TableReader.INTEGER.matcher(n).matches());
        return new Labels(numeric ? names.stream().map(n -> String.valueOf(Long.parseLong(n))).toList() : names, numeric, "the model's labels");
    }

    static Labels fromTraining(List<RawExample> train, String source) throws DataException {
        Set<String> distinct = new LinkedHashSet<>();
        boolean numeric = true;
        for (RawExample e : train) {
            distinct.add(e.label());
            numeric &= e.numeric();
            if (distinct.size() > MAX_LABELS) throw new DataException(source + ": more than " + MAX_LABELS + " distinct labels");
        }
        List<String> names = new ArrayList<>(distinct);
        if (numeric) {
            names = names.stream().map(Long::parseLong).distinct().sorted().map(String::valueOf).toList();
        } else {
            names.sort(BY_CODE_POINT);
        }
        if (names.size() < 2) {
            throw new DataException(source + ": every training example has label '" + names.get(0) + "'; classification needs at least two labels");
        }
        return new Labels(names, numeric, "the training labels");
    }

    List<String> names() {
        return names;
    }

    int id(RawExample e) throws DataException {
        String key = numeric && e.numeric() ? String.valueOf(Long.parseLong(e.label())) : e.label();
        Integer id = ids.get(key);
        if (id == null) {
            String known = names.size() <= 20 ? String.join(", ", names) : String.join(", ", names.subList(0, 20)) + ", ...";
            throw new DataException(e.where() + ": label '" + e.label() + "' is not among " + origin + " (" + known + ")");
        }
        return id;
    }

    List<Example> examples(List<RawExample> raw) throws DataException {
        List<Example> out = new ArrayList<>(raw.size());
        for (RawExample e : raw) out.add(new Example(e.text(), e.textPair(), id(e)));
        return out;
    }
}
