/**
 * Where models come from ({@code --model}): {@code ModelResolver.fromEnvironment(offline).resolve(model)}
 * returns a folder with config.json, the safetensors weights and the vocabulary, taken from a local folder,
 * the Hugging Face cache (shared with Python), or downloaded into that cache. {@link dev.bertft.hub.HttpDownloader}
 * is the one place that speaks HTTP; the data package reuses it for the imdb archive.
 */
package dev.bertft.hub;
