#!/usr/bin/env bash
# Session 19: the CPU cost of --gradient-checkpointing, alternated in one window. From the repository root after
# `mvn package`: step times (MiniLM 8 x 128 and 32 x 128 training, 3 rounds each way) and the peak resident memory
# of a bert-base 32 x 128 training run (GNU time's maximum resident set), with and without.
set -u
jar=cli/target/bert-ft.jar
java=(java --add-modules jdk.incubator.vector -XX:CompileCommand=quiet '-XX:CompileCommand=dontinline,dev.bertft.tensor.cpu.*::*Pass' -cp "$jar" dev.bertft.cli.Main)
for round in 1 2 3; do
  for shape in "8 128" "32 128"; do
    set -- $shape
    for flag in "" "--gradient-checkpointing"; do
      echo "== round $round: minilm-l6 $1 x $2 train ${flag:-(activations kept)}   load: $(cut -d' ' -f1-3 /proc/loadavg)"
      "${java[@]}" bench --device cpu --threads 2 --shape minilm-l6 --mode train --batch-size $1 --seq-len $2 --steps 20 --warmup 10 $flag 2>&1 | grep '^train:'
    done
  done
done
for flag in "" "--gradient-checkpointing"; do
  echo "== bert-base 32 x 128 train ${flag:-(activations kept)}: peak resident memory"
  /usr/bin/time -f "max resident %M KiB, %e s" "${java[@]}" bench --device cpu --threads 2 --shape bert-base --mode train --batch-size 32 --seq-len 128 --steps 3 --warmup 1 $flag 2>&1 | grep -E '^train:|max resident'
done
