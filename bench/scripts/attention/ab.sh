#!/usr/bin/env bash
# Attention before/after in one JVM: compiles the kernel classes of BASE (default main) renamed
# Old*, next to the working tree's tensor classes, and runs AttentionAB with the given shapes.
# Run from the repository root after `mvn -o -q -pl tensor -am compile`.
# Usage: bench/scripts/attention/ab.sh [BASE] B,NH,T,HS ... [-rounds R] [-p P]
set -euo pipefail
base=main
if [[ $# -gt 0 && $1 != *,* && $1 != -* ]]; then base=$1; shift; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dir=tensor/src/main/java/dev/bertft/tensor/cpu
classes=(Attention HeadProduct SimdHeadProduct SimdSoftmax SimdExp SimdPhilox)
rename=()
for c in "${classes[@]}"; do rename+=(-e "s/\\b$c\\b/Old$c/g"); done
mkdir -p "$work/src"
# the old attention draws through CpuBackend, which would reach the new SimdPhilox
rename+=(-e 's/CpuBackend\.dropoutDraws/OldSimdPhilox.dropoutDraws/g')
for c in "${classes[@]}"; do git show "$base:$dir/$c.java" | sed "${rename[@]}" > "$work/src/Old$c.java"; done
cp bench/scripts/attention/AttentionAB.java "$work/src/"
cp=tensor/target/classes:io/target/classes
javac -nowarn --release 17 --add-modules jdk.incubator.vector -cp "$cp" -d "$work/classes" "$work"/src/*.java 2>&1 | grep -v '^warning\|^Note' || true
uptime
java --add-modules jdk.incubator.vector -Xmx4g -XX:+UseParallelGC -cp "$work/classes:$cp" dev.bertft.tensor.cpu.AttentionAB "$@" 2>&1 | grep -v '^WARNING'
uptime
