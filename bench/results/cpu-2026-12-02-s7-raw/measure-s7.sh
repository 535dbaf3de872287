#!/usr/bin/env bash
# Quiet-window measurements for issue #19 (session 7). Run from /work/main after building cli and bench.
set -uo pipefail
cd /work/main
out=/work/measure-s7; mkdir -p $out
old=/work/baseline-s7/bert-ft-412efba.jar; new=$out/bert-ft-new.jar
cp cli/target/bert-ft.jar $new; cp bench/target/benchmarks.jar $out/benchmarks-new.jar
echo "start $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg) commit $(git rev-parse --short HEAD)" > $out/meta.txt
java -version 2>> $out/meta.txt; lscpu | grep -E "Model name|^CPU\(s\)" >> $out/meta.txt
# 1. the acceptance run, both sides (PyTorch 2.6 first, then bert-ft)
TORCH_CHROOT=/work/torch-trixie bash bench/scripts/imdb_acceptance.sh $out/acceptance.md > $out/acceptance.log 2>&1
echo "acceptance done $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/meta.txt
# 2. the issue's shapes, warm (10 untimed steps each side), old and new jar alternated with PyTorch 2.6
JARS="$old $new" JDK25=0 WARMUP=10 bash bench/scripts/cpu_vs_torch.sh 2 10 > $out/issue-shapes.txt 2>&1
echo "shapes done $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/meta.txt
# 3. GEMM against the FMA loop
java -jar $out/benchmarks-new.jar 'FmaPeakBench|GemmBench.sgemm$' -p transB=true -wi 2 -i 5 -w 1 -r 1 > $out/gemm-fma.txt 2>&1
# 4. first steps, old and new: what the JIT costs (warmup 0)
for jar in $old $new $old $new; do
  java -jar $jar bench --shape minilm-l6 --mode train --threads 2 --warmup 0 --steps 12 --json $out/j.json > /dev/null 2>&1
  echo "$jar $(python3 -c "import json;print(json.load(open('$out/j.json'))['train']['step_ms'])")" >> $out/first-steps.txt
done
echo "end $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/meta.txt
