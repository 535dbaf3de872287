// The ring of shared-memory stages that overlaps cp.async copies with the work on earlier ones,
// for every kernel that streams tiles: the GEMMs' K steps, attention's key and query tiles.
#pragma once
#include "common.cuh"

// [begin, end) in steps of STEP through STAGES stages: stage i % STAGES holds step i (from begin +
// i·STEP). load(stage, first) queues a step's copies (cp.async; plain shared stores too, which the
// next barrier publishes), compute(stage, first) works on one. One commit group per step (empty
// past the end), so "all but the newest STAGES-2 groups have landed" means step i has; while
// compute works on it, the next STAGES-1 are in flight. One barrier a step: it makes step i
// everyone's to read, and step i-1's stage, which the load after it refills, everyone's done with.
template <int STAGES, int STEP, class Load, class Compute>
__device__ __forceinline__ void cp_async_ring(int begin, int end, Load &&load, Compute &&compute) {
    const int steps = (end - begin + STEP - 1) / STEP;
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < steps) load(s, begin + s * STEP);
        cp_async_commit();
    }
    for (int i = 0; i < steps; i++) {
        cp_async_wait<STAGES - 2>();
        __syncthreads();
        int next = i + STAGES - 1;
        if (next < steps) load(next % STAGES, begin + next * STEP);
        cp_async_commit();
        compute(i % STAGES, begin + i * STEP);
    }
}
