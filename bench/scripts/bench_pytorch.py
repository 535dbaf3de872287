"""The PyTorch peer of `bert-ft bench`: the same model shape, batch and step, timed the same way.

A training step is forward, cross-entropy, backward, grad-norm clipping at 1.0 and AdamW (weight
decay 0.01 except biases and LayerNorm weights), dropout on; a prediction step is a forward pass
under no_grad. Warm-up steps are not timed. Each timed step ends when the device has finished it,
so the output has each step's median, minimum and maximum beside the mean.

Precisions, as an HF Trainer user sets them: fp32 (PyTorch's default, IEEE float32 products), tf32
(tf32=True), bf16 (bf16=True: torch.autocast to bfloat16), fp16 (fp16=True: autocast to float16 and
a GradScaler with PyTorch's defaults). --compile runs the model through torch.compile (PyTorch 2+). Random weights (HF's init: normal(0, 0.02) weights, zero biases), seeded random full-
length batches. Uses transformers' BertForSequenceClassification when it is installed (the GPU
machine), else the project's plain-PyTorch BERT (bert/src/test/python), which the Java parity
tests check against. Prints one JSON object with the fields `bert-ft bench --json` writes.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/scripts/bench_pytorch.py \
        --shape minilm-l6 --device cpu --threads 2
    python3 bench/scripts/bench_pytorch.py --shape bert-base --device cuda --precision bf16 [--compile]
"""
import contextlib
import argparse
import json
import os
import sys
import time

import torch

# transformers runs BERT's attention through scaled_dot_product_attention where PyTorch has it (2.0+)
DEFAULT_ATTENTION = "sdpa" if hasattr(torch.nn.functional, "scaled_dot_product_attention") else "eager"

SHAPES = {
    "bert-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    "bert-large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
    "minilm-l6": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536),
}
BASE = dict(vocab_size=30522, max_position_embeddings=512, type_vocab_size=2, hidden_dropout_prob=0.1,
            attention_probs_dropout_prob=0.1, layer_norm_eps=1e-12, initializer_range=0.02, num_labels=2)


def hf_model(cfg, device, compile_model):
    """transformers' own model with sdpa attention (what a Trainer user gets), named in the output."""
    import transformers
    torch.manual_seed(42)
    m = transformers.BertForSequenceClassification(transformers.BertConfig(attn_implementation="sdpa", **cfg)).to(device)
    params = dict(m.named_parameters())
    run = torch.compile(m) if compile_model else m

    def forward(ids, types, mask):
        return run(input_ids=ids, token_type_ids=types, attention_mask=mask).logits

    attention = getattr(m.config, "_attn_implementation", "eager")
    return "transformers %s, %s attention" % (transformers.__version__, attention), m.train, m.eval, forward, params


def plain_model(cfg, device, attention):
    """The project's plain-PyTorch BERT with HF's initialisation."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bert", "src", "test", "python"))
    from make_bert_fixtures import bert_for_sequence_classification
    torch.manual_seed(42)
    h, inter, std = cfg["hidden_size"], cfg["intermediate_size"], cfg["initializer_range"]
    shapes = {"bert.embeddings.word_embeddings": (cfg["vocab_size"], h),
              "bert.embeddings.position_embeddings": (cfg["max_position_embeddings"], h),
              "bert.embeddings.token_type_embeddings": (cfg["type_vocab_size"], h)}
    p = {n + ".weight": torch.randn(*s) * std for n, s in shapes.items()}
    p["bert.embeddings.LayerNorm.weight"], p["bert.embeddings.LayerNorm.bias"] = torch.ones(h), torch.zeros(h)
    dense = {"attention.self.query": (h, h), "attention.self.key": (h, h), "attention.self.value": (h, h),
             "attention.output.dense": (h, h), "intermediate.dense": (inter, h), "output.dense": (h, inter)}
    for i in range(cfg["num_hidden_layers"]):
        layer = "bert.encoder.layer.%d." % i
        for n, s in dense.items():
            p[layer + n + ".weight"], p[layer + n + ".bias"] = torch.randn(*s) * std, torch.zeros(s[0])
        for n in ("attention.output.LayerNorm", "output.LayerNorm"):
            p[layer + n + ".weight"], p[layer + n + ".bias"] = torch.ones(h), torch.zeros(h)
    p["bert.pooler.dense.weight"], p["bert.pooler.dense.bias"] = torch.randn(h, h) * std, torch.zeros(h)
    p["classifier.weight"], p["classifier.bias"] = torch.randn(cfg["num_labels"], h) * std, torch.zeros(cfg["num_labels"])
    params = {n: t.to(device).requires_grad_(True) for n, t in p.items()}
    mode = {"training": True}

    def forward(ids, types, mask):
        return bert_for_sequence_classification(params, cfg, ids, types, mask, mode["training"])[1]

    cfg["_attn_implementation"] = attention
    return "plain PyTorch BERT, %s attention" % attention, lambda: mode.update(training=True), lambda: mode.update(training=False), forward, params


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=sorted(SHAPES), default="bert-base")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mode", choices=("train", "predict", "both"), default="both")
    ap.add_argument("--precision", choices=("fp32", "tf32", "bf16", "fp16"), default="fp32",
                    help="fp32; tf32 matmuls (HF's tf32=True); bf16 or fp16 autocast (HF's bf16=True, fp16=True)")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model (transformers only)")
    ap.add_argument("--plain", action="store_true", help="the plain-PyTorch BERT even where transformers is installed")
    ap.add_argument("--attention", choices=("eager", "sdpa"), default=DEFAULT_ATTENTION,
                    help="attention of the plain BERT: sdpa (the default where PyTorch has it: torch's "
                         "scaled_dot_product_attention, transformers' choice on PyTorch 2) or eager (the softmax "
                         "written out); transformers' model always runs sdpa")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cuda = a.device.startswith("cuda")
    if cuda:
        # HF's bf16/fp16 leave tf32 at PyTorch's default (off); only tf32=True turns it on
        torch.backends.cuda.matmul.allow_tf32 = a.precision == "tf32"
        torch.backends.cudnn.allow_tf32 = a.precision == "tf32"
    half = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(a.precision)

    def autocast():
        if half is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda" if cuda else "cpu", dtype=half)

    cfg = dict(BASE, **SHAPES[a.shape])
    try:
        if a.plain:
            raise ImportError
        name, train_mode, eval_mode, forward, params = hf_model(cfg, a.device, a.compile)
    except ImportError:
        if a.compile:
            sys.exit("bench_pytorch.py: --compile needs transformers")
        name, train_mode, eval_mode, forward, params = plain_model(cfg, a.device, a.attention)

    gen = torch.Generator().manual_seed(7)
    ids = torch.randint(1, cfg["vocab_size"], (a.batch_size, a.seq_len), generator=gen).to(a.device)
    types, mask = torch.zeros_like(ids), torch.ones_like(ids)
    labels = torch.randint(0, cfg["num_labels"], (a.batch_size,), generator=gen).to(a.device)
    embeddings = sum(t.numel() for n, t in params.items() if "embeddings" in n and "LayerNorm" not in n)
    total = sum(t.numel() for t in params.values())
    tokens = a.batch_size * a.seq_len
    out = {"peer": "PyTorch %s, %s" % (torch.__version__, name), "device": a.device, "precision": a.precision,
           "compile": a.compile, "threads": a.threads, "model": a.shape, "batch_size": a.batch_size, "seq_len": a.seq_len, "parameters": total}
    if a.device.startswith("cuda"):
        out["gpu"] = torch.cuda.get_device_name()

    def timed(step, result, pipelined):
        """Seconds of each timed step after the warm-up. A pipelined step on the GPU is timed by CUDA
        events and nothing is read back until the end, so the host queues the next step while the GPU
        runs this one (the training loop's best case); otherwise each step ends with its result on the
        host, as a prediction loop needs it."""
        for _ in range(a.warmup):
            result(step())
        if pipelined and cuda:
            events = [torch.cuda.Event(enable_timing=True) for _ in range(a.steps + 1)]
            events[0].record()
            for i in range(a.steps):
                last = step()
                events[i + 1].record()
            result(last)
            torch.cuda.synchronize()
            return [events[i].elapsed_time(events[i + 1]) / 1e3 for i in range(a.steps)]
        times = []
        for _ in range(a.steps):
            start = time.perf_counter()
            result(step())
            times.append(time.perf_counter() - start)
        return times

    def timing(times, flops_per_token):
        steps, seconds = len(times), sum(times)
        ordered = sorted(times)
        median = (ordered[(steps - 1) // 2] + ordered[steps // 2]) / 2
        return {"steps": steps, "seconds": seconds, "seconds_per_step": seconds / steps,
                "median_ms": median * 1e3, "min_ms": ordered[0] * 1e3, "max_ms": ordered[-1] * 1e3,
                "samples_per_second": a.batch_size * steps / seconds, "tokens_per_second": tokens * steps / seconds,
                "tflops": flops_per_token * (total - embeddings) * tokens * steps / seconds / 1e12}

    if a.mode != "predict":
        train_mode()
        decay = [p for n, p in params.items() if not (n.endswith("bias") or "LayerNorm" in n)]
        plain = [p for n, p in params.items() if n.endswith("bias") or "LayerNorm" in n]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": plain, "weight_decay": 0.0}],
                                lr=1e-5, betas=(0.9, 0.999), eps=1e-8)

        scaler = torch.cuda.amp.GradScaler() if a.precision == "fp16" else None

        def step():
            with autocast():
                loss = torch.nn.functional.cross_entropy(forward(ids, types, mask), labels)
            if scaler is None:
                loss.backward()
                torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
                opt.step()
            else:
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
                scaler.step(opt)
                scaler.update()
            opt.zero_grad()
            return loss

        out["train"] = timing(timed(step, lambda loss: loss.item(), pipelined=True), 6)

    if a.mode != "train":
        eval_mode()
        with torch.no_grad(), autocast():
            out["predict"] = timing(timed(lambda: forward(ids, types, mask), lambda logits: logits.cpu(), pipelined=False), 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
