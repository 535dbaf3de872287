/**
 * Where models come from ({@code --model}, the same for every command): {@code ModelResolver.fromEnvironment(hubOptions)
 * .resolve(model, needs)} returns a folder with config.json, the weights (model.safetensors, else pytorch_model.bin)
 * and the vocabulary, or the vocabulary alone for {@code tokenize}, taken from a local folder,
 * the Hugging Face cache (shared with Python), or downloaded into that cache. {@link dev.bertft.hub.HttpDownloader}
 * is the one place that speaks HTTP; the data package reuses it for the imdb archive.
 */
package dev.bertft.hub;
