#!/usr/bin/env bash
# Exact per-op timers in a real bert-ft step: builds an overlay of CpuBackend with each public op
# wrapped in nanoTime and thread-CPU timers and the calling thread's allocation counter (a boxed
# Vector API kernel shows there) (op_timers/instrument.py) for the CpuBackend.java of git
# revision REV, compiled against JAR, to put ahead of JAR on the class path. Sampling profilers
# (bench --profile) spread a short call over its neighbours; these count every call.
#
#   bash bench/scripts/op_timers.sh REV JAR OUT
#   java --add-modules jdk.incubator.vector -Xms6g -Xmx6g -Doptimers.skip=11 -cp OUT:JAR dev.bertft.cli.Main \
#       bench --shape minilm-l6 --threads 2 --mode train --batch-size 1 --seq-len 32 --steps 30 --warmup 10 2>&1 | grep '^OPT'
#
# optimers.skip: steps to leave out of the totals (warm-up + 1); the table goes to stderr at exit.
# optimers.shapes=true: one row per op and shapes of its tensor arguments.
set -euo pipefail
rev=$1 jar=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
git show "$rev:tensor/src/main/java/dev/bertft/tensor/cpu/CpuBackend.java" | python3 "$here/op_timers/instrument.py" > "$src/CpuBackend.java"
cp "$here/op_timers/OpTimers.java.txt" "$src/OpTimers.java"
mkdir -p "$out"
javac --release 17 --add-modules jdk.incubator.vector -nowarn -d "$out" -cp "$jar" "$src"/*.java
