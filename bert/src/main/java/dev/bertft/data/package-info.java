/**
 * Where examples come from ({@code --data}, {@code --eval-data}, ...):
 * {@code DataLoader.fromEnvironment().load(options)} returns a {@link dev.bertft.data.Dataset} of
 * {@link dev.bertft.data.Example}s with the label names in id order. Sources: "imdb" (downloaded once into
 * the cache), an aclImdb folder or .tar.gz (streamed, never unpacked), CSV/TSV/JSON Lines files, or a folder
 * with train.* and validation.* / test.* tables.
 */
package dev.bertft.data;
