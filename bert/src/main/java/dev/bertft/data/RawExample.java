package dev.bertft.data;

/**
 * An example as read from a file, before labels become ids: the label as written ({@code numeric} when it
 * was an integer), and where it came from ("file:line" or "archive entry") for error messages.
 */
record RawExample(String text, String textPair, String label, boolean numeric, String where) {
}
