#!/usr/bin/env bash
# one alternated round: the jar before this branch, this branch's jar, PyTorch 2.6; bert-base predict 1x128, 2 threads
cd /work/wt-fewrows
for jar in base new; do
  echo "== $jar $(cat /proc/loadavg)"
  java --add-modules jdk.incubator.vector -Xms4g -Xmx4g -jar /tmp/fewrows/$jar.jar bench --shape bert-base --device cpu --threads 2 \
    --mode predict --batch-size 1 --seq-len 128 --steps 20 --warmup 200 2>&1 | grep -E "^predict"
done
echo "== torch $(cat /proc/loadavg)"
if mountpoint -q /work/torch-trixie/work; then echo "peer chroot in use by another run: skipped"; exit 0; fi
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE bash ../shared/peers/torch-trixie.sh run /work/torch-trixie python3 bench/scripts/bench_pytorch.py \
  --shape bert-base --device cpu --threads 2 --batch-size 1 --seq-len 128 --mode predict --steps 20 --warmup 200 2>&1 | tail -3
