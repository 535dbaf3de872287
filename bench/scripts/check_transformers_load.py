#!/usr/bin/env python3
"""Loads a model folder that `bert-ft train` wrote with Hugging Face transformers (its tokenizer
from the same folder), classifies the texts `bert-ft predict` classified, and compares the logits.
Runs on the CPU in float32, so it is the reference whatever device bert-ft used.

usage: check_transformers_load.py MODEL_DIR TEXTS_FILE PREDICTIONS_JSONL [--tolerance 0.01] [--json OUT]
Exit status 0 when every logit agrees within the tolerance and every predicted label is the same;
--json also writes the figures: {"texts", "largest_logit_difference", "tolerance", "labels_differ"}.
"""
import argparse
import json
import sys

import torch
import transformers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("texts")
    ap.add_argument("predictions")
    ap.add_argument("--tolerance", type=float, default=0.01)
    ap.add_argument("--json", help="where to write the figures")
    args = ap.parse_args()
    texts = [line.rstrip("\n") for line in open(args.texts) if line.strip()]
    ours = [json.loads(line) for line in open(args.predictions) if line.strip()]
    if len(texts) != len(ours):
        sys.exit(f"{len(texts)} texts but {len(ours)} predictions")

    tokenizer = transformers.AutoTokenizer.from_pretrained(args.model)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(args.model).eval()
    with torch.no_grad():
        batch = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
        logits = model(**batch).logits
    worst, disagreements = 0.0, 0
    for i, p in enumerate(ours):
        theirs = logits[i].tolist()
        worst = max(worst, max(abs(a - b) for a, b in zip(p["logits"], theirs)))
        disagreements += int(max(range(len(theirs)), key=theirs.__getitem__) != p["label_id"])
    print(f"transformers {transformers.__version__} loaded {args.model} ({type(model).__name__}, "
          f"{sum(t.numel() for t in model.parameters())} parameters); {len(texts)} texts: "
          f"largest logit difference {worst:.2e} (tolerance {args.tolerance}), {disagreements} labels differ")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"texts": len(texts), "largest_logit_difference": worst, "tolerance": args.tolerance,
                       "labels_differ": disagreements}, f)
    return 0 if worst <= args.tolerance and disagreements == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
