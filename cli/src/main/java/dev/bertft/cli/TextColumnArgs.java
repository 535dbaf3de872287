package dev.bertft.cli;

import dev.bertft.data.TextColumns;
import picocli.CommandLine.Option;

import java.util.List;

/** Where a table's text is, for the commands that read tables (train, eval, prepare, predict). */
final class TextColumnArgs {
    static final String DEFAULT = "text";

    @Option(names = "--text-column", defaultValue = DEFAULT, split = ",",
            description = "Text column (two, comma-separated, for sentence pairs). Default: ${DEFAULT-VALUE}.")
    List<String> textColumns;

    /** run_classification.py's text_column_names: its columns are joined into one text, where ours read two as a pair. */
    @Option(names = "--text-column-names", split = ",", hidden = true)
    List<String> joinedTextColumns;

    @Option(names = "--text-column-delimiter", paramLabel = "SEP",
            description = "Join the text columns into one text with SEP (run_classification.py's text_column_delimiter) instead of "
                    + "reading two as a sentence pair. --text_column_names joins with a space unless this is given, as that script does.")
    String textColumnDelimiter;

    /** Where the text is: --text-column (a pair when two), or columns joined by --text-column-delimiter or as --text-column-names. */
    TextColumns textColumns() {
        if (joinedTextColumns != null) {
            if (!textColumns.equals(List.of(DEFAULT))) throw new IllegalArgumentException("--text-column and --text-column-names: give one");
            return TextColumns.joined(textColumnDelimiter == null ? " " : textColumnDelimiter, joinedTextColumns);
        }
        return textColumnDelimiter == null ? TextColumns.of(textColumns.toArray(new String[0]))
                : TextColumns.joined(textColumnDelimiter, textColumns);
    }

    /** Whether the columns are other than the default single "text" column. */
    boolean given() {
        return !textColumns.equals(List.of(DEFAULT)) || joinedTextColumns != null || textColumnDelimiter != null;
    }
}
