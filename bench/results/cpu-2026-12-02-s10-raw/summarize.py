import re, sys, json
# summarizes cpu_vs_torch.sh output: per case and round, the median of each side and the ratios to PyTorch
cur = None; side = None; rows = []
for line in open(sys.argv[1]):
    m = re.match(r"== round (\d+): (\S+) (\d+) x (\d+) (\w+)\s+load: (\S+)", line)
    if m: cur = dict(round=m[1], case=f"{m[2]} {m[3]}x{m[4]} {m[5]}", load=m[6], vals={}); rows.append(cur); continue
    m = re.match(r"-- bert-ft (\S+), JDK", line)
    if m: side = m[1].split('/')[-1]; continue
    if line.startswith("-- PyTorch"): side = "torch"; continue
    m = re.search(r"median ([0-9.]+),", line)
    if m and side != "torch": cur["vals"][side] = float(m[1]); continue
    if side == "torch" and line.startswith("{"):
        d = json.loads(line); mode = [k for k in ("train", "predict") if k in d][0]
        cur["vals"]["torch"] = d[mode]["median_ms"] / 1000
for r in rows:
    t = r["vals"].get("torch")
    s = "  ".join(f"{k} {v:.4f}" + (f" ({v/t:.3f})" if t and k != "torch" else "") for k, v in r["vals"].items())
    print(f"r{r['round']} {r['case']:28s} load {r['load']:5s} {s}")
