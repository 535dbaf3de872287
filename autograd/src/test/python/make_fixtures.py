#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures the autograd tests compare against.

Run from the repository root with the system Python (PyTorch 1.13 from apt):

    /usr/bin/python3 autograd/src/test/python/make_fixtures.py

It writes three JSON files under autograd/src/test/resources/fixtures/:

  ops.json    one case per differentiable op: float32 inputs, a random upstream gradient dy,
              the output y and the gradient of sum(y * dy) for every float input.
  block.json  a BERT layer (multi-head self-attention with a padding mask, residual + LayerNorm,
              exact-GELU MLP, residual + LayerNorm): inputs, weights, the output, and the
              gradient of sum(out * R) for every weight and the input.
  adamw.json  ten steps of torch.optim.AdamW with weight-decay groups, gradient clipping and the
              transformers linear warmup/decay schedule: parameter values after every step.
  plateau.json  torch.optim.lr_scheduler.ReduceLROnPlateau (transformers' reduce_lr_on_plateau) under
              several option sets, fed one sequence of evaluation metrics: the rate after each.

Names given on the command line write only those files (python3 make_fixtures.py plateau.json).

A tensor is {"shape": [...], "data": [...]} in row-major order. Inputs are float32 values (written
as the float64 number equal to them); op and block references are computed by torch in float64 from
those float32 inputs, so they are the exact answer the float32 Java code must approximate. The
AdamW reference runs in float32, as training does. The tests need no Python.
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "fixtures")
gen = torch.Generator().manual_seed(20240601)


# The loss cases draw from their own stream, so that adding them left every earlier value as it was.
loss_gen = torch.Generator().manual_seed(20261201)


def randn(*shape, scale=1.0, g=gen):
    """float32 normal values, returned as float64 holding exactly those float32 numbers."""
    return (torch.randn(shape, generator=g) * scale).float().double()


def uniform(lo, hi, *shape, g=gen):
    return (lo + (hi - lo) * torch.rand(shape, generator=g)).float().double()


def enc(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


def enc_int(t):
    return {"shape": list(t.shape), "data": [int(v) for v in t.reshape(-1).tolist()]}


# ---- single ops ---------------------------------------------------------------------------

def op_case(name, fn, inputs, ints=None, args=None, targets=None, g=gen):
    """inputs: name -> float64 tensor holding float32 values. fn(leaves dict, ints dict) -> output.
    targets: float tensors that get no gradient (a loss's targets), passed to fn among the ints."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    y = fn(leaves, {**(ints or {}), **(targets or {})})
    dy = randn(*y.shape, g=g)
    (y * dy).sum().backward()
    return {
        "op": name,
        "args": args or {},
        "inputs": {k: enc(v) for k, v in inputs.items()},
        "ints": {k: enc_int(v) for k, v in (ints or {}).items()},
        "targets": {k: enc(v) for k, v in (targets or {}).items()},
        "dy": enc(dy),
        "y": enc(y),
        "grads": {k: enc(leaves[k].grad) for k in inputs},
    }


def ops_cases():
    c = []
    ab = lambda: {"a": randn(2, 3, 4), "b": randn(3, 1)}
    c.append(op_case("add", lambda v, i: v["a"] + v["b"], ab()))
    c.append(op_case("sub", lambda v, i: v["a"] - v["b"], ab()))
    c.append(op_case("mul", lambda v, i: v["a"] * v["b"], ab()))
    c.append(op_case("div", lambda v, i: v["a"] / v["b"], {"a": randn(2, 3, 4), "b": uniform(0.5, 2.0, 4)}))
    c.append(op_case("add_scalar", lambda v, i: v["x"] + 0.7, {"x": randn(3, 4)}, args={"s": 0.7}))
    c.append(op_case("mul_scalar", lambda v, i: v["x"] * -1.3, {"x": randn(3, 4)}, args={"s": -1.3}))
    c.append(op_case("rsub", lambda v, i: 2.0 - v["x"], {"x": randn(3, 4)}, args={"s": 2.0}))
    c.append(op_case("pow", lambda v, i: v["x"] ** 3.0, {"x": randn(3, 4)}, args={"s": 3.0}))
    c.append(op_case("pow", lambda v, i: v["x"] ** 0.5, {"x": uniform(0.2, 3, 3, 4)}, args={"s": 0.5}))
    c.append(op_case("neg", lambda v, i: -v["x"], {"x": randn(3, 4)}))
    c.append(op_case("exp", lambda v, i: torch.exp(v["x"]), {"x": randn(3, 4)}))
    c.append(op_case("log", lambda v, i: torch.log(v["x"]), {"x": uniform(0.1, 4, 3, 4)}))
    c.append(op_case("sqrt", lambda v, i: torch.sqrt(v["x"]), {"x": uniform(0.1, 4, 3, 4)}))
    c.append(op_case("tanh", lambda v, i: torch.tanh(v["x"]), {"x": randn(3, 4, scale=2)}))
    c.append(op_case("gelu", lambda v, i: F.gelu(v["x"]), {"x": randn(4, 8, scale=3)}))
    c.append(op_case("sum", lambda v, i: v["x"].sum(dim=1), {"x": randn(2, 3, 4)}, args={"axes": [1]}))
    c.append(op_case("sum", lambda v, i: v["x"].sum(dim=(0, 2)), {"x": randn(2, 3, 4)}, args={"axes": [0, 2]}))
    c.append(op_case("sum", lambda v, i: v["x"].sum(), {"x": randn(2, 3, 4)}, args={"axes": []}))
    c.append(op_case("mean", lambda v, i: v["x"].mean(dim=-1), {"x": randn(2, 3, 4)}, args={"axes": [-1]}))
    c.append(op_case("mean", lambda v, i: v["x"].mean(), {"x": randn(2, 3, 4)}, args={"axes": []}))
    c.append(op_case("max", lambda v, i: v["x"].amax(dim=1), {"x": randn(2, 5, 4)}, args={"axes": [1]}))
    c.append(op_case("matmul", lambda v, i: v["a"] @ v["b"], {"a": randn(3, 7), "b": randn(7, 5)}))
    c.append(op_case("matmul", lambda v, i: v["a"] @ v["b"], {"a": randn(2, 3, 7), "b": randn(2, 7, 5)}))
    c.append(op_case("matmul", lambda v, i: v["a"] @ v["b"], {"a": randn(2, 3, 7), "b": randn(7, 5)}))
    c.append(op_case("matmul_bt", lambda v, i: v["a"] @ v["b"].transpose(-1, -2), {"a": randn(2, 3, 6), "b": randn(2, 4, 6)}))
    c.append(op_case("linear", lambda v, i: F.linear(v["x"], v["w"], v["b"]), {"x": randn(2, 3, 4), "w": randn(5, 4), "b": randn(5)}))
    c.append(op_case("softmax", lambda v, i: torch.softmax(v["x"], -1), {"x": randn(2, 3, 6, scale=3)}))
    c.append(op_case("log_softmax", lambda v, i: torch.log_softmax(v["x"], -1), {"x": randn(2, 3, 6, scale=3)}))
    c.append(op_case("layer_norm", lambda v, i: F.layer_norm(v["x"], (8,), v["gamma"], v["beta"], 1e-12),
                     {"x": randn(2, 3, 8, scale=2), "gamma": uniform(0.5, 1.5, 8), "beta": randn(8)}, args={"eps": 1e-12}))
    ids = torch.tensor([[1, 4, 4], [0, 5, 1]])
    c.append(op_case("embedding", lambda v, i: F.embedding(i["ids"], v["weight"]), {"weight": randn(6, 4)}, ints={"ids": ids}))
    labels = torch.tensor([3, -100, 0, 4, 1])
    c.append(op_case("cross_entropy", lambda v, i: F.cross_entropy(v["logits"], i["labels"], ignore_index=-100),
                     {"logits": randn(5, 6, scale=2)}, ints={"labels": labels}, args={"ignore_index": -100}))
    c.append(op_case("permute_reshape", lambda v, i: v["x"].permute(0, 2, 1, 3).reshape(2, 3, 8),
                     {"x": randn(2, 2, 3, 4)}))
    c.append(op_case("concat", lambda v, i: torch.cat([v["a"], v["b"]], dim=1), {"a": randn(2, 1, 3), "b": randn(2, 2, 3)}, args={"axis": 1}))
    # The regression and multi-label losses of BertForSequenceClassification. Logits up to +-60
    # check that BCE stays finite where a naive log(sigmoid(x)) would not.
    c.append(op_case("mse_loss", lambda v, i: F.mse_loss(v["x"], i["target"]),
                     {"x": randn(6, 1, scale=2, g=loss_gen)}, targets={"target": uniform(-1, 5, 6, 1, g=loss_gen)}, g=loss_gen))
    wide = randn(4, 5, scale=3, g=loss_gen)
    wide[0, 0], wide[1, 1], wide[2, 2] = 60.0, -60.0, 25.0
    multi_hot = (torch.rand(4, 5, generator=loss_gen) < 0.4).double()
    c.append(op_case("bce_with_logits", lambda v, i: F.binary_cross_entropy_with_logits(v["x"], i["target"]),
                     {"x": wide}, targets={"target": multi_hot}, g=loss_gen))
    c.append(op_case("bce_with_logits", lambda v, i: F.binary_cross_entropy_with_logits(v["x"], i["target"]),
                     {"x": randn(3, 4, g=loss_gen)}, targets={"target": uniform(0, 1, 3, 4, g=loss_gen)}, g=loss_gen))
    # transformers' label_smoothing_factor: its LabelSmoother computes torch's label_smoothing
    c.append(op_case("cross_entropy", lambda v, i: F.cross_entropy(v["logits"], i["labels"], ignore_index=-100, label_smoothing=0.1),
                     {"logits": randn(5, 6, scale=2, g=loss_gen)}, ints={"labels": labels},
                     args={"ignore_index": -100, "label_smoothing": 0.1}, g=loss_gen))
    return c


# ---- the composite block ------------------------------------------------------------------

B, T, H, HEADS, INTER = 2, 5, 8, 2, 16
D = H // HEADS
BLOCK_WEIGHTS = [
    ("attention.self.query.weight", (H, H)), ("attention.self.query.bias", (H,)),
    ("attention.self.key.weight", (H, H)), ("attention.self.key.bias", (H,)),
    ("attention.self.value.weight", (H, H)), ("attention.self.value.bias", (H,)),
    ("attention.output.dense.weight", (H, H)), ("attention.output.dense.bias", (H,)),
    ("attention.output.LayerNorm.weight", (H,)), ("attention.output.LayerNorm.bias", (H,)),
    ("intermediate.dense.weight", (INTER, H)), ("intermediate.dense.bias", (INTER,)),
    ("output.dense.weight", (H, INTER)), ("output.dense.bias", (H,)),
    ("output.LayerNorm.weight", (H,)), ("output.LayerNorm.bias", (H,)),
]


def bert_layer(x, w, mask):
    """HF BertLayer in eval mode (no dropout); mask [B, T] of 1 (token) / 0 (padding)."""
    ext = (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float32).min

    def heads(t):  # [B, T, H] -> [B, heads, T, d]
        return t.view(B, T, HEADS, D).permute(0, 2, 1, 3)

    q = heads(F.linear(x, w["attention.self.query.weight"], w["attention.self.query.bias"]))
    k = heads(F.linear(x, w["attention.self.key.weight"], w["attention.self.key.bias"]))
    v = heads(F.linear(x, w["attention.self.value.weight"], w["attention.self.value.bias"]))
    scores = q @ k.transpose(-1, -2) / math.sqrt(D) + ext
    ctx = (torch.softmax(scores, -1) @ v).permute(0, 2, 1, 3).reshape(B, T, H)
    a = F.linear(ctx, w["attention.output.dense.weight"], w["attention.output.dense.bias"])
    h1 = F.layer_norm(a + x, (H,), w["attention.output.LayerNorm.weight"], w["attention.output.LayerNorm.bias"], 1e-12)
    inter = F.gelu(F.linear(h1, w["intermediate.dense.weight"], w["intermediate.dense.bias"]))
    o = F.linear(inter, w["output.dense.weight"], w["output.dense.bias"])
    return F.layer_norm(o + h1, (H,), w["output.LayerNorm.weight"], w["output.LayerNorm.bias"], 1e-12)


def block_fixture():
    weights = {}
    for name, shape in BLOCK_WEIGHTS:
        if name.endswith("LayerNorm.weight"):
            weights[name] = uniform(0.8, 1.2, *shape)
        else:
            weights[name] = randn(*shape, scale=0.3)
    x = randn(B, T, H)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.float64)
    r = randn(B, T, H)
    leaves = {k: v.clone().requires_grad_(True) for k, v in weights.items()}
    xl = x.clone().requires_grad_(True)
    out = bert_layer(xl, leaves, mask)
    (out * r).sum().backward()
    return {
        "config": {"batch": B, "seq": T, "hidden": H, "heads": HEADS, "intermediate": INTER, "layer_norm_eps": 1e-12},
        "x": enc(x), "mask": enc_int(mask.long()), "r": enc(r),
        "weights": {k: enc(v) for k, v in weights.items()},
        "out": enc(out),
        "grad_x": enc(xl.grad),
        "grads": {k: enc(leaves[k].grad) for k in weights},
    }


# ---- AdamW with schedule and clipping -----------------------------------------------------

def adamw_fixture():
    lr, warmup, total, wd, max_norm = 1e-3, 3, 10, 0.01, 1.0
    shapes = {"dense.weight": (3, 4), "dense.bias": (3,), "LayerNorm.weight": (4,), "classifier.weight": (2, 3)}
    init = {k: randn(*s, scale=0.5).float() for k, s in shapes.items()}
    target = {k: randn(*s).float() for k, s in shapes.items()}
    coef = {k: uniform(0.5, 2.0, *s).float() for k, s in shapes.items()}
    # Per-step loss scales: large ones push the gradient norm over max_norm (clipping), small ones do not.
    scales = [3.0, 0.05, 1.0, 0.1, 2.0, 0.02, 0.5, 4.0, 0.08, 1.5]
    params = {k: v.clone().requires_grad_(True) for k, v in init.items()}
    no_decay = lambda n: n.endswith(".bias") or n == "bias" or "LayerNorm." in n
    groups = [
        {"params": [p for n, p in params.items() if not no_decay(n)], "weight_decay": wd},
        {"params": [p for n, p in params.items() if no_decay(n)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), eps=1e-8)

    # transformers.get_linear_schedule_with_warmup, written out (transformers is not installed).
    def lr_lambda(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        return max(0.0, float(total - step) / float(max(1, total - warmup)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    steps = []
    for s in range(total):
        opt.zero_grad()
        loss = sum((coef[n] * (p - target[n]) ** 2).sum() for n, p in params.items()) * (0.5 * scales[s])
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm)
        used_lr = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
        steps.append({"lr": used_lr, "grad_norm": float(norm), "loss": float(loss),
                      "params": {n: enc(p) for n, p in params.items()}})
    norms = [st["grad_norm"] for st in steps]
    assert any(n > max_norm for n in norms) and any(n < max_norm for n in norms), norms
    return {
        "config": {"lr": lr, "warmup": warmup, "total": total, "weight_decay": wd, "max_norm": max_norm,
                   "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "loss_scales": scales},
        "init": {n: enc(v) for n, v in init.items()},
        "target": {n: enc(v) for n, v in target.items()},
        "coef": {n: enc(v) for n, v in coef.items()},
        "steps": steps,
    }


# ---- ReduceLROnPlateau --------------------------------------------------------------------

def plateau_fixture():
    lr = 1e-3
    # improvements, ties, gains under the threshold, a NaN, a slow climb (worse in min mode, better in max)
    metrics = [1.0, 0.9, 0.9, 0.95, 0.9, 0.89995, 0.91, 0.92, 0.5, 0.5, 0.5, 0.5, float("nan"), 0.4, 0.41, 0.42, 0.43,
               0.44, 0.45, 0.46, 0.46, 0.47]
    option_sets = [
        {},
        {"patience": 2},
        {"mode": "max", "patience": 1, "threshold_mode": "abs", "threshold": 0.01, "cooldown": 2, "factor": 0.5},
        {"patience": 0, "factor": 0.5, "min_lr": 2e-4, "eps": 1e-5},
        {"patience": 1, "threshold": 0.1},
        {"mode": "max", "patience": 0, "cooldown": 1, "factor": 0.3},
    ]
    cases = []
    for options in option_sets:
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=lr)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **options)
        rates = []
        for m in metrics:
            sched.step(m)
            rates.append(opt.param_groups[0]["lr"])
        cases.append({"options": options, "rates": rates})
    return {"lr": lr, "metrics": [None if math.isnan(m) else m for m in metrics], "cases": cases}


def write(name, obj):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    torch.set_default_dtype(torch.float64)
    os.makedirs(OUT, exist_ok=True)
    fixtures = {
        "ops.json": lambda: {"cases": ops_cases()},
        "block.json": block_fixture,
        "adamw.json": adamw_fixture,
        "plateau.json": plateau_fixture,
    }
    for name in sys.argv[1:] or fixtures:
        write(name, {"torch": torch.__version__, **fixtures[name]()})
