#!/usr/bin/env bash
# The CUDA backend's checks on a GPU machine, from the repository root, with .devicepack/ built
# by bench/scripts/make-devicepack.sh on the development machine:
#   1. nvidia-smi: which GPU and driver;
#   2. the GPU parity tests (every Backend op vs the CPU backend, dropout masks bit for bit,
#      fused attention forward/backward, out-of-memory handling) through JUnit's console launcher;
#   3. whole-model training parity, GPU vs CPU (dev.bertft.bert.GpuTrainingParityTest): the tiny
#      fixture BERT, and a model of all-MiniLM-L6-v2's shape (random weights made here with
#      transformers when ../shared is absent): one step's logits, loss and gradients, 10 steps' losses;
#      and updates replayed from CUDA graphs against the same updates run eagerly on the GPU, bit
#      for bit (dev.bertft.train.GpuStepGraphTest: the replays' copies through the pinned buffer);
#   4. our GEMM at BERT-base's product shapes, TF32 and BF16 (dev.bertft.cuda.GemmThroughput: the
#      shapes, layouts and CUDA-event timing of gemm_torch.py, plus a Linear's dW with its db
#      summed by the same kernel, "dW+db"), into gemm.jsonl; the fused
#      attention's forward and forward + backward (dev.bertft.cuda.AttentionThroughput) against
#      PyTorch's scaled_dot_product_attention (bench/scripts/attention_torch.py) at batch 32, 12
#      heads of 64, 128 and 512 tokens;
#   5. the CLI end to end, in float32 and with --bf16: `bert-ft train --device cuda` fine-tunes a small
#      random BERT on a synthetic sentiment task (bench/scripts/make_synthetic_task.py; no IMDB or
#      pretrained model there), `bert-ft eval --device cuda` must repeat the float32 run's final
#      evaluation, `bert-ft predict --device cuda` classifies 20 texts with each saved model (the bf16
#      run saves bfloat16 weights, predicted once widened and once at --bf16, which reads them as
#      stored), and transformers loads each folder and must give the same labels and logits (within
#      0.01, 0.1 at --bf16); the bf16 run's accuracy must come within 0.5 point of the float32 run's;
#   6. `bert-ft bench --device cuda` (plain, --bf16, --fp16) on a bert-base-shaped model, batch 32 x 128 and 32 x 512, against
#      transformers on the same GPU (bench/scripts/bench_pytorch.py) in fp32, tf32, bf16 and fp16
#      autocast, each figure the median of 20 timed steps (the issues' convention); torch.matmul at
#      BERT's product shapes (bench/scripts/gemm_torch.py); summary.json from all of it
#      (bench/scripts/gpu_summary.py);
#   7. while the budget allows, in this order: the per-kernel profiles of the TF32 training step at
#      32 x 128 and the bf16 one at 32 x 512 (bench/scripts/gpu-profile.sh, into profile/, each set
#      beside run 2 of 2026-12-04's per kernel by bench/scripts/profile_diff.py: *-vs-run2.txt), the
#      hardware counters of the heaviest kernels (bench/scripts/gpu-ncu.sh, into ncu/), torch.compile (tf32, 32 x 128), and
#      --gradient-checkpointing's memory and step time at 32 x 512.
# Budget, as timed on an H200 (2026-12-04): 1-4 about 50 s, 5 about 80 s, 6 about 200 s (14 processes of
# 23 steps and the matmul sweep), 333 s in all; the attention sweep of 4 (added since) about 30 s more.
# Each part of 7 runs only when $budget_s (default 480) still leaves it its time limit; GPU_CHECK_PARTS
# leaves parts out for a short lease.
# Raw output goes to $OUT when set (the device tool brings it back), else to
# bench/results/gpu-check-<UTC time>/; copy it with its summary.json into bench/results/gpu-<date>-<gpu>/.
# Where no GPU is usable every parity test is reported as skipped with the reason.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
pack=$root/.devicepack
out=${OUT:-$root/bench/results/gpu-check-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
cd "$root"
source "$root/bench/scripts/devicepack-jre.sh"
# Each step has its own time limit, so that a kernel that hangs costs one step, not the run.
limited() { local seconds=$1; shift; timeout -k 5 "$seconds" "$@"; }
step() { echo "== $1 (at ${SECONDS}s)"; }
# summary.json from the figures so far; a peer that failed or ran out of time leaves its row out
summarize() {
  find "$out" -name 'peer-*.json' -empty -delete
  python3 bench/scripts/gpu_summary.py "$out" "$(head -1 "$pack/commit.txt")"
}
status=0
budget_s=${GPU_CHECK_BUDGET_S:-480}
# GPU_CHECK_PARTS: the parts to run (default all): parity bert-parity gemm attention e2e bench peers profile ncu
# compile checkpointing. A short lease runs a few, e.g. "parity bench profile ncu" after a kernel change.
want() { [ "${GPU_CHECK_PARTS:-all}" = all ] || [[ " $GPU_CHECK_PARTS " == *" $1 "* ]]; }
# Whether optional part $1 (of 7, described by $3) runs: wanted, and $2 seconds of the budget left for it; says so when not.
fits() {
  want "$1" || return 1
  [ $((SECONDS + $2)) -le "$budget_s" ] && return 0
  echo "$3 left out: ${SECONDS}s of the ${budget_s}s budget used" | tee -a "$out/bench.txt"
  return 1
}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -srm)"
  echo "commit: $(cat "$pack/commit.txt")"
  "${java[@]}" -version 2>&1 | tail -1
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi -L
    nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
    # The driver compiles our PTX on a machine's first run and caches it: both startups.
    echo "doctor with the driver's compile cache off (CUDA_CACHE_DISABLE=1), then on:"
    CUDA_CACHE_DISABLE=1 "${java[@]}" -cp "$pack/lib/*" dev.bertft.cli.Main doctor 2>&1 | grep -E "^(opened|gpu):"
    "${java[@]}" -cp "$pack/lib/*" dev.bertft.cli.Main doctor 2>&1 | grep -E "^(opened|gpu):"
  else
    echo "nvidia-smi: not found (no NVIDIA driver here)"
  fi
} 2>&1 | tee "$out/gpu-info.txt"

if want parity; then
step "parity tests" | tee "$out/junit.txt"
limited 120 "${java[@]}" -cp "$pack/lib/*" org.junit.platform.console.ConsoleLauncher \
    --disable-banner --disable-ansi-colors --details=tree --select-class dev.bertft.cuda.CudaParityTest --select-class dev.bertft.cuda.CudaOpenTest \
    --select-class dev.bertft.cuda.GpuKernelFaultTest \
    2>&1 | tee -a "$out/junit.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi

if want bert-parity; then
step "BERT training parity" | tee "$out/bert-parity.txt"
model=()
if [ ! -d "$root/../shared/models/all-MiniLM-L6-v2" ]; then
  shaped=$(mktemp -d)/minilm-shaped  # outside $out: the device tool brings back only a few small files
  python3 - "$shaped" <<'PY' >> "$out/bert-parity.txt" 2>&1 && model=(-Dbertft.parity.model="$shaped")
import sys, torch, transformers
torch.manual_seed(0)
config = transformers.BertConfig(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)
transformers.BertModel(config).save_pretrained(sys.argv[1], safe_serialization=True)
print("made a MiniLM-shaped BERT with random weights in", sys.argv[1])
PY
fi
(cd bert && limited 150 "${java[@]}" "${model[@]}" -cp "$pack/lib/*" org.junit.platform.console.ConsoleLauncher \
    --disable-banner --disable-ansi-colors --details=tree --select-class dev.bertft.bert.GpuTrainingParityTest --select-class dev.bertft.train.GpuStepGraphTest) 2>&1 | tee -a "$out/bert-parity.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi

if want gemm; then
step "gemm throughput at BERT's shapes, GPU time by CUDA events: gemm.jsonl (torch.matmul's: gemm-torch.jsonl)" | tee "$out/gemm.txt"
for operands in F32 BF16; do
  limited 90 "${java[@]}" -cp "$pack/lib/*" dev.bertft.cuda.GemmThroughput 20 $operands 2>> "$out/gemm.txt" | tee -a "$out/gemm.jsonl"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done
fi

if want attention; then
step "attention throughput: ours (attention.jsonl), then scaled_dot_product_attention (attention-torch.jsonl)" | tee "$out/attention.txt"
limited 90 "${java[@]}" -cp "$pack/lib/*" dev.bertft.cuda.AttentionThroughput 20 2>> "$out/attention.txt" | tee -a "$out/attention.jsonl"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
limited 90 python3 bench/scripts/attention_torch.py 2>> "$out/attention.txt" | tee -a "$out/attention-torch.jsonl"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi

if want e2e; then
step "train and predict from the command line (fp32, bf16), then transformers loads each model" | tee "$out/train-e2e.txt"
task=$(mktemp -d)/task
limited 60 python3 bench/scripts/make_synthetic_task.py "$task" 2>&1 | tee -a "$out/train-e2e.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
for precision in fp32 bf16; do
  flags=(); [ "$precision" = fp32 ] || flags=(--bf16 --save-dtype bfloat16)
  trained=$task/out-$precision
  {
    echo "-- $precision"
    limited 120 "${java[@]}" -cp "$pack/lib/*" dev.bertft.cli.Main train --device cuda --model "$task/model" --data "$task/train.csv" \
        --eval-data "$task/eval.csv" --epochs 2 --batch-size 32 --learning-rate 3e-4 --warmup-steps 25 --max-length 64 \
        --logging-steps 25 --save-strategy no ${flags[@]+"${flags[@]}"} --output-dir "$trained" --logging-dir "$trained-logs" --offline &&
    cp "$trained/all_results.json" "$out/e2e-$precision-results.json" &&
    if [ "$precision" = fp32 ]; then
      limited 60 "${java[@]}" -cp "$pack/lib/*" dev.bertft.cli.Main eval --device cuda --model "$trained" --eval-data "$task/eval.csv" \
          --max-length 64
    fi &&
    limited 60 "${java[@]}" -cp "$pack/lib/*" dev.bertft.cli.Main predict --device cuda --model "$trained" --input "$task/texts.txt" \
        > "$task/predictions-$precision.jsonl" &&
    python3 bench/scripts/check_transformers_load.py "$trained" "$task/texts.txt" "$task/predictions-$precision.jsonl" \
        --json "$out/e2e-$precision-transformers.json" &&
    if [ "$precision" = bf16 ]; then
      # the bf16 folder predicted at bf16 reads its Linear weights as stored (not widened): the same labels,
      # logits within BF16's rounding of the activations
      limited 60 "${java[@]}" -cp "$pack/lib/*" dev.bertft.cli.Main predict --device cuda --bf16 --model "$trained" \
          --input "$task/texts.txt" > "$task/predictions-bf16-at-bf16.jsonl" &&
      python3 bench/scripts/check_transformers_load.py "$trained" "$task/texts.txt" "$task/predictions-bf16-at-bf16.jsonl" --tolerance 0.1
    fi
  } 2>&1 | tee -a "$out/train-e2e.txt"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done
fi

# Step times of a bert-base-shaped classifier at the IMDB recipe's batch (32) and at 128 and 512
# tokens, against transformers on the same GPU: PyTorch eager in each precision an HF Trainer user
# picks (fp32, tf32=True, bf16=True, fp16=True) and torch.compile in tf32 (its compile takes
# a minute, so one row, run last and only within the budget). Ours runs as a plain run (TF32), with --bf16 and with --fp16 (its step
# includes the GradScaler, as the peer's fp16 does). Each figure is a median of $timed steps.
timed=20
step "bench: bert-base shape, batch 32 x 128 and 32 x 512" | tee "$out/bench.txt"
for seq in 128 512; do
  for precision in tf32 bf16 fp16; do
    want bench || continue
    flag=(); [ "$precision" = tf32 ] || flag=(--$precision)
    limited 120 "${java[@]}" -cp "$pack/lib/*" dev.bertft.cli.Main bench --device cuda --shape bert-base --batch-size 32 --seq-len $seq \
        ${flag[@]+"${flag[@]}"} --steps $timed --warmup 3 --json "$out/bertft-$seq-$precision.json" 2>&1 | tee -a "$out/bench.txt"
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  done
  for precision in fp32 tf32 bf16 fp16; do
    want peers || continue
    limited 90 python3 bench/scripts/bench_pytorch.py --shape bert-base --device cuda --batch-size 32 --seq-len $seq --steps $timed \
        --warmup 3 --precision $precision > "$out/peer-$seq-$precision-eager.json" 2>> "$out/bench.txt"
    cat "$out/peer-$seq-$precision-eager.json" >> "$out/bench.txt"
  done
done
if want peers; then
  step "torch.matmul at BERT's shapes" | tee "$out/gemm-torch.jsonl"
  limited 60 python3 bench/scripts/gemm_torch.py 2>&1 | tee -a "$out/gemm-torch.jsonl"
fi
summarize 2>&1 | tee -a "$out/summary.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# Where the step's GPU time goes, kernel by kernel (#16 asks for it beside each change's saving):
# the TF32 step at 32 x 128 and the bf16 one at 32 x 512; then what bounds the heaviest kernels, by
# the hardware counters (gpu-ncu.sh), for the next change to aim at.
if fits profile 60 "kernel profile"; then
  step "per-kernel profile, training step: tf32 32 x 128, bf16 32 x 512" | tee -a "$out/bench.txt"
  OUT=$out/profile PROFILE_MODES=train limited 60 bash bench/scripts/gpu-profile.sh > /dev/null 2>&1
  OUT=$out/profile PROFILE_MODES=train PROFILE_SEQ=512 PROFILE_PRECISION=bf16 limited 60 bash bench/scripts/gpu-profile.sh > /dev/null 2>&1
  echo "profiles in profile/profile-train-*.txt" >> "$out/bench.txt"
  # each against run 2 of 2026-12-04 (the last profiled run), per kernel, to set beside the gpu-blind-*.md predictions
  for f in "$out"/profile/profile-train-*.txt; do
    base=bench/results/gpu-2026-12-04-h200-run2/profile/$(basename "$f")
    [ -f "$base" ] && python3 bench/scripts/profile_diff.py "$base" "$f" > "${f%.txt}-vs-run2.txt" 2>&1
  done
fi
if fits ncu 90 "ncu"; then
  step "hardware counters of the heaviest kernels (ncu)" | tee -a "$out/bench.txt"
  OUT=$out/ncu NCU_TIMEOUT_S=30 limited 90 bash bench/scripts/gpu-ncu.sh >> "$out/bench.txt" 2>&1
  echo "ncu reports in ncu/" >> "$out/bench.txt"
fi

if fits compile 150 "torch.compile row"; then
  step "torch.compile, tf32, 32 x 128" | tee -a "$out/bench.txt"
  limited 150 python3 bench/scripts/bench_pytorch.py --shape bert-base --device cuda --batch-size 32 --seq-len 128 --steps $timed \
      --warmup 3 --precision tf32 --compile > "$out/peer-128-tf32-compile.json" 2>> "$out/bench.txt"
  cat "$out/peer-128-tf32-compile.json" >> "$out/bench.txt"
  summarize > /dev/null 2>&1   # again, with the compile row
fi
# --gradient-checkpointing's memory (the bench's memory line holds the peak) and step time, against the plain
# 32 x 512 tf32 row above; the CUDA backend's dry run put the peak at 3,837 MiB against 11,694.
if fits checkpointing 60 "gradient checkpointing row"; then
  step "bench: --gradient-checkpointing, tf32, 32 x 512" | tee -a "$out/bench.txt"
  limited 60 "${java[@]}" -cp "$pack/lib/*" dev.bertft.cli.Main bench --device cuda --shape bert-base --batch-size 32 --seq-len 512 \
      --mode train --gradient-checkpointing --steps 10 --warmup 3 2>&1 | tee -a "$out/bench.txt"
fi
step "done" | tee -a "$out/train-e2e.txt"
echo "raw output in $out"
exit $status
