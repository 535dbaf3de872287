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
# feature fails the build instead of failing on an old driver.
# --fmad=false keeps a·b+c as two roundings, as Java computes it, for the kernels whose results
# are compared with the CPU backend element by element; the GEMM and attention kernels keep
# fused multiply-adds (their tolerance is the TF32 / float-sum one anyway).
set -euo pipefail
out=${1:?usage: build-ptx.sh OUT_DIR [NVCC]}
nvcc=${2:-${CUDA_HOME:-/usr/local/cuda}/bin/nvcc}
src=$(cd "$(dirname "$0")/../src/main/cuda" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
pids=()
cd "$src"   # relative file names keep machine paths out of the PTX
for cu in *.cu; do
  name=${cu%.cu}
  case "$name" in
    gemm|gemm_half|attention) fmad=true ;;
    *) fmad=false ;;
  esac
  { "$nvcc" -ptx -arch=compute_80 -std=c++17 --fmad=$fmad -Werror all-warnings -o "$out/$name.ptx" "$cu" &&
    sed -i 's/^\.version [0-9.]*$/.version 8.0/' "$out/$name.ptx"; } &
  pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
# nvcc 13 can mark a partly used vector load with this pragma, which needs ISA 8.3: PTX relabelled 8.0 with it would not load.
for ptx in $(grep -l used_bytes_mask "$out"/*.ptx || true); do
  echo "build-ptx.sh: $ptx has .pragma \"used_bytes_mask\" (PTX ISA 8.3), newer than the 8.0 it declares" >&2; status=1
done
exit $status
