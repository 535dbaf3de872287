#!/usr/bin/env bash
# Quiet-window measurements for issue #19 (session 8). Run from /work/main after building cli and bench.
set -uo pipefail
cd /work/main
out=/work/measure-s8; mkdir -p $out
old=/work/baseline-s8/bert-ft-8d3857a.jar; new=$out/bert-ft-new.jar
cp cli/target/bert-ft.jar $new
echo "start $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg) commit $(git rev-parse --short HEAD)" > $out/meta.txt
java -version 2>> $out/meta.txt; lscpu | grep -E "Model name|^CPU\(s\)" >> $out/meta.txt
# 1. the JVM-to-JVM spread: old (session 7, no JIT flags) and new (the launcher adds them), four JVMs each, alternated
for i in 1 2 3 4; do
  for jar in $old $new; do
    java -jar $jar bench --shape minilm-l6 --mode train --threads 2 --batch-size 32 --seq-len 128 --warmup 3 --steps 8 --json $out/s.json > /dev/null 2>&1
    echo "$(basename $jar) load $(cut -d' ' -f1 /proc/loadavg) $(python3 -c "import json;t=json.load(open('$out/s.json'))['train'];print('median_ms', round(t['median_ms']), 'alloc_mb', t.get('alloc_mb'), 'step_ms', t['step_ms'])")" >> $out/spread.txt
  done
done
echo "spread done $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/meta.txt
# 2. the issue's shapes, warm (10 untimed steps each side), new jar alternated with PyTorch 2.6
JARS="$new" JDK25=0 WARMUP=10 bash bench/scripts/cpu_vs_torch.sh 2 10 > $out/issue-shapes.txt 2>&1
echo "shapes done $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/meta.txt
# 3. the acceptance run, both sides (PyTorch 2.6 first, then bert-ft)
TORCH_CHROOT=/work/torch-trixie bash bench/scripts/imdb_acceptance.sh $out/acceptance.md   # kept as bench/results/imdb-acceptance-2026-12-02-s8.md > $out/acceptance.log 2>&1
echo "acceptance done $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/meta.txt
# 4. first steps of the new jar: what the JIT costs (warmup 0)
for i in 1 2; do
  java -jar $new bench --shape minilm-l6 --mode train --threads 2 --warmup 0 --steps 12 --json $out/j.json > /dev/null 2>&1
  echo "new $(python3 -c "import json;t=json.load(open('$out/j.json'))['train'];print(t['step_ms'], t['alloc_mb'])")" >> $out/first-steps.txt
done
echo "end $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/meta.txt
