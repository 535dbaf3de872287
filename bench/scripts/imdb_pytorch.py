"""The PyTorch side of the IMDB acceptance run: what HF Trainer does for this job, in plain torch.

Input is the exact tokenized subset the Java run trains on (`bert-ft prepare` writes it), so both
sides see the same examples and token ids. Mirrors Trainer: seeded shuffling, dynamic padding,
AdamW with no decay on biases/LayerNorm weights, linear warmup/decay, grad-norm clipping at 1.0,
dropout on. Prints one JSON line with train_runtime, eval accuracy and eval_runtime; --epochs 0
only evaluates (a fine-tuned folder's own classifier).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/scripts/imdb_pytorch.py \
        --model ../shared/models/all-MiniLM-L6-v2 --train prep/train.jsonl --eval prep/eval.jsonl
"""
import argparse
import json
import math
import os
import sys
import time

import torch

# transformers runs BERT's attention through scaled_dot_product_attention where PyTorch has it (2.0+)
DEFAULT_ATTENTION = "sdpa" if hasattr(torch.nn.functional, "scaled_dot_product_attention") else "eager"

# The one plain-PyTorch BERT of the project (transformers is not installable here); the Java
# parity tests check our model against it.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bert", "src", "test", "python"))
from make_bert_fixtures import bert_for_sequence_classification, read_safetensors  # noqa: E402


def load_pretrained(folder, num_labels, seed):
    """Weights by HF name, "bert."-prefixed; the pooler and classifier it lacks get HF's init:
    normal(0, initializer_range) weights and zero biases. Returns trainable leaf tensors."""
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    p = {}
    for name, t in read_safetensors(os.path.join(folder, "model.safetensors")).items():
        name = name.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
        if name.endswith("position_ids") or name.startswith("cls."):
            continue
        p[name if name.startswith(("bert.", "classifier.")) else "bert." + name] = t.float()
    torch.manual_seed(seed)
    h, std, missing = cfg["hidden_size"], cfg.get("initializer_range", 0.02), []
    for name, shape in (("bert.pooler.dense", (h, h)), ("classifier", (num_labels, h))):
        if name + ".weight" not in p:
            p[name + ".weight"], p[name + ".bias"] = torch.randn(*shape) * std, torch.zeros(shape[0])
            missing += [name + ".weight", name + ".bias"]
    return {n: t.requires_grad_(True) for n, t in p.items()}, cfg, missing


def read(path):
    with open(path) as f:
        rows = [json.loads(line) for line in f]
    return [(r["input_ids"], r["label"]) for r in rows]


def collate(rows):
    t = max(len(ids) for ids, _ in rows)
    ids = torch.zeros(len(rows), t, dtype=torch.long)
    mask = torch.zeros(len(rows), t, dtype=torch.long)
    for i, (x, _) in enumerate(rows):
        ids[i, : len(x)] = torch.tensor(x)
        mask[i, : len(x)] = 1
    return ids, torch.zeros_like(ids), mask, torch.tensor([y for _, y in rows])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--train", required=True)
    ap.add_argument("--eval", required=True)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--eval-batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--warmup-ratio", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--attention", choices=("eager", "sdpa"), default=DEFAULT_ATTENTION,
                    help="sdpa (the default where PyTorch has it): torch's scaled_dot_product_attention, "
                         "transformers' choice on PyTorch 2; eager: the softmax written out")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    train, evaluation = read(a.train), read(a.eval)
    labels = sorted({y for _, y in train})
    params, cfg, missing = load_pretrained(a.model, len(labels), a.seed)
    cfg["_attn_implementation"] = a.attention

    def model(ids, types, mask, training):
        return bert_for_sequence_classification(params, cfg, ids, types, mask, training)[1]

    decay = [p for n, p in params.items() if not (n.endswith("bias") or "LayerNorm" in n)]
    plain = [p for n, p in params.items() if n.endswith("bias") or "LayerNorm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay}, {"params": plain, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    steps_per_epoch = math.ceil(len(train) / a.batch_size)
    total = steps_per_epoch * a.epochs
    warmup = math.ceil(a.warmup_ratio * total)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup)))

    gen = torch.Generator().manual_seed(a.seed)
    start = time.time()
    losses = []
    for _ in range(a.epochs):
        order = torch.randperm(len(train), generator=gen).tolist()
        for s in range(steps_per_epoch):
            ids, types, mask, y = collate([train[i] for i in order[s * a.batch_size:(s + 1) * a.batch_size]])
            loss = torch.nn.functional.cross_entropy(model(ids, types, mask, True), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            losses.append(loss.item())
    runtime = time.time() - start

    # evaluation as Trainer.evaluate runs it: in the file's order, each batch padded to its longest
    right, start = 0, time.time()
    with torch.no_grad():
        for s in range(0, len(evaluation), a.eval_batch_size):
            ids, types, mask, y = collate(evaluation[s:s + a.eval_batch_size])
            right += (model(ids, types, mask, False).argmax(-1) == y).sum().item()
    eval_runtime = time.time() - start
    print(json.dumps({"peer": f"PyTorch {torch.__version__}, {a.attention} attention", "threads": a.threads, "train_examples": len(train),
                      "steps": total, "train_runtime": round(runtime, 2),
                      "train_samples_per_second": round(len(train) * a.epochs / runtime, 3) if a.epochs else None,
                      "final_loss_10": round(sum(losses[-10:]) / len(losses[-10:]), 4) if losses else None,
                      "eval_examples": len(evaluation), "eval_accuracy": right / len(evaluation),
                      "eval_runtime": round(eval_runtime, 2),
                      "newly_initialized": missing}))


if __name__ == "__main__":
    main()
