"""torch.matmul (cuBLAS) at BERT's product shapes, TF32 and bf16: the ceiling our GEMM is measured
against, in the same run as dev.bertft.cuda.GemmThroughput. Prints one JSON object per line.

Shapes: bert-base at batch 32 x 128 tokens (4096 rows; hidden 768, intermediate 3072) in the
layouts of a Linear's forward (x·Wᵀ) and weight gradient (Xᵀ·dY, summing over the 4096 tokens),
the same at 32 x 512 (16384 rows), attention's batched Q·Kᵀ and P·V (32 x 12 heads, head size
64) at both lengths, and a large square. Each product runs 3 times untimed, then 20 times timed
by CUDA events; the median and the extremes are printed (2·m·n·k flops a product).

    python3 bench/scripts/gemm_torch.py [--reps 20]
"""
import argparse
import json

import torch

from cuda_events import time_ms


def shapes():
    for tokens in (4096, 16384):
        for n, k in ((768, 768), (3072, 768), (768, 3072)):
            yield "x·Wᵀ", 1, tokens, n, k
            yield "Xᵀ·dY", 1, n, k, tokens
    for t in (128, 512):
        yield "Q·Kᵀ", 32 * 12, t, t, 64
        yield "P·V", 32 * 12, t, 64, t
    yield "x·w", 1, 8192, 8192, 8192


def operands(layout, batch, m, n, k, dtype):
    def r(*s):
        return torch.randn(*s, device="cuda", dtype=dtype)
    if layout == "x·Wᵀ":
        x, w = r(m, k), r(n, k)
        return lambda: torch.matmul(x, w.t())
    if layout == "Xᵀ·dY":
        xt, dy = r(k, m), r(k, n)
        return lambda: torch.matmul(xt.t(), dy)
    if layout == "Q·Kᵀ":
        q, kk = r(batch, m, k), r(batch, n, k)
        return lambda: torch.matmul(q, kk.transpose(-1, -2))
    a, b = r(batch, m, k), r(batch, k, n)
    return lambda: torch.matmul(a, b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=20)
    a = ap.parse_args()
    print(json.dumps({"gpu": torch.cuda.get_device_name(), "torch": torch.__version__}))
    for precision in ("tf32", "bf16"):
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        for layout, batch, m, n, k in shapes():
            median, fastest, slowest = time_ms(operands(layout, batch, m, n, k, dtype), a.reps)
            flops = 2.0 * batch * m * n * k
            print(json.dumps({"precision": precision, "layout": layout, "batch": batch, "m": m, "n": n, "k": k,
                              "median_ms": median, "min_ms": fastest, "max_ms": slowest,
                              "tflops": flops / (median / 1e3) / 1e12}))


if __name__ == "__main__":
    main()
