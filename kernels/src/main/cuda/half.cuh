// The 16-bit float formats: CUDA's bfloat16 and half types and conversions (the tests' CPU
// emulator supplies its own in cuda_emulation.h), and the tensor-core instructions on them.
#pragma once
#include <stdint.h>

#ifdef __CUDACC__
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#endif
