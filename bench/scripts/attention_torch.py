"""torch.nn.functional.scaled_dot_product_attention at BERT-base's shapes (batch 32, 12 heads of 64
features, 128 and 512 tokens), forward alone and forward + backward, without dropout and with
training's 0.1, float32 heads (TF32 allowed, as a plain HF run on Ampere or later with tf32=True)
and bf16: the peer dev.bertft.cuda.AttentionThroughput is measured against, in the same run.
The heads are views of [B, T, H] projections, as transformers' sdpa attention passes them, with no
mask (transformers drops an all-ones attention mask). Each pass runs 3 times untimed, then 20 times
timed by CUDA events; the median and the extremes are printed, one JSON object a line, with
4·B·NH·T²·HS flops forward and 2.5 times as many backward.

    python3 bench/scripts/attention_torch.py [--reps 20]
"""
import argparse
import json

import torch
import torch.nn.functional as F

from cuda_events import time_ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=20)
    a = ap.parse_args()
    print(json.dumps({"gpu": torch.cuda.get_device_name(), "torch": torch.__version__}))
    b, nh, hs = 32, 12, 64
    for precision in ("tf32", "bf16"):
        torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        for t in (128, 512):
            q, k, v = (torch.randn(b, t, nh, hs, device="cuda", dtype=dtype, requires_grad=True) for _ in range(3))
            d_out = torch.randn(b, nh, t, hs, device="cuda", dtype=dtype)

            def forward(p):
                return F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), dropout_p=p)

            for p in (0.0, 0.1):
                passes = {"forward": lambda: forward(p), "fwd+bwd": lambda: forward(p).backward(d_out)}
                for name, run in passes.items():
                    median, fastest, slowest = time_ms(run, a.reps)
                    flops = 4.0 * b * nh * t * t * hs * (1 if name == "forward" else 3.5)
                    print(json.dumps({"precision": precision, "tokens": t, "dropout": p, "pass": name, "median_ms": median,
                                      "min_ms": fastest, "max_ms": slowest, "tflops": flops / (median / 1e3) / 1e12}))


if __name__ == "__main__":
    main()
