#!/usr/bin/env python3
"""Writes the PyTorch references for BertClassifier: resources/bert/tiny_pairs.json (sentence pairs) and
tiny_problem_types.json (the multi-label and regression readings of the tiny model).

Run after make_problem_type_fixtures.py:  /usr/bin/python3 bert/src/test/python/make_api_fixtures.py

The tiny model folder written by make_bert_fixtures.py classifies sentence pairs encoded as a BERT
tokenizer does: [CLS] A [SEP] B [SEP], token type 0 up to the first [SEP] and 1 after it, and with
max_length, "longest_first" truncation, which takes one token at a time off the end of the longer
text (off the second when they are equal) until the pair fits. The cases cut the first text, the
second, both, neither, and pair an empty text. One padded batch, eval-mode logits, softmax in float64.
"""
import json
import os

import torch

from make_bert_fixtures import RES, basic_tokens, bert_for_sequence_classification, load_vocab, pad, read_safetensors, wordpiece

MAX_LENGTH = 13
FIRST = ["The movie was great! I loved the acting, the music and the story.", "fun",
         "Awful boring film, I hated it and the plot.", "good film", ""]
SECOND = ["bad", "Not funny, not sad, not good: the worst film I ever watch again.",
          "The actors never really watch the scenes again, so sad.", "very good", "fun"]


def pieces(text, vocab):
    return [x for wd in basic_tokens(text) for x in wordpiece(wd, vocab)]


def truncate_longest_first(a, b, budget):
    while len(a) + len(b) > budget:
        if len(a) > len(b):
            a = a[:-1]
        else:
            b = b[:-1]
    return a, b


def main():
    folder = os.path.join(RES, "tiny")
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    p = read_safetensors(os.path.join(folder, "model.safetensors"))
    vocab = load_vocab(os.path.join(folder, "vocab.txt"))
    rows, types = [], []
    for a, b in zip(FIRST, SECOND):
        a, b = truncate_longest_first(pieces(a, vocab), pieces(b, vocab), MAX_LENGTH - 3)
        first = ["[CLS]"] + a + ["[SEP]"]
        rows.append([vocab[x] for x in first + b + ["[SEP]"]])
        types.append([0] * len(first) + [1] * (len(b) + 1))
    input_ids, token_type_ids, attention_mask = pad(rows, types)
    with torch.no_grad():
        _, logits = bert_for_sequence_classification(p, cfg, input_ids, token_type_ids, attention_mask)
    probs = torch.softmax(logits.double(), dim=-1)
    with open(os.path.join(RES, "tiny_pairs.json"), "w") as f:
        json.dump({"max_length": MAX_LENGTH, "texts": FIRST, "pairs": SECOND, "input_ids": rows, "token_type_ids": types,
                   "logits": logits.tolist(), "probs": probs.tolist(),
                   "labels": [cfg["id2label"][str(int(i))] for i in logits.argmax(-1)]}, f, indent=1)
    print("tiny pairs: lengths", [len(r) for r in rows], "labels", logits.argmax(-1).tolist())


def problem_types():
    """tiny_problem_types.json: the texts of tiny_predict.json through the tiny model read as a multi-label
    classifier (its own three-label head: a sigmoid per label, the labels above 0.5) and as a regression model
    (the one-output head of tiny_regression_expected.safetensors, from make_problem_type_fixtures.py)."""
    folder = os.path.join(RES, "tiny")
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    p = read_safetensors(os.path.join(folder, "model.safetensors"))
    vocab = load_vocab(os.path.join(folder, "vocab.txt"))
    with open(os.path.join(RES, "tiny_predict.json")) as f:
        texts = json.load(f)["texts"]
    rows = [[vocab[x] for x in ["[CLS]"] + pieces(s, vocab) + ["[SEP]"]] for s in texts]
    input_ids, token_type_ids, attention_mask = pad(rows)
    head = read_safetensors(os.path.join(RES, "tiny_regression_expected.safetensors"))
    regression = dict(p, **{n: head[n] for n in ("classifier.weight", "classifier.bias")})
    with torch.no_grad():
        _, logits = bert_for_sequence_classification(p, cfg, input_ids, token_type_ids, attention_mask)
        _, scores = bert_for_sequence_classification(regression, cfg, input_ids, token_type_ids, attention_mask)
    sigmoid = torch.sigmoid(logits.double())
    names = [cfg["id2label"][str(j)] for j in range(logits.shape[1])]
    with open(os.path.join(RES, "tiny_problem_types.json"), "w") as f:
        json.dump({"texts": texts, "multi_label_logits": logits.tolist(), "multi_label_probs": sigmoid.tolist(),
                   "multi_label_labels": [[n for n, s in zip(names, row) if s > 0.5] for row in sigmoid.tolist()],
                   "regression_scores": scores[:, 0].tolist()}, f, indent=1)
    print("problem types: multi-label", [[n for n, s in zip(names, row) if s > 0.5] for row in sigmoid.tolist()],
          "regression", scores[:, 0].tolist())


if __name__ == "__main__":
    main()
    problem_types()
