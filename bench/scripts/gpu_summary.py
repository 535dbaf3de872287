"""Writes summary.json for one GPU run from the JSON files gpu-check.sh leaves in its output folder:

    bertft-<seq>-<precision>.json           `bert-ft bench --json` (train and predict)
    peer-<seq>-<precision>-<eager|compile>.json   bench_pytorch.py's output
    e2e-<fp32|bf16>-results.json            all_results.json of `bert-ft train` on the synthetic task
    e2e-<fp32|bf16>-transformers.json       check_transformers_load.py --json on that model's predictions
    gemm.jsonl, gemm-torch.jsonl            GemmThroughput's and gemm_torch.py's products, a JSON object a line
    attention.jsonl, attention-torch.jsonl  AttentionThroughput's and attention_torch.py's passes, the same

    python3 bench/scripts/gpu_summary.py OUT_DIR COMMIT

Format (the mixed-precision issue's): {"gpu", "driver", "date", "commit", "rows": [{"what":
"train"|"predict", "model", "batch", "seq", "precision", "bertft_ms", "peer": "pytorch-eager"|
"pytorch-compile", "peer_ms"}]}, each figure the median of the timed steps. A precision that only
the peer ran (fp32: bert-ft times TF32, --bf16 and --fp16) gets "bertft_ms": null.
Then one row per end-to-end run: {"what": "synthetic-task", "precision": "fp32"|"bf16",
"eval_accuracy", "transformers_labels_differ", "transformers_logit_difference"}; the bf16 row adds
"fp32_accuracy" and "within_half_point" (its accuracy at most 0.005 below float32's, the issue's
bound). Then one row per product shape both GEMM sweeps timed: {"what": "gemm", "precision",
"layout", "batch", "m", "n", "k", "bertft_ms", "peer": "torch-matmul", "peer_ms", "share_of_peer"},
the share being peer_ms / bertft_ms (the issues' goals: at least 0.6 and 0.8 of cuBLAS); and one
per attention pass both timed: {"what": "attention", "precision", "tokens", "dropout", "pass",
"bertft_ms", "peer": "torch-sdpa", "peer_ms", "share_of_peer"} (the goal: at least 1).
Exit status 1 when that bound or transformers' agreement fails, or a run left no figures.
"""
import datetime
import glob
import json
import os
import re
import subprocess
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def main():
    out, commit = sys.argv[1], sys.argv[2]
    ours = {}
    for path in glob.glob(os.path.join(out, "bertft-*.json")):
        seq, precision = re.match(r"bertft-(\d+)-(\w+)\.json", os.path.basename(path)).groups()
        ours[(int(seq), precision)] = load(path)
    rows = []
    for path in sorted(glob.glob(os.path.join(out, "peer-*.json"))):
        seq, precision, mode = re.match(r"peer-(\d+)-(\w+)-(eager|compile)\.json", os.path.basename(path)).groups()
        peer = load(path)
        mine = ours.get((int(seq), precision), {})
        for what in ("train", "predict"):
            if what not in peer:
                continue
            rows.append({"what": what, "model": peer["model"], "batch": peer["batch_size"], "seq": peer["seq_len"],
                         "precision": precision, "bertft_ms": mine.get(what, {}).get("median_ms"),
                         "peer": "pytorch-" + mode, "peer_ms": peer[what]["median_ms"]})
    e2e, ok = synthetic_task_rows(out)
    gemm = paired_rows(out, "gemm", "torch-matmul", ("precision", "layout", "batch", "m", "n", "k"))
    attention = paired_rows(out, "attention", "torch-sdpa", ("precision", "tokens", "dropout", "pass"))
    gpu, driver = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, check=True).stdout.splitlines()[0].split(", ")
    summary = {"gpu": gpu, "driver": driver, "date": datetime.date.today().isoformat(), "commit": commit, "rows": rows + e2e + gemm + attention}
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    for r in rows:
        print("%-7s %s %dx%d %-4s bert-ft %s ms, %s %.2f ms" % (r["what"], r["model"], r["batch"], r["seq"], r["precision"],
              "-" if r["bertft_ms"] is None else "%.2f" % r["bertft_ms"], r["peer"], r["peer_ms"]))
    for r in e2e:
        print("synthetic task %-4s eval accuracy %s, transformers: %s labels differ, logits within %s" % (
              r["precision"], r["eval_accuracy"], r["transformers_labels_differ"], r["transformers_logit_difference"]))
    for r in gemm:
        print("gemm %-4s %-6s %5d x %5d x %5d (batch %3d): bert-ft %.3f ms, torch.matmul %.3f ms, %.0f %% of its rate" % (
              r["precision"], r["layout"], r["m"], r["n"], r["k"], r["batch"], r["bertft_ms"], r["peer_ms"], 100 * r["share_of_peer"]))
    for r in attention:
        print("attention %-4s %3d tokens, dropout %.1f, %-7s: bert-ft %.3f ms, sdpa %.3f ms, %.0f %% of its rate" % (
              r["precision"], r["tokens"], r["dropout"], r["pass"], r["bertft_ms"], r["peer_ms"], 100 * r["share_of_peer"]))
    return 0 if ok else 1


def timed(path):
    """The timed cases of a sweep's output, a JSON object a line (those with a median), or none."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [o for o in (json.loads(line) for line in f if line.startswith("{")) if "median_ms" in o]


def paired_rows(out, what, peer_name, keys):
    """Our sweep <what>.jsonl beside the peer's <what>-torch.jsonl, case by case (the same values of keys) where both timed it."""
    key = lambda o: tuple(o[k] for k in keys)
    peer = {key(o): o for o in timed(os.path.join(out, what + "-torch.jsonl"))}
    rows = []
    for o in timed(os.path.join(out, what + ".jsonl")):
        p = peer.get(key(o))
        if p is not None:
            rows.append({"what": what, **{k: o[k] for k in keys}, "bertft_ms": o["median_ms"], "peer": peer_name,
                         "peer_ms": p["median_ms"], "share_of_peer": p["median_ms"] / o["median_ms"]})
    return rows


def synthetic_task_rows(out):
    """The end-to-end runs' rows, and whether they all passed: bf16 within 0.5 point of float32, transformers agreeing."""
    rows, ok = [], True
    for precision in ("fp32", "bf16"):
        results, loaded = (os.path.join(out, "e2e-%s-%s.json" % (precision, part)) for part in ("results", "transformers"))
        if not (os.path.exists(results) and os.path.exists(loaded)):
            print("synthetic task %s: no figures (the run failed)" % precision)
            ok = False
            continue
        check = load(loaded)
        rows.append({"what": "synthetic-task", "precision": precision, "eval_accuracy": load(results)["eval_accuracy"],
                     "transformers_labels_differ": check["labels_differ"],
                     "transformers_logit_difference": check["largest_logit_difference"]})
        ok &= check["labels_differ"] == 0 and check["largest_logit_difference"] <= check["tolerance"]
    if len(rows) == 2:
        fp32, bf16 = rows
        bf16["fp32_accuracy"] = fp32["eval_accuracy"]
        bf16["within_half_point"] = bf16["eval_accuracy"] >= fp32["eval_accuracy"] - 0.005
        ok &= bf16["within_half_point"]
    return rows, ok


if __name__ == "__main__":
    sys.exit(main())
