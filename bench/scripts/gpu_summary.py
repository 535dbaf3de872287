"""Writes summary.json for one GPU run from the JSON files gpu-check.sh leaves in its output folder:

    bertft-<seq>-<precision>.json           `bert-ft bench --json` (train and predict)
    peer-<seq>-<precision>-<eager|compile>.json   bench_pytorch.py's output

    python3 bench/scripts/gpu_summary.py OUT_DIR COMMIT

Format (the mixed-precision issue's): {"gpu", "driver", "date", "commit", "rows": [{"what":
"train"|"predict", "model", "batch", "seq", "precision", "bertft_ms", "peer": "pytorch-eager"|
"pytorch-compile", "peer_ms"}]}, each figure the median of the timed steps. A precision that only
the peer ran (fp32: bert-ft times TF32, --bf16 and --fp16) gets "bertft_ms": null.
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
    gpu, driver = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, check=True).stdout.splitlines()[0].split(", ")
    summary = {"gpu": gpu, "driver": driver, "date": datetime.date.today().isoformat(), "commit": commit, "rows": rows}
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    for r in rows:
        print("%-7s %s %dx%d %-4s bert-ft %s ms, %s %.2f ms" % (r["what"], r["model"], r["batch"], r["seq"], r["precision"],
              "-" if r["bertft_ms"] is None else "%.2f" % r["bertft_ms"], r["peer"], r["peer_ms"]))


if __name__ == "__main__":
    main()
