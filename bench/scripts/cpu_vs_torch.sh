#!/usr/bin/env bash
# bert-ft against PyTorch 2.6 on the CPU, 2 threads each, alternated and repeated so that a load
# change on a shared machine hits every side: each case runs ROUNDS times as bert-ft (each jar in
# JARS, JDK 17; also JDK 25 where installed unless JDK25=0) and PyTorch (../shared/peers/torch-trixie.sh,
# root), with the load average before each run. Prints the raw lines; the medians go to bench/results by hand.
#   bench/scripts/cpu_vs_torch.sh [ROUNDS] [STEPS]          from the repository root, after
#   mvn -q -pl cli -am package -DskipTests
# JARS="old.jar cli/target/bert-ft.jar" compares builds side by side; CASES="shape batch len mode;..."
# replaces the issue's shapes (e.g. CASES="minilm-l6 1 32 train;minilm-l6 32 512 predict").
# ATTENTIONS="sdpa eager" times PyTorch with each attention (default sdpa, as transformers runs it).
# WARMUP (default 2) untimed steps first; small steps need far more (e.g. 200 at 1x32) before the
# JIT has compiled the vector kernels, or they time our warm-up rather than the steady state.
set -uo pipefail
rounds=${1:-2}; steps=${2:-5}
read -r -a jars <<<"${JARS:-cli/target/bert-ft.jar}"
chroot_dir=${TORCH_CHROOT:-/work/torch-trixie}
jdk25=""
[ "${JDK25:-1}" != 0 ] && jdk25=$(ls -d /usr/lib/jvm/temurin-25* 2>/dev/null | head -1)
IFS=';' read -r -a cases <<<"${CASES:-minilm-l6 32 128 train;minilm-l6 8 128 train;bert-base 8 128 train;minilm-l6 32 128 predict}"
for ((r = 1; r <= rounds; r++)); do
  for c in "${cases[@]}"; do
    read -r shape batch len mode <<<"$c"
    args=(--shape "$shape" --device cpu --threads 2 --batch-size "$batch" --seq-len "$len" --mode "$mode" --steps "$steps" --warmup "${WARMUP:-2}")
    echo "== round $r: $shape $batch x $len $mode   load: $(cut -d' ' -f1-3 /proc/loadavg)"
    for jar in "${jars[@]}"; do
      echo "-- bert-ft $jar, JDK 17"; java -Xmx6g -jar "$jar" bench "${args[@]}" | grep -E "^(train|predict):"
      if [ -n "$jdk25" ]; then echo "-- bert-ft $jar, JDK 25"; "$jdk25/bin/java" -Xmx6g -jar "$jar" bench "${args[@]}" | grep -E "^(train|predict):"; fi
    done
    for attention in ${ATTENTIONS:-sdpa}; do
      echo "-- PyTorch, $attention attention"; bash ../shared/peers/torch-trixie.sh run "$chroot_dir" python3 bench/scripts/bench_pytorch.py \
        "${args[@]}" --attention "$attention" 2>&1 | grep -v -i warn | tail -3
    done
  done
done
