package dev.bertft.data;

import java.util.List;
import java.util.Objects;

/**
 * Where a table row's text is: one column; two read as a sentence pair ([CLS] first [SEP] second [SEP], the
 * second with token type 1, as run_glue.py tokenizes its two keys); or several joined into one text by a
 * delimiter, as run_classification.py does with its text_column_names and text_column_delimiter.
 *
 * @param names     the columns, in order
 * @param delimiter what joins the columns into one text, or null: one column, or two as a sentence pair
 */
public record TextColumns(List<String> names, String delimiter) {
    public TextColumns {
        names = List.copyOf(names);
        if (names.isEmpty()) throw new IllegalArgumentException("no text column given");
        if (delimiter == null && names.size() > 2) {
            throw new IllegalArgumentException("text columns " + names + ": one column, or two for a sentence pair; several columns are read"
                    + " as one text only when joined by a delimiter");
        }
    }

    /** One column, or two read as a sentence pair. */
    public static TextColumns of(String... names) {
        return new TextColumns(List.of(names), null);
    }

    /** The columns' texts joined into one by {@code delimiter} (run_classification.py's default is a space). */
    public static TextColumns joined(String delimiter, List<String> names) {
        return new TextColumns(names, Objects.requireNonNull(delimiter, "delimiter is null"));
    }

    /** Whether a row gives a sentence pair. */
    public boolean pair() {
        return delimiter == null && names.size() == 2;
    }

    /** The example's text from its columns' values, in the order of {@link #names()}. */
    public String text(String[] values) {
        return delimiter == null ? values[0] : String.join(delimiter, values);
    }

    /** The example's second text, or null. */
    public String secondText(String[] values) {
        return pair() ? values[1] : null;
    }

    /** How an error names the text's column(s). */
    String describeText() {
        return delimiter == null ? "'" + names.get(0) + "'" : "'" + String.join("' + '", names) + "'";
    }

    @Override
    public String toString() {
        return delimiter == null ? String.join(",", names) : String.join(",", names) + " joined by '" + delimiter + "'";
    }
}
