#!/usr/bin/env bash
# Compiles each kernels/src/main/cuda/*.cu to PTX, one module per file.
# Usage: build-ptx.sh OUT_DIR [NVCC]     (NVCC defaults to $CUDA_HOME/bin/nvcc or /usr/local/cuda/bin/nvcc)
#
# The Maven build runs this when nvcc exists (profile "nvcc" in kernels/pom.xml); its output is
# also committed under src/main/resources/dev/bertft/cuda/ so a machine without nvcc builds the
# same jar, and PtxSourcesTest regenerates it to check the two agree.
#
# -arch=compute_80: PTX only, JIT-compiled by the driver for the GPU at hand (sm_80 and newer,
# H100/H200 included). nvcc 13 labels its PTX ISA 9.0, which only a CUDA 13 driver (580 or newer)
# accepts, though our kernels use nothing newer than ISA 7.0 (cp.async, mma.sync). So each module
# is relabelled ISA 8.0 (CUDA 12.0), the oldest the JCuda 12 driver bindings go with: it loads on
# drivers from 525 on. ptxas checks every feature against the declared version, and
# PtxSourcesTest has it assemble the committed files, so a kernel that starts using a newer
# feature fails the build instead of failing on an old driver. nvcc 13 can mark a partly used
# vector load with `.pragma "used_bytes_mask N"` (ISA 8.3), and did so at random from float4 reads
# of shared memory (gemm.cu reads them through shared_float4 since); a module with it is refused.
# The FMA choice per module and the sources' hash (sources.sha256, written beside the PTX) come
# from kernel-sources.sh.
set -euo pipefail
. "$(dirname "$0")/kernel-sources.sh"
out=${1:?usage: build-ptx.sh OUT_DIR [NVCC]}
out=$(mkdir -p "$out" && cd "$out" && pwd)
compile_modules "$out" "${2:-${CUDA_HOME:-/usr/local/cuda}/bin/nvcc}" ptx -ptx -arch=compute_80
for cu in "$SOURCES"/*.cu; do
  name=$(basename "$cu" .cu)
  sed -i -e 's/^\.version [0-9.]*$/.version 8.0/' "$out/$name.ptx"
done
status=0
for ptx in $(grep -l used_bytes_mask "$out"/*.ptx || true); do
  echo "build-ptx.sh: $ptx has .pragma \"used_bytes_mask\" (PTX ISA 8.3), newer than the 8.0 it declares" >&2; status=1
done
sources_sha256 > "$out/sources.sha256"
exit $status
