#!/usr/bin/env bash
# Old (main) and new (smallstep) alternated in one script, on one jar (main's bert-ft.jar): new = the
# smallstep tensor classes ahead of it on the class path; timers = bench/scripts/op_timers.sh overlays.
#   W=/tmp/smallstep bash measure.sh > run.txt 2>&1
set -u
W=${W:-/tmp/smallstep}
JAVA="java --add-modules jdk.incubator.vector -Xms6g -Xmx6g"
MAIN=dev.bertft.cli.Main
echo "date $(date -u +%FT%TZ); $(java -version 2>&1 | head -1); $(nproc) CPUs; $(grep -m1 'model name' /proc/cpuinfo)"
run() { # label classpath-overlay mode batch seq steps warmup
  echo "== $1 $3 $4x$5 load $(cut -d' ' -f1-3 /proc/loadavg)"
  $JAVA -Doptimers.skip=$(($7 + 1)) -cp "$2$W/old.jar" $MAIN bench --shape minilm-l6 --threads 2 --mode "$3" \
    --batch-size "$4" --seq-len "$5" --steps "$6" --warmup "$7" 2>&1 | grep -E "^(train|predict):|^OPT"
}
for round in 1 2; do
  for c in "train 1 32 30 10" "predict 1 128 30 10" "train 8 128 8 3"; do
    set -- $c
    run "old" "" "$@"
    run "new" "$W/new-tensor:" "$@"
    run "old+timers" "$W/ot-main:" "$@"
    run "new+timers" "$W/ot-head:$W/new-tensor:" "$@"
  done
done
