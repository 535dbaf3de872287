/**
 * BERT for sequence classification, module for module as transformers' modeling_bert.py:
 * {@link dev.bertft.bert.BertForSequenceClassification} holds a {@link dev.bertft.bert.BertModel}
 * (BertEmbeddings, BertEncoder of BertLayers — BertAttention (BertSelfAttention, BertSelfOutput),
 * BertIntermediate, BertOutput — and BertPooler), a dropout and the classifier. Each class names
 * its parameters as the checkpoint does, so {@code Module.namedParameters} yields
 * {@code bert.encoder.layer.0.attention.self.query.weight} and friends. Query, key and value are
 * trained as one [3·H, H] Linear ({@code Module.trainableParameters} names it
 * {@code attention.self.qkv}); the checkpoint names are views of its rows.
 *
 * <p>{@code fromPretrained(dir, backend, options)} reads config.json ({@link dev.bertft.bert.BertConfig})
 * and model.safetensors (or a sharded index, or a PyTorch pytorch_model.bin), accepting bare BertModel names and legacy LayerNorm
 * gamma/beta; a missing pooler or classifier is initialised and reported, unused tensors (cls.*,
 * position_ids) are reported as ignored, anything else missing or misshapen is an error naming the
 * tensor. {@code save(dir)} writes what transformers loads back: config.json, model.safetensors
 * and the tokenizer files of the folder the model came from.
 *
 * <p>The tests check the forward pass, the loss and every gradient against a plain-PyTorch BERT
 * (src/test/python/make_bert_fixtures.py), and all-MiniLM-L6-v2 against a float64 PyTorch run.
 */
package dev.bertft.bert;
