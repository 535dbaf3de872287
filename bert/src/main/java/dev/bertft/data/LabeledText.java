package dev.bertft.data;

import java.util.ArrayList;
import java.util.List;

/**
 * A training or evaluation example given in memory rather than in a file: a text, for sentence-pair tasks
 * a second text (else null), and its label as a JSON Lines file would hold it: a class name (String), an
 * integer class id (Integer, Long), a regression score (Double, Float), or for multi-label classification a
 * list of class names or a multi-hot row of 0s and 1s (a List).
 */
public record LabeledText(String text, String textPair, Object label) {

    /** A text and its label. */
    public static LabeledText of(String text, Object label) {
        return new LabeledText(text, null, label);
    }

    /** A sentence pair and its label. */
    public static LabeledText pair(String text, String textPair, Object label) {
        return new LabeledText(text, textPair, label);
    }

    /** The example as the files' readers make it, {@code where} naming it in errors ("training example 3"). */
    RawExample raw(String where) throws DataException {
        if (text == null || text.isBlank()) throw new DataException(where + ": empty text");
        if (textPair != null && textPair.isBlank()) throw new DataException(where + ": empty second text");
        if (label instanceof String name) {
            if (name.isBlank()) throw new DataException(where + ": empty label");
            return new RawExample(text, textPair, name.trim(), RawExample.Kind.NAME, where);
        }
        if (label instanceof Integer || label instanceof Long) {
            return new RawExample(text, textPair, label.toString(), RawExample.Kind.INTEGER, where);
        }
        if (label instanceof Double || label instanceof Float) {
            if (!Double.isFinite(((Number) label).doubleValue())) throw new DataException(where + ": label " + label + " is not a finite number");
            return new RawExample(text, textPair, label.toString(), RawExample.Kind.FLOAT, where);
        }
        if (label instanceof List<?> list) {
            boolean names = list.stream().allMatch(i -> i instanceof String s && !s.isBlank());
            boolean numbers = list.stream().allMatch(i -> i instanceof Number);
            if (!names && !numbers) throw new DataException(where + ": label " + list + " must list only class names or only 0s and 1s");
            List<String> items = new ArrayList<>();
            for (Object i : list) items.add(names ? ((String) i).trim() : i.toString());
            return new RawExample(text, textPair, list.toString(), names ? RawExample.Kind.NAME_LIST : RawExample.Kind.MULTI_HOT, items, where);
        }
        throw new DataException(where + ": label " + label + " is neither a class name, a number nor a list");
    }
}
