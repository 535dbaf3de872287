#!/usr/bin/env bash
# Quiet-window measurements for issue #19 (session 5). Run from /work/main after building cli and bench.
set -uo pipefail
cd /work/main
out=/work/measure-s5; mkdir -p $out
old=/work/baseline-s5/bert-ft-caf270a.jar; new=$out/bert-ft-new.jar
cp cli/target/bert-ft.jar $new
echo "start $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" > $out/meta.txt
java -version 2>> $out/meta.txt; lscpu | grep -E "Model name|^CPU\(s\)" >> $out/meta.txt
# small steps first: they are the ones the "no shape slower" goal fails on
JARS="$old $new" JDK25=0 WARMUP=200 CASES="minilm-l6 1 32 train;minilm-l6 1 128 predict;minilm-l6 8 128 predict" bash bench/scripts/cpu_vs_torch.sh 2 20 > $out/small.txt 2>&1
JARS="$old $new" JDK25=0 bash bench/scripts/cpu_vs_torch.sh 2 5 > $out/cpu_vs_torch.txt 2>&1
JARS="$new" JDK25=0 WARMUP=3 CASES="minilm-l6 32 512 train;minilm-l6 8 512 predict;minilm-l6 1 512 train;bert-base 1 128 predict" bash bench/scripts/cpu_vs_torch.sh 1 5 > $out/sweep.txt 2>&1
java -jar bench/target/benchmarks.jar 'FmaPeakBench|GemmBench.sgemm$' -p transB=true -wi 2 -i 5 -w 1 -r 1 > $out/gemm-fma.txt 2>&1
echo "end $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/meta.txt
