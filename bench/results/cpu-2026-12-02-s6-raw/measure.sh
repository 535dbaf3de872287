#!/usr/bin/env bash
# Quiet-window measurements for issue #19 (session 6). Run from /work/main after building cli and bench.
set -uo pipefail
cd /work/main
out=/work/measure-s6; mkdir -p $out
old=/work/baseline-s6/bert-ft-4d258b5.jar; new=$out/bert-ft-new.jar
cp cli/target/bert-ft.jar $new; cp bench/target/benchmarks.jar $out/benchmarks-new.jar
echo "start $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg) commit $(git rev-parse --short HEAD)" > $out/meta.txt
java -version 2>> $out/meta.txt; lscpu | grep -E "Model name|^CPU\(s\)" >> $out/meta.txt
# the issue's shapes, warm (10 untimed steps each side), old and new jar alternated with PyTorch 2.6
JARS="$old $new" JDK25=0 WARMUP=10 bash bench/scripts/cpu_vs_torch.sh 2 10 > $out/issue-shapes.txt 2>&1
# small steps: 200 warm-up steps (JIT), the bert-base 1x128 prediction that was still slower
JARS="$old $new" JDK25=0 WARMUP=200 CASES="bert-base 1 128 predict;minilm-l6 1 128 predict;minilm-l6 8 128 predict" bash bench/scripts/cpu_vs_torch.sh 2 20 > $out/small.txt 2>&1
java -jar $out/benchmarks-new.jar 'FmaPeakBench|GemmBench.sgemm$' -p transB=true -wi 2 -i 5 -w 1 -r 1 > $out/gemm-fma.txt 2>&1
echo "end $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/meta.txt
