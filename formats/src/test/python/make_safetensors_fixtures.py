#!/usr/bin/env python3
"""Writes the safetensors fixtures used by the Java tests in dev.bertft.safetensors.

Run from anywhere:  /usr/bin/python3 formats/src/test/python/make_safetensors_fixtures.py

The `safetensors` Python package is not installed here, so the file format is written by hand
from its specification:

    [8 bytes]  N, the header length, unsigned 64-bit little endian
    [N bytes]  UTF-8 JSON object: {"__metadata__": {str: str}, name: {"dtype": "F32",
               "shape": [d0, d1, ...], "data_offsets": [begin, end]}, ...}, padded with spaces
    [rest]     the tensors' bytes, little endian, row major; offsets are relative to here

The tensor bytes and the expected values come from PyTorch, so the Java float16/bfloat16/float64
conversions are checked against an independent implementation. The header keys are written in a
different order from the data layout, as real writers sometimes do, so the reader must sort by
offset rather than trust the key order.
"""
import json
import os
import struct

import torch

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "resources", "safetensors"))

DTYPE_NAMES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL",
}


def raw_bytes(t):
    """The tensor's elements as little-endian bytes (this machine is little endian)."""
    assert struct.pack("=H", 1) == b"\x01\x00", "fixtures must be written on a little-endian machine"
    t = t.contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: reinterpret the bits as int16
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def write_safetensors(path, tensors, metadata=None, header_order=None):
    """tensors: list of (name, torch tensor) in data-layout order."""
    entries, blobs, offset = {}, [], 0
    for name, t in tensors:
        data = raw_bytes(t)
        entries[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape),
                         "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    for name in (header_order or [n for n, _ in tensors]):
        header[name] = entries[name]
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)
    return offset


def expected(t):
    """What the Java reader must return, computed by PyTorch."""
    e = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape)}
    if t.is_floating_point():
        e["f32_bits"] = t.to(torch.float32).view(torch.int32).flatten().tolist()
        e["f64_bits"] = t.to(torch.float64).view(torch.int64).flatten().tolist()
    else:
        e["ints"] = t.to(torch.int64).flatten().tolist()
    return e


def all_dtypes():
    inf, nan = float("inf"), float("nan")
    tensors = [
        ("f32", torch.tensor([[1.5, -2.25, 3e-38], [1e-45, inf, nan]], dtype=torch.float32)),
        # 0.1 and 1/3 round to float32; 1e300 overflows to inf; 1e-300 and 2^-1074 underflow to 0
        ("f64", torch.tensor([0.1, 1 / 3, -0.0, 1e300, 1e-300, nan, 2.0 ** -1074, -123456789.125],
                             dtype=torch.float64)),
        # 2^-24 is the smallest float16 subnormal, 2^-14 the smallest normal, 65504 the largest
        ("f16", torch.tensor([0.0, -0.0, 1.0, -2.0, 0.5, 65504.0, 2.0 ** -24, 2.0 ** -14, 6.0e-5,
                              0.1, inf, -inf, nan], dtype=torch.float16)),
        ("bf16", torch.tensor([1.0, -2.0, 0.1, 3.0e38, 1e-40, inf, -inf, nan], dtype=torch.bfloat16)),
        ("i64", torch.tensor([[0, -1], [2 ** 40, -(2 ** 63)]], dtype=torch.int64)),
        ("i64_small", torch.tensor([-(2 ** 31), 2 ** 31 - 1, 7], dtype=torch.int64)),
        ("i32", torch.tensor([-(2 ** 31), 2 ** 31 - 1, 0], dtype=torch.int32)),
        ("u8", torch.tensor([0, 1, 128, 255], dtype=torch.uint8)),
        ("bool", torch.tensor([[True, False], [False, True]])),
        ("scalar", torch.tensor(42.0, dtype=torch.float32)),
        ("empty", torch.zeros((0, 3), dtype=torch.float32)),
    ]
    order = sorted((n for n, _ in tensors), reverse=True)  # not the layout order
    write_safetensors(os.path.join(OUT, "all_dtypes.safetensors"), tensors,
                      metadata={"format": "pt", "source": "make_safetensors_fixtures.py"},
                      header_order=order)
    with open(os.path.join(OUT, "all_dtypes.expected.json"), "w") as f:
        lines = ['"%s": %s' % (name, json.dumps(expected(t))) for name, t in tensors]
        f.write("{\n" + ",\n".join(lines) + "\n}\n")


def half_tables():
    """Every float16 and bfloat16 bit pattern, next to PyTorch's float32 value for it."""
    bits = torch.arange(0, 65536, dtype=torch.int32).to(torch.int16)  # wraps to the signed range
    f16 = bits.view(torch.float16)
    bf16 = bits.view(torch.bfloat16)
    write_safetensors(os.path.join(OUT, "half_tables.safetensors"), [
        ("f16", f16), ("f16_as_f32", f16.to(torch.float32)),
        ("bf16", bf16), ("bf16_as_f32", bf16.to(torch.float32)),
    ], metadata={"format": "pt"})


def sharded():
    """A two-shard checkpoint with a Hugging Face style index."""
    directory = os.path.join(OUT, "sharded")
    os.makedirs(directory, exist_ok=True)
    shard1 = [("a.weight", torch.arange(6, dtype=torch.float32).reshape(2, 3)),
              ("a.bias", torch.tensor([0.5, -0.5], dtype=torch.float32))]
    shard2 = [("b.weight", torch.arange(4, dtype=torch.float16).reshape(2, 2) * -1),
              ("position_ids", torch.arange(5, dtype=torch.int64).reshape(1, 5))]
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    total = 0
    for name, tensors in zip(names, [shard1, shard2]):
        total += write_safetensors(os.path.join(directory, name), tensors, metadata={"format": "pt"})
    weight_map = {n: names[0] for n, _ in shard1}
    weight_map.update({n: names[1] for n, _ in shard2})
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    all_dtypes()
    half_tables()
    sharded()
    print("wrote fixtures under", OUT)
