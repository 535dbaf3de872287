#!/usr/bin/env python3
"""Writes the PyTorch references for the regression and multi-label heads of the tiny BERT.

Run after make_bert_fixtures.py:  /usr/bin/python3 bert/src/test/python/make_problem_type_fixtures.py

It reuses that script's plain-torch BERT, the tiny model folder and the padded batch of
tiny_expected.safetensors, and computes the training-mode loss (dropout off) and every parameter's
gradient as transformers' BertForSequenceClassification.forward does for each problem_type:

- resources/bert/tiny_regression_expected.safetensors: a fresh one-output head
  ("classifier.weight" [1, H], "classifier.bias" [1]) and float labels [3];
  loss = MSELoss()(logits.squeeze(), labels.squeeze()).
- resources/bert/tiny_multilabel_expected.safetensors: the model's own three-label head and
  multi-hot float labels [3, 3]; loss = BCEWithLogitsLoss()(logits, labels).
"""
import json
import os

import torch

from make_bert_fixtures import RES, bert_for_sequence_classification, read_safetensors, write_safetensors


def loss_and_grads(p, cfg, batch, loss_fn):
    train_cfg = dict(cfg, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    params = {n: t.clone().requires_grad_(True) for n, t in p.items()}
    _, logits = bert_for_sequence_classification(params, train_cfg, batch["input_ids"], batch["token_type_ids"],
                                                 batch["attention_mask"], training=True)
    loss = loss_fn(logits)
    loss.backward()
    out = {"loss": loss.detach().reshape(1), "logits": logits.detach()}
    for n, t in params.items():
        out["grad." + n] = t.grad
    return out


def main():
    with open(os.path.join(RES, "tiny", "config.json")) as f:
        cfg = json.load(f)
    p = read_safetensors(os.path.join(RES, "tiny", "model.safetensors"))
    batch = {k: v.long() for k, v in read_safetensors(os.path.join(RES, "tiny_expected.safetensors")).items()
             if k in ("input_ids", "token_type_ids", "attention_mask")}
    torch.manual_seed(2026)

    regression = dict(p)
    regression["classifier.weight"] = torch.randn(1, cfg["hidden_size"]) * 0.2
    regression["classifier.bias"] = torch.tensor([0.3])
    scores = torch.tensor([3.5, -0.2, 1e-3])
    out = loss_and_grads(regression, cfg, batch,
                         lambda logits: torch.nn.MSELoss()(logits.squeeze(), scores.squeeze()))
    write_safetensors(os.path.join(RES, "tiny_regression_expected.safetensors"), {
        "classifier.weight": regression["classifier.weight"], "classifier.bias": regression["classifier.bias"],
        "labels": scores, **out})
    print("regression: logits", out["logits"].tolist(), "loss", out["loss"].item())

    multi_hot = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    out = loss_and_grads(p, cfg, batch, lambda logits: torch.nn.BCEWithLogitsLoss()(logits, multi_hot))
    write_safetensors(os.path.join(RES, "tiny_multilabel_expected.safetensors"), {"labels": multi_hot, **out})
    print("multi-label: logits", out["logits"].tolist(), "loss", out["loss"].item())


if __name__ == "__main__":
    main()
