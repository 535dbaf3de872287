#!/usr/bin/env python3
"""Writes resources/bert/tiny_pytorch_model.bin: the tiny BERT of resources/bert/tiny/ as PyTorch saves it.

Run from anywhere:  /usr/bin/python3 bert/src/test/python/make_pytorch_model_bin.py
(with the Debian PyTorch, 1.13: torch.save's zip format, pickle protocol 2).

The weights are tiny/model.safetensors' own (read by hand: the safetensors package is not installed),
saved the way older Hugging Face checkpoints hold them, so the Java loader meets what it will meet there:
LayerNorm parameters under their legacy names gamma/beta, the int64 position_ids buffer, and a
pre-training head whose decoder weight is tied to (shares the storage of) the word embeddings.
The Java tests check that every tensor read back equals the safetensors value bit for bit and that a
folder holding only this file predicts exactly what the safetensors folder predicts.
"""
import collections
import json
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
RES = os.path.normpath(os.path.join(HERE, "..", "resources", "bert"))
DTYPES = {"F32": torch.float32, "I64": torch.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = collections.OrderedDict()
    for name, e in sorted(((k, v) for k, v in header.items() if k != "__metadata__"), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=DTYPES[e["dtype"]]).reshape(e["shape"])
        out[name] = t.clone()
    return out


def legacy_name(name):
    if name.endswith("LayerNorm.weight"):
        return name[: -len("weight")] + "gamma"
    if name.endswith("LayerNorm.bias"):
        return name[: -len("bias")] + "beta"
    return name


def main():
    weights = read_safetensors(os.path.join(RES, "tiny", "model.safetensors"))
    sd = collections.OrderedDict((legacy_name(k), v) for k, v in weights.items())
    sd["bert.embeddings.position_ids"] = torch.arange(64).expand(1, -1)
    sd["cls.predictions.decoder.weight"] = sd["bert.embeddings.word_embeddings.weight"]
    sd._metadata = collections.OrderedDict([("", {"version": 1})])
    path = os.path.join(RES, "tiny_pytorch_model.bin")
    torch.save(sd, path)

    back = torch.load(path)
    assert back["cls.predictions.decoder.weight"].data_ptr() == back["bert.embeddings.word_embeddings.weight"].data_ptr()
    for k, v in weights.items():
        assert torch.equal(back[legacy_name(k)], v), k


if __name__ == "__main__":
    main()
