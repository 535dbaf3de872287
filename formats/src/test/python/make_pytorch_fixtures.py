#!/usr/bin/env python3
"""Writes the PyTorch checkpoint fixtures used by the Java tests in dev.bertft.pytorch.

Run from anywhere:  /usr/bin/python3 formats/src/test/python/make_pytorch_fixtures.py
(with the Debian PyTorch, 1.13, whose torch.save writes the zip format with pickle protocol 2).

resources/pytorch/
  zoo.bin                    torch.save of a state dict with every storage type the reader takes
                             (F32, F16, BF16, F64, I64, I32, I8, U8, BOOL), views that share one storage
                             (a transpose, an offset slice, a stride-0 expansion, the same tensor twice
                             as tied weights), a 0-d and an empty tensor, an nn.Parameter, and the
                             _metadata attribute a module's state_dict() carries
  zoo.expected.safetensors   each of those tensors made contiguous by PyTorch, so the Java reader's
                             gathering of strided views is checked against PyTorch's own
  os_system.bin              a torch.save archive whose pickle calls os.system when torch.load reads
                             it; this script checks that it really does (it creates a marker file)
  legacy.bin                 a state dict in the pre-1.6 format (_use_new_zipfile_serialization=False),
                             which the reader recognises and refuses (its storage keys are object ids,
                             so this file alone differs from run to run)
  view_past_storage.bin      a valid archive except that a tensor's view reaches past the end of its
                             storage (the storage record and entry were shrunk together)

The safetensors file is written by hand (the package is not installed): an 8-byte little-endian
header length, a JSON header, then the raw little-endian tensor bytes.
"""
import collections
import io
import json
import os
import struct
import zipfile

import torch

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "..", "resources", "pytorch"))
DTYPE_NAMES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
}
MARKER = "/tmp/bertft-pickle-ran"   # what os_system.bin's command creates when Python loads it


def raw_bytes(t):
    assert struct.pack("=H", 1) == b"\x01\x00", "fixtures must be written on a little-endian machine"
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = raw_bytes(t)
        header[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def zoo():
    g = torch.Generator().manual_seed(20)
    w = torch.randn(3, 4, generator=g)
    sd = collections.OrderedDict()
    sd["w"] = w
    sd["w_t"] = w.t()                       # stride (1, 4)
    sd["w_slice"] = w[1:, 1:3]              # offset 5, stride (4, 1)
    sd["w_tied"] = w                        # the same tensor again, as tied weights are saved
    sd["w_col"] = w[:, 2]                   # offset 2, stride (4,)
    sd["expanded"] = torch.arange(3, dtype=torch.float32).expand(2, 3)   # stride (0, 1)
    sd["half"] = torch.tensor([1.5, -2.0, 6.1e-5, 5.9e-8, 65504.0, float("inf"), -0.0, 0.1], dtype=torch.float16)
    sd["half_view"] = sd["half"][1::3]      # F16 with offset and stride 3
    sd["bf16"] = torch.randn(2, 3, generator=g).to(torch.bfloat16)
    sd["f64"] = torch.randn(2, 2, generator=g, dtype=torch.float64)
    sd["i64"] = torch.tensor([0, -1, 2**40, 511])
    sd["position_ids"] = torch.arange(8).expand(1, -1)
    sd["i32"] = torch.tensor([[7, -8], [2**31 - 1, -2**31]], dtype=torch.int32)
    sd["i8"] = torch.tensor([-128, -1, 0, 127], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
    sd["mask"] = torch.tensor([True, False, True])
    sd["scalar"] = torch.tensor(2.25)
    sd["empty"] = torch.zeros(0, 3)
    sd["param"] = torch.nn.Parameter(torch.randn(2, generator=g))   # pickled via _rebuild_parameter
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    return sd


class RunsCommand:
    """What a hostile checkpoint does: torch.load (pickle) calls os.system(command)."""

    def __reduce__(self):
        return os.system, ("touch " + MARKER,)


def rewrite(src, dst, replace):
    """Copies a torch.save archive, replacing some entries' contents (stored, with correct CRCs).
    Entries get a fixed date, as torch.save's have, so the file is the same on every run."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0)),
                          replace.get(info.filename, zin.read(info.filename)))


def main():
    os.makedirs(OUT, exist_ok=True)
    sd = zoo()
    path = os.path.join(OUT, "zoo.bin")
    torch.save(sd, path)
    loaded = torch.load(path)
    assert list(loaded) == list(sd)
    assert loaded["w_tied"].data_ptr() == loaded["w"].data_ptr()
    write_safetensors(os.path.join(OUT, "zoo.expected.safetensors"), {k: v.detach() for k, v in sd.items()})

    hostile = os.path.join(OUT, "os_system.bin")
    torch.save({"bert.embeddings.word_embeddings.weight": torch.zeros(2), "x": RunsCommand()}, hostile)
    if os.path.exists(MARKER):
        os.remove(MARKER)
    torch.load(hostile)                     # in Python this runs the command
    assert os.path.exists(MARKER), "os_system.bin should run its command when torch.load reads it"
    os.remove(MARKER)

    torch.save({"w": torch.ones(2)}, os.path.join(OUT, "legacy.bin"), _use_new_zipfile_serialization=False)

    # A 6-element storage with views up to element 5; the record and entry say 2 elements instead.
    small = os.path.join(OUT, "view_past_storage.bin")
    buf = io.BytesIO()
    torch.save(collections.OrderedDict([("v", torch.arange(6, dtype=torch.float32)[1:])]), buf)
    buf.seek(0)
    with zipfile.ZipFile(buf) as z:
        pkl = z.read("archive/data.pkl")
    assert pkl.count(b"K\x06t") == 1        # BININT1 6 closing the storage record
    with open(small + ".tmp", "wb") as f:
        f.write(buf.getvalue())
    rewrite(small + ".tmp", small, {"archive/data.pkl": pkl.replace(b"K\x06t", b"K\x02t"),
                                    "archive/data/0": struct.pack("<2f", 0.0, 1.0)})
    os.remove(small + ".tmp")


if __name__ == "__main__":
    main()
