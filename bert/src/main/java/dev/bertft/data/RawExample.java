package dev.bertft.data;

import java.util.List;

/**
 * An example as read from a file, before labels become ids or numbers: the label as written, what it
 * looks like ({@link Kind}), its items (the label itself, or a list label's elements), and where it
 * came from ("file:line" or "archive entry") for error messages. Texts read for prediction have no label
 * (label and kind null, no items).
 */
record RawExample(String text, String textPair, String label, Kind kind, List<String> items, String where) {
    /** The shape of a label, which decides the problem type when none is asked for (see {@link Labels}). */
    enum Kind {
        /** Digits with an optional minus sign, or a JSON integer: a class id, or a score in a regression. */
        INTEGER,
        /** A finite number with a fraction or an exponent (3.5, -0.2, 1e-3): a regression score. */
        FLOAT,
        /** Any other text: a class name. */
        NAME,
        /** A JSON list of class names. */
        NAME_LIST,
        /** A CSV/TSV cell "a|b": a list of class names, unless single-label classification is asked for, where it is one name. */
        DELIMITED,
        /** A JSON list of 0s and 1s, one per class. */
        MULTI_HOT;

        boolean isList() {
            return this == NAME_LIST || this == DELIMITED || this == MULTI_HOT;
        }
    }

    RawExample {
        items = List.copyOf(items);
    }

    /** An example whose label is one value. */
    RawExample(String text, String textPair, String label, Kind kind, String where) {
        this(text, textPair, label, kind, List.of(label), where);
    }
}
