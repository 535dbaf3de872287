#!/usr/bin/env bash
# Peak resident memory (/usr/bin/time -v) and step medians of one training step shape, bert-ft against
# PyTorch 2.6 (../shared/peers/torch-trixie.sh, root), alternated ROUNDS times so that a load change
# on a shared machine hits both. bert-ft starts as a user starts it, `java -jar`, so the launcher
# picks its heap flags; VARIANTS="flags A;flags B" adds JVM flags before -jar, one run per variant
# ("" is the launcher's own choice). Each bert-ft run writes its GC log to $LOGS/gc-<round>-<n>.log.
#   bench/scripts/memory_vs_torch.sh [ROUNDS] [SHAPE BATCH LEN]      from the repository root, after
#   mvn -q -pl cli -am package -DskipTests
set -uo pipefail
rounds=${1:-3}; shape=${2:-bert-base}; batch=${3:-32}; len=${4:-128}
jar=${JAR:-cli/target/bert-ft.jar}
chroot_dir=${TORCH_CHROOT:-/work/torch-trixie}
logs=${LOGS:-/tmp/bertft-memory}
mkdir -p "$logs"
IFS=';' read -r -a variants <<<"${VARIANTS:-}"
[ ${#variants[@]} -eq 0 ] && variants=("")
args=(--shape "$shape" --device cpu --threads 2 --batch-size "$batch" --seq-len "$len" --mode train --steps "${STEPS:-3}" --warmup 1)
peak() { grep -E "Maximum resident|Elapsed" "$1" | sed 's/^\s*//' | tr '\n' ' '; echo; }
for ((r = 1; r <= rounds; r++)); do
  for ((v = 0; v < ${#variants[@]}; v++)); do
    read -r -a flags <<<"${variants[$v]}"
    shown=${variants[$v]:-the launcher picks}
    echo "== round $r: bert-ft flags: $shown   load: $(cut -d' ' -f1-3 /proc/loadavg)"
    /usr/bin/time -v -o "$logs/time.txt" java "${flags[@]}" "-Xlog:gc:file=$logs/gc-$r-$v.log" -jar "$jar" bench "${args[@]}" \
      | grep -E "^train:"
    peak "$logs/time.txt"
  done
  echo "== round $r: PyTorch   load: $(cut -d' ' -f1-3 /proc/loadavg)"
  /usr/bin/time -v -o "$logs/time.txt" bash ../shared/peers/torch-trixie.sh run "$chroot_dir" python3 bench/scripts/bench_pytorch.py \
    "${args[@]}" 2>&1 | grep -v -i warn | grep -E "median|train" | tail -2
  peak "$logs/time.txt"
done
