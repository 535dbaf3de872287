#!/usr/bin/env python3
"""A small sentiment task and a randomly initialised BERT to fine-tune on it, for end-to-end runs
of `bert-ft train` / `predict` where neither IMDB nor a pretrained model can be reached (the GPU
machine has no network and no ../shared).

Writes into DIR:
  model/       config.json, model.safetensors (the `bert.*` weights only: the classifier head is
               made at fine-tuning time, as with bert-base-uncased), vocab.txt, tokenizer_config.json
  train.csv    4,000 texts, eval.csv 1,000 texts, columns text,label
  texts.txt    20 texts to classify with `predict`

Each text is 20-40 made-up neutral words with 4 sentiment words mixed in, each of the text's
label with probability 0.85: learnable from the words alone, not by a constant.
Needs only torch (the safetensors file is written by hand, as the test fixtures are).

usage: make_synthetic_task.py DIR [--hidden 256 --layers 4 --heads 4]
"""
import argparse
import csv
import json
import os
import random
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bert", "src", "test", "python"))
from make_bert_fixtures import write_safetensors  # noqa: E402

POSITIVE = "good great fine superb lovely brilliant charming delightful moving wonderful".split()
NEGATIVE = "bad awful dull boring poor terrible clumsy tedious weak dreadful".split()


def neutral_words(rng, n):
    syllables = ["ka", "lo", "mi", "nu", "pe", "ri", "so", "ta", "ve", "zu", "dan", "mor", "sil", "tem"]
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 3))))
    return sorted(words)


def texts(rng, neutral, n):
    rows = []
    for _ in range(n):
        label = rng.randint(0, 1)
        words = [rng.choice(neutral) for _ in range(rng.randint(20, 40))]
        for _ in range(4):
            own = rng.random() < 0.85
            pool = POSITIVE if (label == 1) == own else NEGATIVE
            words.insert(rng.randrange(len(words) + 1), rng.choice(pool))
        rows.append((" ".join(words), label))
    return rows


def bert_weights(vocab, hidden, layers, intermediate, positions, gen):
    """BertModel's parameters as HF initialises them: N(0, 0.02) matrices, zero biases, unit LayerNorm."""
    def normal(*shape):
        return torch.randn(*shape, generator=gen) * 0.02

    w = {
        "bert.embeddings.word_embeddings.weight": normal(vocab, hidden),
        "bert.embeddings.position_embeddings.weight": normal(positions, hidden),
        "bert.embeddings.token_type_embeddings.weight": normal(2, hidden),
        "bert.embeddings.LayerNorm.weight": torch.ones(hidden),
        "bert.embeddings.LayerNorm.bias": torch.zeros(hidden),
    }
    w["bert.embeddings.word_embeddings.weight"][0].zero_()  # padding_idx 0
    for i in range(layers):
        p = f"bert.encoder.layer.{i}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            w[p + name + ".weight"] = normal(hidden, hidden)
            w[p + name + ".bias"] = torch.zeros(hidden)
        w[p + "intermediate.dense.weight"] = normal(intermediate, hidden)
        w[p + "intermediate.dense.bias"] = torch.zeros(intermediate)
        w[p + "output.dense.weight"] = normal(hidden, intermediate)
        w[p + "output.dense.bias"] = torch.zeros(hidden)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + norm + ".weight"] = torch.ones(hidden)
            w[p + norm + ".bias"] = torch.zeros(hidden)
    w["bert.pooler.dense.weight"] = normal(hidden, hidden)
    w["bert.pooler.dense.bias"] = torch.zeros(hidden)
    return w


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    args = ap.parse_args()
    rng = random.Random(7)
    neutral = neutral_words(rng, 300)
    vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(10)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"] + POSITIVE + NEGATIVE + neutral

    model = os.path.join(args.dir, "model")
    os.makedirs(model, exist_ok=True)
    with open(os.path.join(model, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")
    with open(os.path.join(model, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 128, "tokenizer_class": "BertTokenizer"}, f)
    config = {"architectures": ["BertForMaskedLM"], "model_type": "bert", "vocab_size": len(vocab), "hidden_size": args.hidden,
              "num_hidden_layers": args.layers, "num_attention_heads": args.heads, "intermediate_size": 4 * args.hidden,
              "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
              "max_position_embeddings": 128, "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12,
              "pad_token_id": 0}
    with open(os.path.join(model, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    gen = torch.Generator().manual_seed(7)
    write_safetensors(os.path.join(model, "model.safetensors"),
                      bert_weights(len(vocab), args.hidden, args.layers, 4 * args.hidden, 128, gen))

    for name, n in (("train.csv", 4000), ("eval.csv", 1000)):
        with open(os.path.join(args.dir, name), "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["text", "label"])
            out.writerows(texts(rng, neutral, n))
    with open(os.path.join(args.dir, "texts.txt"), "w") as f:
        f.write("\n".join(t for t, _ in texts(rng, neutral, 20)) + "\n")
    print(f"synthetic task in {args.dir}: vocab {len(vocab)}, hidden {args.hidden}, {args.layers} layers, 4000 train / 1000 eval texts")


if __name__ == "__main__":
    main()
