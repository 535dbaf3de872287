#!/usr/bin/env bash
# What bounds the step's heaviest kernels, by the GPU's hardware counters (Nsight Compute; they
# are readable on the Firecracker GPU machines, not under gVisor: KINDS.md): one eager bert-base
# training step at batch 32 (ProfiledOps turns graph capture off), ncu's speed-of-light,
# occupancy, launch, warp-stall and memory sections for the first launches of the kernels each
# line below names. On a GPU machine with .devicepack/ (bench/scripts/make-devicepack.sh); raw
# text to $OUT/ncu-<name>.txt, one ncu run each, NCU_TIMEOUT_S (default 60) seconds at most (the three took 30 s
# together on an H200).
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-$root/bench/results/gpu-ncu-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
cd "$root"
source "$root/bench/scripts/devicepack-jre.sh"
ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
if [ -z "$ncu" ]; then echo "gpu-ncu.sh: no ncu on this machine" >&2; exit 3; fi
status=0
# name, precision, length, the kernels (a regex), launches skipped and profiled: the forward's first
# layers; the backward's second-last layer (the last one's attention has the [CLS] query rows only)
while read -r name precision seq kernels skip count; do
  flag=(); [ "$precision" = tf32 ] || flag=(--"$precision")
  timeout -k 5 "${NCU_TIMEOUT_S:-60}" "$ncu" --target-processes all --clock-control none -k "regex:$kernels" -s "$skip" -c "$count" \
      --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats \
      --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis \
      "${java[@]}" -Dbertft.cuda.profile=true -cp "$root/.devicepack/lib/*" dev.bertft.cli.Main bench --device cuda \
      --shape bert-base --batch-size 32 --seq-len "$seq" ${flag[@]+"${flag[@]}"} --steps 1 --warmup 0 --mode train \
      > "$out/ncu-$name.txt" 2>&1 || status=1
done <<'RUNS'
forward-bf16-512 bf16 512 ^(hgemm_bf16|attention_forward_bf16) 0 6
backward-bf16-512 bf16 512 ^attention_backward_(kv|q)_bf16 2 2
forward-tf32-128 tf32 128 ^(sgemm_tf32|attention_forward_hs) 0 6
RUNS
exit $status
