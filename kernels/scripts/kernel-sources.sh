# Sourced by build-ptx.sh and build-fatbin.sh: the kernel sources and how each is compiled.

SOURCES=$(cd "$(dirname "${BASH_SOURCE[0]}")/../src/main/cuda" && pwd)

# --fmad=false keeps a·b+c as two roundings, as Java computes it, for the kernels whose results
# are compared with the CPU backend element by element; the GEMM and attention kernels keep
# fused multiply-adds (their tolerance is the TF32 / float-sum one anyway).
fmad_for() {
  case "$1" in
    gemm|gemm_half|attention) echo true ;;
    *) echo false ;;
  esac
}

# compile_modules OUT_DIR NVCC EXT NVCC_OPTIONS...: every .cu to OUT_DIR/<module>.EXT (OUT_DIR
# absolute), all at once, each with its --fmad; fails if any fails. Run from the sources' folder:
# relative file names keep machine paths out of the output.
compile_modules() {
  local out=$1 nvcc=$2 ext=$3
  shift 3
  (
    cd "$SOURCES"
    pids=()
    for cu in *.cu; do
      name=${cu%.cu}
      "$nvcc" "$@" -std=c++17 --fmad="$(fmad_for "$name")" -Werror all-warnings -o "$out/$name.$ext" "$cu" &
      pids+=($!)
    done
    status=0
    for p in "${pids[@]}"; do wait "$p" || status=1; done
    exit $status
  )
}

# The SHA-256 of every source, as sha256sum prints it, in C order. The build writes it beside the
# PTX (committed, as sources.sha256) and beside the fatbins (fatbin.sha256), so the loader uses
# fatbins only when they come from the sources the PTX comes from, and a test checks the committed
# file against the sources.
sources_sha256() {
  (cd "$SOURCES" && LC_ALL=C ls *.cu *.cuh | LC_ALL=C sort | xargs sha256sum)
}
