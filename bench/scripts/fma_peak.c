/*
 * The float32 FMA peak of this machine measured outside the JVM: the independent check of
 * FmaPeakBench, the yardstick issue #19's GEMM goal is stated against.
 *
 *   gcc -O2 -mavx512f -pthread bench/scripts/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
 *
 * Each thread runs 16 independent chains c = c*m + a of 16-lane AVX-512 FMAs (more chains than
 * FMA latency x FMA pipes, so the pipes never wait), no memory traffic. One FMA is 32 flops.
 *
 * The chains must stay distinct in the compiled code: started from equal values, gcc proves
 * them equal and computes one for several (then the count of flops is wrong by that factor).
 * The empty asm statements below tell the compiler each chain may have changed, so it keeps all
 * sixteen; `objdump -d` shows 16 vfmadd per loop iteration.
 */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#define FMAS_PER_THREAD 12800000000L /* 410 GFLOP a thread: about 2 s a run at 200 GFLOP/s */

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float sink[2];

static void *chains(void *arg) {
    __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-7f);
    __m512 c0 = a, c1 = a, c2 = a, c3 = a, c4 = a, c5 = a, c6 = a, c7 = a;
    __m512 c8 = a, c9 = a, c10 = a, c11 = a, c12 = a, c13 = a, c14 = a, c15 = a;
    for (long s = 0; s < FMAS_PER_THREAD / 16; s++) {
        c0 = _mm512_fmadd_ps(c0, m, a); c1 = _mm512_fmadd_ps(c1, m, a);
        c2 = _mm512_fmadd_ps(c2, m, a); c3 = _mm512_fmadd_ps(c3, m, a);
        c4 = _mm512_fmadd_ps(c4, m, a); c5 = _mm512_fmadd_ps(c5, m, a);
        c6 = _mm512_fmadd_ps(c6, m, a); c7 = _mm512_fmadd_ps(c7, m, a);
        c8 = _mm512_fmadd_ps(c8, m, a); c9 = _mm512_fmadd_ps(c9, m, a);
        c10 = _mm512_fmadd_ps(c10, m, a); c11 = _mm512_fmadd_ps(c11, m, a);
        c12 = _mm512_fmadd_ps(c12, m, a); c13 = _mm512_fmadd_ps(c13, m, a);
        c14 = _mm512_fmadd_ps(c14, m, a); c15 = _mm512_fmadd_ps(c15, m, a);
        __asm__ volatile("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4), "+v"(c5), "+v"(c6), "+v"(c7));
        __asm__ volatile("" : "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11), "+v"(c12), "+v"(c13), "+v"(c14), "+v"(c15));
    }
    __m512 lo = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                              _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7)));
    __m512 hi = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)),
                              _mm512_add_ps(_mm512_add_ps(c12, c13), _mm512_add_ps(c14, c15)));
    *(float *) arg = _mm512_reduce_add_ps(_mm512_add_ps(lo, hi)); /* keeps the result alive */
    return 0;
}

int main(void) {
    for (int threads = 1; threads <= 2; threads++) {
        pthread_t t[2];
        double start = seconds();
        for (int i = 0; i < threads; i++) pthread_create(&t[i], 0, chains, &sink[i]);
        for (int i = 0; i < threads; i++) pthread_join(t[i], 0);
        double flops = threads * FMAS_PER_THREAD * 32.0, elapsed = seconds() - start;
        printf("%d thread%s: %.1f GFLOP/s (%.1f per thread)\n", threads, threads > 1 ? "s" : "", flops / elapsed / 1e9,
               flops / elapsed / 1e9 / threads);
    }
    return sink[0] == 12345.f; /* never: only so the sums are used */
}
