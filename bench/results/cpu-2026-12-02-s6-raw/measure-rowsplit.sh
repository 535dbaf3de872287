#!/usr/bin/env bash
# Re-measure prediction after the SimdPackedWeight row split (404b7c1), quiet window.
set -uo pipefail
cd /work/main
out=/work/measure-s6; fixed=$out/bert-ft-fixed.jar
cp cli/target/bert-ft.jar $fixed
echo "b start $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg) commit $(git rev-parse --short HEAD)" >> $out/meta.txt
JARS="/work/baseline-s6/bert-ft-4d258b5.jar $out/bert-ft-new.jar $fixed" JDK25=0 WARMUP=20 CASES="minilm-l6 32 128 predict;minilm-l6 8 128 predict" bash bench/scripts/cpu_vs_torch.sh 3 10 > $out/predict-rowsplit.txt 2>&1
echo "b end $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" >> $out/meta.txt
