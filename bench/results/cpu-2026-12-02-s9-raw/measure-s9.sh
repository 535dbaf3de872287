#!/usr/bin/env bash
# Session 9's quiet-window measurement, from the repository root: FMA peak (C and JMH), GEMM, the issue's shapes
# against PyTorch 2.6 (two rounds, alternated), the acceptance run.
set -uo pipefail
out=${OUT:-/work/s9/raw}; mkdir -p "$out"
{ date -u; uname -r; java -version 2>&1 | head -1; nproc; git rev-parse HEAD; git status --short | head; } > "$out/meta.txt"
gcc -O2 -mavx512f -pthread bench/scripts/fma_peak.c -o /tmp/fma_peak
echo "== fma_peak.c $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" > "$out/fma-gemm.txt"
/tmp/fma_peak >> "$out/fma-gemm.txt"
echo "== JMH $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/fma-gemm.txt"
java -jar bench/target/benchmarks.jar 'FmaPeakBench|GemmBench.sgemm$' -p transB=true -wi 3 -i 8 -w 1 -r 1 2>&1 | grep -A12 "^Benchmark" >> "$out/fma-gemm.txt"
echo "== fma_peak.c again $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/fma-gemm.txt"
/tmp/fma_peak >> "$out/fma-gemm.txt"
JDK25=0 WARMUP=10 bash bench/scripts/cpu_vs_torch.sh 2 10 > "$out/issue-shapes.txt" 2>&1
echo "== acceptance $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)" > "$out/acceptance.txt"
TORCH_CHROOT=/work/torch-trixie bash bench/scripts/imdb_acceptance.sh /work/s9/raw/acceptance.md >> "$out/acceptance.txt" 2>&1
echo "== done $(date -u +%H:%M:%S)" >> "$out/acceptance.txt"
