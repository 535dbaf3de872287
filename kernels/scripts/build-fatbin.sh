#!/usr/bin/env bash
# Compiles each kernels/src/main/cuda/*.cu to a fatbin: machine code (SASS) for sm_80, sm_86,
# sm_89 and sm_90a, so a first run on those GPUs does not wait for the driver's JIT (about 12 s
# for all modules), and PTX for compute_90, which the driver JIT-compiles on newer GPUs. Writes
# fatbin.sha256, the hash of the sources they come from (see kernel-sources.sh).
# Usage: build-fatbin.sh OUT_DIR [NVCC]     (NVCC defaults to $CUDA_HOME/bin/nvcc or /usr/local/cuda/bin/nvcc)
#
# The Maven build runs this at prepare-package where nvcc exists (profile "nvcc" in kernels/pom.xml):
# the fatbins go into the jar and never into git; without nvcc the jar has the committed PTX only.
# Kernels loads them when fatbin.sha256 equals the committed PTX's sources.sha256, else the PTX.
set -euo pipefail
. "$(dirname "$0")/kernel-sources.sh"
out=${1:?usage: build-fatbin.sh OUT_DIR [NVCC]}
out=$(mkdir -p "$out" && cd "$out" && pwd)
compile_modules "$out" "${2:-${CUDA_HOME:-/usr/local/cuda}/bin/nvcc}" fatbin -fatbin \
  -gencode arch=compute_80,code=sm_80 -gencode arch=compute_86,code=sm_86 -gencode arch=compute_89,code=sm_89 \
  -gencode arch=compute_90a,code=sm_90a -gencode arch=compute_90,code=compute_90 -Xptxas -warn-spills,-warn-lmem-usage
sources_sha256 > "$out/fatbin.sha256"
