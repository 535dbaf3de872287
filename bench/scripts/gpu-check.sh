#!/usr/bin/env bash
# The CUDA backend's checks on a GPU machine, from the repository root, with .devicepack/ built
# by bench/scripts/make-devicepack.sh on the development machine:
#   1. nvidia-smi: which GPU and driver;
#   2. the GPU parity tests (every Backend op vs the CPU backend, dropout masks bit for bit,
#      fused attention forward/backward, out-of-memory handling) through JUnit's console launcher;
#   3. whole-model training parity, GPU vs CPU (dev.bertft.bert.GpuTrainingParityTest): the tiny
#      fixture BERT, and a model of all-MiniLM-L6-v2's shape (random weights made here with
#      transformers when ../shared is absent): one step's logits, loss and gradients, 10 steps' losses;
#   4. float32 and BF16 GEMM throughput for BERT-base shapes (dev.bertft.cuda.GemmThroughput);
#   5. `bert-ft bench --device cuda` on a bert-base-shaped model against transformers on the same
#      GPU (bench/scripts/bench_pytorch.py), float32 and TF32;
#   6. the CLI end to end: `bert-ft train --device cuda` fine-tunes a small random BERT on a
#      synthetic sentiment task (bench/scripts/make_synthetic_task.py; no IMDB or pretrained model
#      there), `bert-ft eval --device cuda` must repeat its final evaluation, `bert-ft predict
#      --device cuda` classifies 20 texts with the saved model, and transformers loads that folder
#      and must give the same logits and labels.
# Raw output goes to $OUT when set (the device tool brings it back), else to
# bench/results/gpu-check-<UTC time>/; summarise it into bench/results/ by hand.
# Where no GPU is usable every parity test is reported as skipped with the reason.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
pack=$root/.devicepack
out=${OUT:-$root/bench/results/gpu-check-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
cd "$root"
if [ ! -x "$pack/jre/bin/java" ]; then
  echo "no .devicepack/jre: run bench/scripts/make-devicepack.sh first" >&2
  exit 2
fi
java=("$pack/jre/bin/java" --add-modules jdk.incubator.vector -Xmx8g)
# Each step has its own time limit, so that a kernel that hangs costs one step, not the run.
limited() { local seconds=$1; shift; timeout -k 5 "$seconds" "$@"; }
step() { echo "== $1 (at ${SECONDS}s)"; }
status=0

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -srm)"
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

step "parity tests" | tee "$out/junit.txt"
limited 120 "${java[@]}" -cp "$pack/lib/*" org.junit.platform.console.ConsoleLauncher \
    --disable-banner --disable-ansi-colors --details=tree --select-class dev.bertft.cuda.CudaParityTest --select-class dev.bertft.cuda.CudaOpenTest \
    --select-class dev.bertft.cuda.GpuKernelFaultTest \
    2>&1 | tee -a "$out/junit.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

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
    --disable-banner --disable-ansi-colors --details=tree --select-class dev.bertft.bert.GpuTrainingParityTest) 2>&1 | tee -a "$out/bert-parity.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

step "gemm throughput" | tee "$out/gemm.txt"
limited 60 "${java[@]}" -cp "$pack/lib/*" dev.bertft.cuda.GemmThroughput 20 2>&1 | tee -a "$out/gemm.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
limited 60 "${java[@]}" -cp "$pack/lib/*" dev.bertft.cuda.GemmThroughput 20 BF16 2>&1 | tee -a "$out/gemm.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# Step rate of a bert-base-shaped classifier, batch 32 x 128 (the IMDB recipe's batch), against
# transformers on the same GPU in float32 (PyTorch's default) and with TF32 matmuls, as ours use.
step "bench: bert-base shape, batch 32 x 128" | tee "$out/bench.txt"
limited 120 "${java[@]}" -cp "$pack/lib/*" dev.bertft.cli.Main bench --device cuda --shape bert-base --batch-size 32 --seq-len 128 \
    --steps 20 --warmup 3 --json "$out/bench-bertft.json" 2>&1 | tee -a "$out/bench.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
for precision in "" --tf32; do
  limited 60 python3 bench/scripts/bench_pytorch.py --shape bert-base --device cuda --batch-size 32 --seq-len 128 --steps 20 --warmup 3 \
      $precision 2>&1 | tee -a "$out/bench.txt"
done

step "train and predict from the command line, then transformers loads the model" | tee "$out/train-e2e.txt"
task=$(mktemp -d)/task
{
  python3 bench/scripts/make_synthetic_task.py "$task" &&
  limited 180 "${java[@]}" -cp "$pack/lib/*" dev.bertft.cli.Main train --device cuda --model "$task/model" --data "$task/train.csv" \
      --eval-data "$task/eval.csv" --epochs 2 --batch-size 32 --learning-rate 3e-4 --warmup-steps 25 --max-length 64 \
      --logging-steps 25 --save-strategy epoch --output-dir "$task/out" --logging-dir "$task/logs" --offline &&
  limited 60 "${java[@]}" -cp "$pack/lib/*" dev.bertft.cli.Main eval --device cuda --model "$task/out" --eval-data "$task/eval.csv" \
      --max-length 64 &&
  limited 60 "${java[@]}" -cp "$pack/lib/*" dev.bertft.cli.Main predict --device cuda --model "$task/out" --input "$task/texts.txt" \
      > "$task/predictions.jsonl" &&
  python3 bench/scripts/check_transformers_load.py "$task/out" "$task/texts.txt" "$task/predictions.jsonl"
} 2>&1 | tee -a "$out/train-e2e.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

step "done" | tee -a "$out/train-e2e.txt"
echo "raw output in $out"
exit $status
