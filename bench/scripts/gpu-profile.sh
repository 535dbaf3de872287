#!/usr/bin/env bash
# Where a bert-base training and prediction step spends its GPU time: `bert-ft bench` with the
# kernel profiler on (-Dbertft.cuda.profile=true, see ProfiledOps), on a GPU machine with
# .devicepack/ built by bench/scripts/make-devicepack.sh. Raw output goes to $OUT when set;
# PROFILE_MODES picks the steps (default: train predict), PROFILE_SEQ the length (default 128),
# PROFILE_PRECISION tf32 (a plain run, the default), bf16 or fp16. Graph capture is off while
# profiling (ProfiledOps), so these are eager steps. One file per step:
# profile-<mode>-<seq>-<precision>.txt.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-$root/bench/results/gpu-profile-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
cd "$root"
source "$root/bench/scripts/devicepack-jre.sh"
java+=(-Dbertft.cuda.profile=true)
seq=${PROFILE_SEQ:-128}
precision=${PROFILE_PRECISION:-tf32}
flag=(); [ "$precision" = tf32 ] || flag=(--"$precision")
nvidia-smi -L 2>&1 | tee "$out/gpu-info.txt"
for mode in ${PROFILE_MODES:-train predict}; do
  timeout -k 5 120 "${java[@]}" -cp "$root/.devicepack/lib/*" dev.bertft.cli.Main bench --device cuda --shape bert-base \
      --batch-size 32 --seq-len "$seq" ${flag[@]+"${flag[@]}"} --steps 10 --warmup 1 --mode "$mode" 2>&1 \
      | tee "$out/profile-$mode-$seq-$precision.txt"
done
