#!/usr/bin/env python3
"""Sets two kernel profiles of `bert-ft bench` (bench/scripts/gpu-profile.sh's profile-*.txt) side by
side, per kernel name in milliseconds a step, so each change's measured saving can be put beside its
prediction (the gpu-blind-*.md files). Launches of one kernel with different grids are added together;
a kernel present in one profile only shows 0 in the other.

    profile_diff.py BEFORE.txt AFTER.txt [--steps N] [--top K]

--steps: the steps each profile counts (gpu-profile.sh times 10 after 1 warm-up step, all profiled: 11).
"""
import argparse
import re
import sys
from collections import defaultdict

# "    139.16      132    1054.3  14.8%  attention_backward_kv_bf16_hs64_bf16 <<<8x384x1, 128x1>>>"
ROW = re.compile(r"^\s*([0-9.]+)\s+([0-9]+)\s+[0-9.]+\s+[0-9.]+%\s+(\S+)\s+<<<")
TOTAL = re.compile(r"kernel profile: ([0-9]+) launches, ([0-9.]+) ms of GPU time")


def read(path):
    """Kernel name -> (ms, launches), and the profile's total ms."""
    kernels = defaultdict(lambda: [0.0, 0])
    total = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = TOTAL.search(line)
            if m:
                total = float(m.group(2))
                continue
            m = ROW.match(line)
            if m:
                k = kernels[m.group(3)]
                k[0] += float(m.group(1))
                k[1] += int(m.group(2))
    if not kernels:
        sys.exit(f"{path}: no kernel profile rows (a bench run with -Dbertft.cuda.profile=true prints them)")
    return kernels, total if total is not None else sum(k[0] for k in kernels.values())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--steps", type=int, default=11, help="steps each profile counts (default 11)")
    ap.add_argument("--top", type=int, default=40, help="rows to print, largest change first (default 40)")
    a = ap.parse_args()
    if a.steps <= 0:
        sys.exit("--steps must be positive")
    before, before_total = read(a.before)
    after, after_total = read(a.after)
    rows = []
    for name in set(before) | set(after):
        b = before.get(name, (0.0, 0))
        f = after.get(name, (0.0, 0))
        rows.append((name, b[0] / a.steps, f[0] / a.steps, b[1] / a.steps, f[1] / a.steps))
    rows.sort(key=lambda r: -abs(r[2] - r[1]))
    print(f"ms a step ({a.steps} steps each): before {before_total / a.steps:.2f}, after {after_total / a.steps:.2f}, "
          f"change {(after_total - before_total) / a.steps:+.2f}")
    print(f"{'before':>9} {'after':>9} {'change':>9} {'launches':>13}  kernel")
    for name, b, f, lb, lf in rows[:a.top]:
        print(f"{b:9.3f} {f:9.3f} {f - b:+9.3f} {lb:6.1f}->{lf:<6.1f}  {name}")
    if len(rows) > a.top:
        rest = sum(r[2] - r[1] for r in rows[a.top:])
        print(f"{'':>19} {rest:+9.3f}  the other {len(rows) - a.top} kernels")


if __name__ == "__main__":
    main()
