"""PyTorch peer for LayerBench: the same attention, GELU and residual LayerNorm work on the same shapes, float32.

Attention as transformers' eager BertSelfAttention computes it: scores = q·kᵀ·scale + mask,
softmax, dropout 0.1, ·v; the backward is autograd's through that graph (given dOut). GELU is
torch.nn.functional.gelu (exact erf form) and its autograd backward; bias + GELU is gelu(x + b), as
eager mode runs it after a Linear whose bias is not in the GEMM. The residual block end is
transformers' BertSelfOutput after its dense: layer_norm(dropout 0.1 (h) + residual) and its backward.
Run with 2 threads, keeping freed tensors in glibc's heap (page faults are slow on the development
VM; see bench/scripts/imdb_acceptance.sh):
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 \
      /usr/bin/python3 bench/scripts/layers_pytorch.py
Prints one JSON line per (model, op): median and best milliseconds over the timed runs.
"""
import json
import statistics
import time

import torch

torch.set_num_threads(2)
B, T, NH = 32, 128, 12


def timed(fn, warmup=3, runs=10):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), min(times)


def main():
    for model, hs, inter in (("minilm", 32, 1536), ("bert-base", 64, 3072)):
        g = torch.Generator().manual_seed(1)

        def heads():
            return torch.randn(B, T, NH, hs, generator=g).permute(0, 2, 1, 3).requires_grad_()

        q, k, v = heads(), heads(), heads()
        d_out = torch.randn(B, NH, T, hs, generator=g)
        mask = torch.zeros(B, 1, 1, T)
        for b in range(B):
            if b % 4:
                mask[b, ..., T - 8 * (b % 4):] = torch.finfo(torch.float32).min
        scale = hs ** -0.5
        dropout = torch.nn.Dropout(0.1)

        def attention():
            probs = torch.softmax(q @ k.transpose(-1, -2) * scale + mask, dim=-1)
            return dropout(probs) @ v

        def forward():
            with torch.no_grad():
                attention()

        def backward():
            out = attention()  # the graph is rebuilt each time: its forward is included, as a training step's recompute is not
            torch.autograd.grad(out, (q, k, v), d_out)

        x = torch.randn(B, T, inter, generator=g).requires_grad_()
        dx = torch.randn(B, T, inter, generator=g)

        def gelu_forward():
            with torch.no_grad():
                torch.nn.functional.gelu(x)

        def gelu_forward_backward():
            torch.autograd.grad(torch.nn.functional.gelu(x), x, dx)

        bias = torch.randn(inter, generator=g)

        def bias_gelu_forward():
            with torch.no_grad():
                torch.nn.functional.gelu(x + bias)

        def bias_gelu_forward_backward():
            torch.autograd.grad(torch.nn.functional.gelu(x + bias), x, dx)

        h = NH * hs
        hidden = torch.randn(B, T, h, generator=g).requires_grad_()
        residual = torch.randn(B, T, h, generator=g).requires_grad_()
        d_hidden = torch.randn(B, T, h, generator=g)
        norm = torch.nn.LayerNorm(h, eps=1e-12)

        def residual_norm_forward():
            with torch.no_grad():
                norm(dropout(hidden) + residual)

        def residual_norm_forward_backward():
            torch.autograd.grad(norm(dropout(hidden) + residual), (hidden, residual, norm.weight, norm.bias), d_hidden)

        for op, fn in (("attentionForward", forward), ("attentionForwardAndBackward", backward),
                       ("geluForward", gelu_forward), ("geluForwardAndBackward", gelu_forward_backward),
                       ("biasGeluForward", bias_gelu_forward), ("biasGeluForwardAndBackward", bias_gelu_forward_backward),
                       ("residualNormForward", residual_norm_forward),
                       ("residualNormForwardAndBackward", residual_norm_forward_backward)):
            median, best = timed(fn)
            print(json.dumps({"peer": "PyTorch " + torch.__version__, "threads": torch.get_num_threads(),
                              "model": model, "op": op, "median_ms": round(median, 2), "best_ms": round(best, 2)}))


if __name__ == "__main__":
    main()
