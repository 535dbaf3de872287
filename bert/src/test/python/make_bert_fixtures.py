#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures for the Java tests in dev.bertft.bert.

Run from anywhere:  /usr/bin/python3 bert/src/test/python/make_bert_fixtures.py

`transformers` is not installed here, so BERT's forward pass is written below in plain torch,
following transformers' BertModel / BertForSequenceClassification (eager attention) line by line,
with the same parameter names. Two fixtures come out of it:

1. resources/bert/tiny/ - a loadable model folder (config.json + model.safetensors) for a tiny
   random BERT (2 layers, H=32, 4 heads, I=64, vocab 100, 64 positions, 2 token types, 3 labels),
   and resources/bert/tiny_expected.safetensors - a padded batch (B=3, T=7), the eval-mode
   logits and last hidden state, the training-mode loss with dropout disabled, and the gradient
   of that loss for every parameter ("grad.<name>"), all float32.

2. resources/bert/minilm_expected.safetensors - when ../shared/models/all-MiniLM-L6-v2 exists:
   token ids for a few sentences (BERT-uncased basic tokenization + WordPiece on its vocab.txt),
   padded into one batch, and the float64 last_hidden_state and pooled output; that checkpoint has
   no pooler, so the pooled output uses a pooler given by a formula (formula_pooler) that the
   Java test evaluates too. The model itself is read from ../shared by
   both this script and the Java test, never copied into the repository.

The `safetensors` package is not installed either; the format (8-byte little-endian header
length, JSON header, raw little-endian data) is read and written by hand.
"""
import json
import math
import os
import struct
import unicodedata

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
RES = os.path.normpath(os.path.join(HERE, "..", "resources", "bert"))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", "..", ".."))
MINILM = os.path.normpath(os.path.join(REPO, "..", "shared", "models", "all-MiniLM-L6-v2"))

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.int32: "I32"}
FROM_NAME = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32}


# ---- safetensors, by hand ---------------------------------------------------------------------

def write_safetensors(path, tensors):
    """tensors: dict name -> tensor, written in insertion order."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=FROM_NAME[e["dtype"]])
        out[name] = t.reshape(e["shape"]).clone()
    return out


def pad(rows, types=None):
    """Token id rows (and their segment rows) as one batch padded with [PAD] = 0: input_ids,
    token_type_ids and attention_mask, each [B, T]."""
    t = max(len(r) for r in rows)
    input_ids = torch.zeros(len(rows), t, dtype=torch.int64)
    token_type_ids = torch.zeros(len(rows), t, dtype=torch.int64)
    attention_mask = torch.zeros(len(rows), t, dtype=torch.int64)
    for i, r in enumerate(rows):
        input_ids[i, :len(r)] = torch.tensor(r)
        if types is not None:
            token_type_ids[i, :len(r)] = torch.tensor(types[i])
        attention_mask[i, :len(r)] = 1
    return input_ids, token_type_ids, attention_mask


# ---- BERT in plain torch, as transformers' modeling_bert.py (eager attention) ----------------

def layer_norm(x, p, name, eps):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), p[name + ".weight"], p[name + ".bias"], eps)


def linear(x, p, name):
    return torch.nn.functional.linear(x, p[name + ".weight"], p[name + ".bias"])


def dropout(x, prob, training):
    return torch.nn.functional.dropout(x, prob, training)


def bert_model(p, cfg, input_ids, token_type_ids, attention_mask, training=False, prefix=""):
    """BertModel.forward: returns (last_hidden_state [B,T,H], pooled [B,H])."""
    eps, nh = cfg["layer_norm_eps"], cfg["num_attention_heads"]
    hd_p, at_p = cfg["hidden_dropout_prob"], cfg["attention_probs_dropout_prob"]
    b, t = input_ids.shape
    dtype = p[prefix + "embeddings.word_embeddings.weight"].dtype
    # BertEmbeddings: absolute positions 0..T-1
    position_ids = torch.arange(t).unsqueeze(0)
    e = p[prefix + "embeddings.word_embeddings.weight"][input_ids]
    e = e + p[prefix + "embeddings.token_type_embeddings.weight"][token_type_ids]
    e = e + p[prefix + "embeddings.position_embeddings.weight"][position_ids]
    h = dropout(layer_norm(e, p, prefix + "embeddings.LayerNorm", eps), hd_p, training)
    # get_extended_attention_mask: (1 - mask) * finfo(dtype).min, shape [B,1,1,T]
    ext = (1.0 - attention_mask[:, None, None, :].to(dtype)) * torch.finfo(dtype).min
    hs = h.shape[-1] // nh
    for i in range(cfg["num_hidden_layers"]):
        L = prefix + "encoder.layer.%d." % i

        def heads(x):  # [B,T,H] -> [B,NH,T,HS]
            return x.view(b, t, nh, hs).permute(0, 2, 1, 3)

        q = heads(linear(h, p, L + "attention.self.query"))
        k = heads(linear(h, p, L + "attention.self.key"))
        v = heads(linear(h, p, L + "attention.self.value"))
        if cfg.get("_attn_implementation") == "sdpa":  # what transformers picks on PyTorch 2
            ctx = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=ext, dropout_p=at_p if training else 0.0)
        else:  # "eager", HF's BertSelfAttention written out
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hs) + ext
            ctx = torch.matmul(dropout(torch.softmax(scores, dim=-1), at_p, training), v)
        ctx = ctx.permute(0, 2, 1, 3).contiguous().view(b, t, nh * hs)
        a = layer_norm(dropout(linear(ctx, p, L + "attention.output.dense"), hd_p, training) + h, p,
                       L + "attention.output.LayerNorm", eps)
        inter = torch.nn.functional.gelu(linear(a, p, L + "intermediate.dense"))  # exact erf GELU
        h = layer_norm(dropout(linear(inter, p, L + "output.dense"), hd_p, training) + a, p,
                       L + "output.LayerNorm", eps)
    pooled = None
    if prefix + "pooler.dense.weight" in p:
        pooled = torch.tanh(linear(h[:, 0], p, prefix + "pooler.dense"))
    return h, pooled


def bert_for_sequence_classification(p, cfg, input_ids, token_type_ids, attention_mask, training=False):
    h, pooled = bert_model(p, cfg, input_ids, token_type_ids, attention_mask, training, prefix="bert.")
    cls_p = cfg.get("classifier_dropout") or cfg["hidden_dropout_prob"]
    return h, linear(dropout(pooled, cls_p, training), p, "classifier")


# ---- fixture 1: tiny random model -------------------------------------------------------------

def tiny():
    torch.manual_seed(1234)
    cfg = {
        "architectures": ["BertForSequenceClassification"], "model_type": "bert",
        "vocab_size": 100, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 64, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 64, "type_vocab_size": 2,
        "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
        "position_embedding_type": "absolute", "classifier_dropout": None,
        "id2label": {"0": "neg", "1": "neu", "2": "pos"}, "label2id": {"neg": 0, "neu": 1, "pos": 2},
        "torch_dtype": "float32", "transformers_version": "4.40.0",
    }
    H, I, V, P, TV, C = 32, 64, 100, 64, 2, 3

    # Larger than BERT's 0.02 init so attention is far from uniform and every path matters.
    def w(*shape):
        return torch.randn(*shape) * 0.2

    def ln(name):
        p[name + ".weight"] = 1 + 0.1 * torch.randn(H)
        p[name + ".bias"] = 0.1 * torch.randn(H)

    def lin(name, i, o):
        p[name + ".weight"] = w(o, i)
        p[name + ".bias"] = 0.1 * torch.randn(o)

    p = {}
    p["bert.embeddings.word_embeddings.weight"] = torch.randn(V, H) * 0.5
    p["bert.embeddings.position_embeddings.weight"] = torch.randn(P, H) * 0.5
    p["bert.embeddings.token_type_embeddings.weight"] = torch.randn(TV, H) * 0.5
    ln("bert.embeddings.LayerNorm")
    for i in range(2):
        L = "bert.encoder.layer.%d." % i
        for n in ("query", "key", "value"):
            lin(L + "attention.self." + n, H, H)
        lin(L + "attention.output.dense", H, H)
        ln(L + "attention.output.LayerNorm")
        lin(L + "intermediate.dense", H, I)
        lin(L + "output.dense", I, H)
        ln(L + "output.LayerNorm")
    lin("bert.pooler.dense", H, H)
    lin("classifier", H, C)

    lengths = [7, 5, 3]
    input_ids = torch.randint(1, V, (3, 7))
    token_type_ids = torch.zeros(3, 7, dtype=torch.int64)
    attention_mask = torch.zeros(3, 7, dtype=torch.int64)
    for r, n in enumerate(lengths):
        input_ids[r, n:] = 0          # [PAD]
        attention_mask[r, :n] = 1
        token_type_ids[r, n // 2:n] = 1  # a second segment
    labels = torch.tensor([2, 0, 1])

    os.makedirs(os.path.join(RES, "tiny"), exist_ok=True)
    with open(os.path.join(RES, "tiny", "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(RES, "tiny", "model.safetensors"), p)

    with torch.no_grad():
        hidden, logits = bert_for_sequence_classification(p, cfg, input_ids, token_type_ids, attention_mask)
    # Training mode with dropout disabled, as the Java test runs it (--set *_dropout_prob=0).
    train_cfg = dict(cfg, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    params = {n: t.clone().requires_grad_(True) for n, t in p.items()}
    _, train_logits = bert_for_sequence_classification(params, train_cfg, input_ids, token_type_ids, attention_mask,
                                                       training=True)
    loss = torch.nn.functional.cross_entropy(train_logits, labels)
    loss.backward()

    out = {"input_ids": input_ids, "token_type_ids": token_type_ids, "attention_mask": attention_mask,
           "labels": labels, "logits": logits, "last_hidden_state": hidden, "loss": loss.detach().reshape(1)}
    for n, t in params.items():
        out["grad." + n] = t.grad
    write_safetensors(os.path.join(RES, "tiny_expected.safetensors"), out)
    print("tiny: logits", logits.tolist(), "loss", loss.item())
    tiny_predict(p, cfg)


TINY_WORDS = ("the a an movie film was is it i and but not very so this that of to great good bad awful boring "
              "loved hated acting plot story fun funny sad long short best worst ever one two watch again never "
              "really quite actors music scenes end ##s ##ing ##ed ##ly . , ! ? ' -").split()


def tiny_predict(p, cfg):
    """Texts through the tiny model as `bert-ft predict` must handle them: a vocab.txt of 100
    tokens for the tiny model, BERT-uncased tokenization, one padded batch, eval logits, softmax."""
    vocab_list = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + TINY_WORDS
    vocab_list += ["[unused%d]" % i for i in range(cfg["vocab_size"] - len(vocab_list))]
    assert len(vocab_list) == cfg["vocab_size"] and len(set(vocab_list)) == len(vocab_list)
    with open(os.path.join(RES, "tiny", "vocab.txt"), "w") as f:
        f.write("".join(t + "\n" for t in vocab_list))
    with open(os.path.join(RES, "tiny", "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "model_max_length": 64, "tokenizer_class": "BertTokenizer"}, f, indent=2)
    vocab = {t: i for i, t in enumerate(vocab_list)}
    texts = ["The movie was great!", "Awful, boring film. I hated the acting and the plot.", "fun",
             "Zebras never watch films again?", ""]
    rows = []
    for s in texts:
        pieces = ["[CLS]"] + [x for wd in basic_tokens(s) for x in wordpiece(wd, vocab)] + ["[SEP]"]
        rows.append([vocab[x] for x in pieces])
    input_ids, token_type_ids, attention_mask = pad(rows)
    with torch.no_grad():
        _, logits = bert_for_sequence_classification(p, cfg, input_ids, token_type_ids, attention_mask)
    probs = torch.softmax(logits.double(), dim=-1)
    with open(os.path.join(RES, "tiny_predict.json"), "w") as f:
        json.dump({"texts": texts, "input_ids": rows, "logits": logits.tolist(), "probs": probs.tolist(),
                   "labels": [cfg["id2label"][str(int(i))] for i in logits.argmax(-1)]}, f, indent=1)


# ---- fixture 2: all-MiniLM-L6-v2 in float64 ---------------------------------------------------

def load_vocab(path):
    with open(path, encoding="utf-8") as f:
        return {line.rstrip("\n"): i for i, line in enumerate(f)}


def basic_tokens(text):
    """BERT-uncased basic tokenization: lower case, strip accents, split on spaces and punctuation."""
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    out, word = [], ""
    for c in text:
        if c.isspace():
            if word:
                out.append(word)
            word = ""
        elif unicodedata.category(c).startswith("P") or c in "$+<=>^`|~":
            if word:
                out.append(word)
            out.append(c)
            word = ""
        else:
            word += c
    if word:
        out.append(word)
    return out


def wordpiece(word, vocab):
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def formula_pooler(h):
    """A pooler for a checkpoint that has none, from a formula the Java test evaluates too:
    W[o, i] = 0.05 sin(0.37 o + 0.73 i + 0.1), b[o] = 0.05 cos(0.5 o), rounded to float32."""
    o = torch.arange(h, dtype=torch.float64)
    w = 0.05 * torch.sin(0.37 * o[:, None] + 0.73 * o[None, :] + 0.1)
    b = 0.05 * torch.cos(0.5 * o)
    return w.float(), b.float()


def minilm():
    if not os.path.isdir(MINILM):
        print("skipping all-MiniLM-L6-v2: %s not found" % MINILM)
        return
    with open(os.path.join(MINILM, "config.json")) as f:
        cfg = json.load(f)
    p = {n: t.double() for n, t in read_safetensors(os.path.join(MINILM, "model.safetensors")).items()
         if t.dtype.is_floating_point}
    vocab = load_vocab(os.path.join(MINILM, "vocab.txt"))
    sentences = [
        "A quiet film that stays with you.",
        "Terrible pacing, wooden acting; I walked out!",
        "Hello world",
        "The café served crème brûlée.",
    ]
    rows = []
    for s in sentences:
        pieces = ["[CLS]"] + [x for wd in basic_tokens(s) for x in wordpiece(wd, vocab)] + ["[SEP]"]
        rows.append([vocab[x] for x in pieces])
    input_ids, token_type_ids, attention_mask = pad(rows)

    pooler_w, pooler_b = formula_pooler(cfg["hidden_size"])
    p["pooler.dense.weight"], p["pooler.dense.bias"] = pooler_w.double(), pooler_b.double()
    with torch.no_grad():
        hidden, pooled = bert_model(p, cfg, input_ids, token_type_ids, attention_mask)
    write_safetensors(os.path.join(RES, "minilm_expected.safetensors"), {
        "input_ids": input_ids, "token_type_ids": token_type_ids, "attention_mask": attention_mask,
        "last_hidden_state": hidden, "pooled": pooled})
    print("minilm: ids", rows)


def tiny_layer_norm_eps():
    """resources/bert/tiny_eps_expected.safetensors: the tiny model with layer_norm_eps = 0.25 (set
    in config.json by the Java test) on tiny()'s batch: eval logits and hidden states, and the training
    loss and gradients with dropout off. An epsilon this large moves every LayerNorm's output, so a
    LayerNorm built or differentiated with any other epsilon than the config's fails the test."""
    p = read_safetensors(os.path.join(RES, "tiny", "model.safetensors"))
    with open(os.path.join(RES, "tiny", "config.json")) as f:
        cfg = dict(json.load(f), layer_norm_eps=0.25)
    batch = read_safetensors(os.path.join(RES, "tiny_expected.safetensors"))
    ids, types, mask, labels = (batch[k] for k in ("input_ids", "token_type_ids", "attention_mask", "labels"))
    with torch.no_grad():
        hidden, logits = bert_for_sequence_classification(p, cfg, ids, types, mask)
    train_cfg = dict(cfg, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    params = {n: t.clone().requires_grad_(True) for n, t in p.items()}
    _, train_logits = bert_for_sequence_classification(params, train_cfg, ids, types, mask, training=True)
    loss = torch.nn.functional.cross_entropy(train_logits, labels)
    loss.backward()
    out = {"logits": logits, "last_hidden_state": hidden, "loss": loss.detach().reshape(1)}
    for n, t in params.items():
        out["grad." + n] = t.grad
    write_safetensors(os.path.join(RES, "tiny_eps_expected.safetensors"), out)
    print("tiny, layer_norm_eps 0.25: logits", logits.tolist(), "loss", loss.item())


if __name__ == "__main__":
    tiny()
    tiny_layer_norm_eps()
    minilm()
