#!/usr/bin/env bash
# The issue's full run: fine-tune all-MiniLM-L6-v2 (the pretrained BERT-architecture model on hand;
# bert-base-uncased cannot be downloaded here) on all 25,000 IMDB train reviews, max length 256,
# 2 epochs, with the classic recipe (batch 32, eval batch 64, lr 5e-5, warmup 500 steps, weight
# decay 0.01, 2 threads), then evaluate on every test review.
#
# About two hours on the 2-core development machine, so it is resumable: it checkpoints every 100
# steps, and run again with the same RUN_DIR it resumes from the latest complete checkpoint (resume
# is bit-exact on the CPU, see TrainerTest.resumeIsExact). Every invocation appends its start, end and
# exit status to RUN_DIR/segments.tsv (a killed one is closed at its last checkpoint by the next);
# the total training time is the sum of the segments.
# Usage: bench/scripts/imdb_full.sh RUN_DIR [OUT.md]   (from the repository root, after `mvn package`)
set -euo pipefail
cd "$(dirname "$0")/../.."
run=${1:?usage: imdb_full.sh RUN_DIR [OUT.md]}
out=${2:-bench/results/imdb-full-$(date +%F).md}
mkdir -p "$run"
last=$(ls -d "$run"/results/checkpoint-* 2> /dev/null | sort -V | tail -1 || true)
resume=()
if [ -n "$last" ]; then resume=(--resume); fi

segments=$run/segments.tsv
utc() { date -u -d @"$1" '+%F %T'; }
# A segment killed with its session leaves its row open. Close it at its newest checkpoint's save
# time: the work after that checkpoint is done again by this run, so it does not count.
if [ -f "$segments" ] && [ "$(tail -1 "$segments" | cut -f4)" = open ]; then
  begun=$(date -u -d "$(tail -1 "$segments" | cut -f1) UTC" +%s)
  saved=$begun upto="its start (no checkpoint)"
  if [ -n "$last" ] && [ "$(stat -c %Y "$last")" -gt "$begun" ]; then saved=$(stat -c %Y "$last") upto=${last##*/}; fi
  sed -i '$d' "$segments"
  printf '%s\t%s\t%s\t%s\n' "$(utc "$begun")" "$(utc "$saved")" "$(( saved - begun ))" "killed, counted to $upto" >> "$segments"
fi

start=$(date +%s)
printf '%s\t-\t-\topen\n' "$(utc "$start")" >> "$segments"
status=0
java -jar cli/target/bert-ft.jar train --model ../shared/models/all-MiniLM-L6-v2 \
    --data ../shared/data/imdb/aclImdb_v1_labeled.tar.gz --max-length 256 --epochs 2 \
    --batch-size 32 --eval-batch-size 64 --learning-rate 5e-5 --warmup-steps 500 --weight-decay 0.01 \
    --logging-steps 10 --save-strategy steps --save-steps 100 --save-total-limit 2 --seed 42 --threads 2 \
    --output-dir "$run/results" --logging-dir "$run/logs" "${resume[@]}" 2>> "$run/train.log" || status=$?
end=$(date +%s)
sed -i '$d' "$segments"
printf '%s\t%s\t%s\t%s\n' "$(utc "$start")" "$(utc "$end")" "$(( end - start ))" "$status" >> "$segments"
[ "$status" -eq 0 ] || exit "$status"

{
  echo "# IMDB full run, finished $(date -u '+%F %H:%M UTC')"
  echo
  echo "- machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; $(java -version 2>&1 | head -1)"
  echo "- recipe: all-MiniLM-L6-v2, all 25,000 train reviews, max length 256, 2 epochs, batch 32, lr 5e-5,"
  echo "  warmup 500 steps, weight decay 0.01, 2 threads; evaluated on every review of the test split"
  echo "- segments (start, end, seconds, exit status; the run was resumed from a checkpoint between them):"
  echo '```'
  cat "$segments"
  echo '```'
  echo "## all_results.json (train_runtime is the last segment's, as in transformers)"
  echo '```'
  cat "$run/results/all_results.json"
  echo
  echo '```'
  echo "## console"
  echo '```'
  grep -v '^loss' "$run/train.log" || true
  echo '```'
} > "$out"
cat "$out"
