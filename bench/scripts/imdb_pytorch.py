"""The PyTorch side of the IMDB acceptance run: what HF Trainer does for this job, in plain torch.

Input is the exact tokenized subset the Java run trains on (`bert-ft prepare` writes it), so both
sides see the same examples and token ids. Mirrors Trainer: seeded shuffling, dynamic padding,
AdamW with no decay on biases/LayerNorm weights, linear warmup/decay, grad-norm clipping at 1.0,
dropout on. Prints one JSON line with train_runtime and eval accuracy.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/scripts/imdb_pytorch.py \
        --model ../shared/models/all-MiniLM-L6-v2 --train prep/train.jsonl --eval prep/eval.jsonl
"""
import argparse
import json
import math
import time

import torch

from torch_bert import load_pretrained


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
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    train, evaluation = read(a.train), read(a.eval)
    labels = sorted({y for _, y in train})
    model, _, missing = load_pretrained(a.model, len(labels), a.seed)
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "LayerNorm" in n)]
    plain = [p for n, p in model.named_parameters() if n.endswith("bias") or "LayerNorm" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay}, {"params": plain, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    steps_per_epoch = math.ceil(len(train) / a.batch_size)
    total = steps_per_epoch * a.epochs
    warmup = math.ceil(a.warmup_ratio * total)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warmup) if s < warmup else max(0.0, (total - s) / max(1, total - warmup)))

    gen = torch.Generator().manual_seed(a.seed)
    model.train()
    start = time.time()
    losses = []
    for _ in range(a.epochs):
        order = torch.randperm(len(train), generator=gen).tolist()
        for s in range(steps_per_epoch):
            ids, types, mask, y = collate([train[i] for i in order[s * a.batch_size:(s + 1) * a.batch_size]])
            loss = torch.nn.functional.cross_entropy(model(ids, types, mask), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            losses.append(loss.item())
    runtime = time.time() - start

    model.eval()
    right = 0
    with torch.no_grad():
        for s in range(0, len(evaluation), a.eval_batch_size):
            ids, types, mask, y = collate(evaluation[s:s + a.eval_batch_size])
            right += (model(ids, types, mask).argmax(-1) == y).sum().item()
    print(json.dumps({"peer": f"PyTorch {torch.__version__}", "threads": a.threads, "train_examples": len(train),
                      "steps": total, "train_runtime": round(runtime, 2),
                      "train_samples_per_second": round(len(train) * a.epochs / runtime, 3),
                      "final_loss_10": round(sum(losses[-10:]) / len(losses[-10:]), 4),
                      "eval_examples": len(evaluation), "eval_accuracy": right / len(evaluation),
                      "newly_initialized": missing}))


if __name__ == "__main__":
    main()
