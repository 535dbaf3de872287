#!/bin/bash
# one round of the sweep, three warm-up regimes (session 15)
cd /work/main
export JARS=/work/s15/final.jar JDK25=0 TORCH_CHROOT=/work/torch-trixie
CASES="minilm-l6 1 32 train;minilm-l6 1 32 predict;minilm-l6 1 128 train;minilm-l6 1 128 predict;minilm-l6 8 32 train;minilm-l6 8 32 predict;minilm-l6 1 512 predict;bert-base 1 128 train;bert-base 1 128 predict" WARMUP=200 bash bench/scripts/cpu_vs_torch.sh 1 20
CASES="minilm-l6 1 512 train;minilm-l6 8 128 predict;minilm-l6 32 32 train;minilm-l6 32 32 predict;minilm-l6 8 512 predict" WARMUP=20 bash bench/scripts/cpu_vs_torch.sh 1 10
CASES="minilm-l6 8 512 train;minilm-l6 32 512 predict;minilm-l6 32 512 train" WARMUP=3 bash bench/scripts/cpu_vs_torch.sh 1 5
