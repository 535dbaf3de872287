#!/usr/bin/env bash
# Session 10's quiet-window measurement, from the repository root: the issue's shapes with the session's
# start (39e310a) and end jars beside PyTorch 2.6 (two rounds, alternated), the FMA peak (C and JMH) beside
# the GEMM X·Wᵀ (three rounds), and the acceptance run.
set -uo pipefail
out=${OUT:-/work/s10/raw}; mkdir -p "$out"
{ date -u; uname -r; java -version 2>&1 | head -1; nproc; git rev-parse HEAD; git status --short | head; } > "$out/meta.txt"
JARS="/work/s10/bert-ft-old.jar cli/target/bert-ft.jar" JDK25=0 WARMUP=10 bash bench/scripts/cpu_vs_torch.sh 2 10 > "$out/issue-shapes.txt" 2>&1
gcc -O2 -mavx512f -pthread bench/scripts/fma_peak.c -o /tmp/fma_peak
: > "$out/fma-gemm.txt"
for r in 1 2 3; do
  echo "== round $r $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/fma-gemm.txt"
  /tmp/fma_peak >> "$out/fma-gemm.txt"
  java -jar bench/target/benchmarks.jar 'FmaPeakBench|GemmBench.sgemm$' -p transB=true -wi 3 -i 5 -w 1 -r 1 2>&1 | grep -E "^(FmaPeakBench\.(oneThread|twoThreads) |GemmBench)" >> "$out/fma-gemm.txt"
done
echo "== acceptance $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" > "$out/acceptance.txt"
TORCH_CHROOT=/work/torch-trixie bash bench/scripts/imdb_acceptance.sh "$out/acceptance.md" >> "$out/acceptance.txt" 2>&1
echo "== done $(date -u +%H:%M:%S)" >> "$out/acceptance.txt"
