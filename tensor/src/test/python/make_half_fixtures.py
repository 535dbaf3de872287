"""Writes ../resources/half/rounding.json: float32 inputs and PyTorch's bfloat16 and float16
roundings of them, as bit patterns, for the half-precision casts of both backends.

The inputs are the cases rounding gets wrong most easily (ties to even on either side, the
largest finite values and the first ones that overflow, half and bfloat16 subnormals, signed
zeros, infinities, NaN) and random values over the whole float32 exponent range.
Run with torch 1.13: /usr/bin/python3 make_half_fixtures.py
"""
import json
import pathlib

import numpy as np
import torch


def f32(bits):
    return np.array([bits], dtype=np.uint32).view(np.float32)[0]


def main():
    special = [
        0x00000000, 0x80000000, 0x3F800000, 0xBF800000,           # ±0, ±1
        0x3F808000, 0x3F818000, 0x3F808001, 0x3F807FFF,           # bf16 ties: 1 + 2^-8 to even (down), 1 + 3·2^-8 (up)
        0x3F801000, 0x3F803000, 0x3F801001,                       # f16 ties: 1 + 2^-11 (down), 1 + 3·2^-11 (up)
        0x477FE000, 0x477FEFFF, 0x477FF000, 0x47800000,           # f16: 65504, just under and at the overflow tie, 65536
        0x7F7F7FFF, 0x7F7F8000, 0x7F7FFFFF,                       # bf16: largest finite, overflow tie, float max
        0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0x7FFFFFFF,  # infinities, NaNs
        0x38800000, 0x387FE000, 0x387FF000, 0x33800000,           # f16: min normal, its neighbours, 2^-24 (min subnormal)
        0x33000000, 0x33400000, 0x33C00000, 0x33A00000, 0xB3C00000,  # f16: 2^-25 tie to 0, 1.5·2^-25, 1.5·2^-24 tie up, 1.25·2^-24
        0x00000001, 0x00008000, 0x00018000, 0x007FFFFF, 0x00800000, 0x80008001,  # bf16 on float subnormals
    ]
    rng = np.random.default_rng(15)
    randoms = rng.integers(0, 2**32, size=3000, dtype=np.uint64).astype(np.uint32)
    # and as many in the range BERT's activations and weights live in, where most bits matter
    near = (rng.standard_normal(1000) * np.exp2(rng.integers(-20, 17, size=1000))).astype(np.float32).view(np.uint32)
    bits = np.concatenate([np.array(special, dtype=np.uint32), randoms, near])
    x = torch.from_numpy(bits.view(np.float32).copy())
    bf16 = x.to(torch.bfloat16).view(torch.int16).numpy().astype(np.uint16)
    f16 = x.to(torch.float16).view(torch.int16).numpy().astype(np.uint16)
    out = {
        "source": "make_half_fixtures.py, torch " + torch.__version__,
        "f32_bits": [int(b) for b in bits],
        "bf16_bits": [int(b) for b in bf16],
        "f16_bits": [int(b) for b in f16],
    }
    path = pathlib.Path(__file__).resolve().parent.parent / "resources" / "half" / "rounding.json"
    path.write_text(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
