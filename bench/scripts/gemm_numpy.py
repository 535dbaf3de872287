"""numpy (OpenBLAS) peer for GemmBench: float32 C = A·B and C = A·Wᵀ on the same shapes.

Run with 2 threads and OpenBLAS's own CPU detection:
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/scripts/gemm_numpy.py
Prints which BLAS library numpy loaded and, for OpenBLAS, the kernel it picked and its thread count.
"""
import ctypes
import os
import time

import numpy as np


def blas_library():
    """The BLAS shared object mapped into this process (numpy links libblas.so.3 through Debian alternatives)."""
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
    return sorted(p for p in paths if ".so" in p)


def openblas_info(path):
    lib = ctypes.CDLL(path)
    info = {}
    for name, restype in (("openblas_get_config", ctypes.c_char_p), ("openblas_get_corename", ctypes.c_char_p),
                          ("openblas_get_num_threads", ctypes.c_int)):
        if hasattr(lib, name):
            fn = getattr(lib, name)
            fn.restype = restype
            value = fn()
            info[name] = value.decode() if isinstance(value, bytes) else value
    return info


def bench(label, fn, flops, warmup=3, runs=10):
    """Wall time per call (median and best); with one OpenBLAS thread also this thread's CPU time,
    which other processes on the same cores disturb far less than wall time."""
    for _ in range(warmup):
        fn()
    times = []
    cpu_start = time.thread_time()
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    cpu = (time.thread_time() - cpu_start) / runs
    times.sort()
    median = times[len(times) // 2]
    line = (f"{label:<34} median {median * 1e3:8.2f} ms  {flops / median / 1e9:7.1f} GFLOP/s"
            f"  (best {flops / times[0] / 1e9:.1f})")
    if os.environ.get("OPENBLAS_NUM_THREADS") == "1":
        line += f"  cpu-time {flops / cpu / 1e9:.1f} GFLOP/s"
    print(line)


def main():
    print("numpy", np.__version__, "OPENBLAS_NUM_THREADS =", os.environ.get("OPENBLAS_NUM_THREADS"))
    for path in blas_library():
        print("loaded:", path)
        print("  ", openblas_info(path))
    rng = np.random.default_rng(0)
    m, k = 4096, 768
    for n in (768, 3072):
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        w = rng.standard_normal((n, k), dtype=np.float32)  # Linear weight [out, in]
        c = np.empty((m, n), dtype=np.float32)
        flops = 2.0 * m * n * k
        bench(f"{m}x{k}x{n} A·B", lambda: np.matmul(a, b, out=c), flops)
        bench(f"{m}x{k}x{n} A·Wt (transB)", lambda: np.matmul(a, w.T, out=c), flops)
    # batched attention: 32 sequences x 12 heads, 128 tokens, head size 64
    heads, t, d = 384, 128, 64
    q = rng.standard_normal((heads, t, d), dtype=np.float32)
    kk = rng.standard_normal((heads, t, d), dtype=np.float32)
    v = rng.standard_normal((heads, t, d), dtype=np.float32)
    s = np.empty((heads, t, t), dtype=np.float32)
    ctx = np.empty((heads, t, d), dtype=np.float32)
    flops = 2.0 * heads * t * t * d
    bench("attention scores Q·Kt [384]", lambda: np.matmul(q, kk.transpose(0, 2, 1), out=s), flops)
    bench("attention context P·V [384]", lambda: np.matmul(s, v, out=ctx), flops)


if __name__ == "__main__":
    main()
