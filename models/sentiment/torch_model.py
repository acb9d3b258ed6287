"""Torch twin of the ONNX graph, for fine-tuning only (``train`` extra).

Parameter names follow Hugging Face ``BertModel`` so weights move between the
safetensors file, this module and ``onnx_build`` without renaming.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class _Attn(nn.Module):
    def __init__(self, h: int):
        super().__init__()
        self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)


class _AttnOut(nn.Module):
    def __init__(self, h: int, eps: float):
        super().__init__()
        self.dense = nn.Linear(h, h)
        self.LayerNorm = nn.LayerNorm(h, eps=eps)


class _Attention(nn.Module):
    def __init__(self, h: int, eps: float):
        super().__init__()
        self.self = _Attn(h)
        self.output = _AttnOut(h, eps)


class _Dense(nn.Module):
    def __init__(self, i: int, o: int, eps: float | None = None):
        super().__init__()
        self.dense = nn.Linear(i, o)
        if eps is not None:
            self.LayerNorm = nn.LayerNorm(o, eps=eps)


class _Layer(nn.Module):
    def __init__(self, h: int, inter: int, heads: int, eps: float, dropout: float):
        super().__init__()
        self.attention = _Attention(h, eps)
        self.intermediate = _Dense(h, inter)
        self.output = _Dense(inter, h, eps)
        self.heads = heads
        self.dropout = dropout

    def forward(self, x, bias):
        b, s, h = x.shape
        a = self.attention.self
        q, k, v = (lin(x).view(b, s, self.heads, h // self.heads).transpose(1, 2) for lin in (a.query, a.key, a.value))
        c = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=self.dropout if self.training else 0.0)
        c = c.transpose(1, 2).reshape(b, s, h)
        c = F.dropout(self.attention.output.dense(c), self.dropout, self.training)
        x = self.attention.output.LayerNorm(c + x)
        f = F.gelu(self.intermediate.dense(x))
        f = F.dropout(self.output.dense(f), self.dropout, self.training)
        return self.output.LayerNorm(f + x)


class _Embeddings(nn.Module):
    def __init__(self, vocab: int, h: int, max_pos: int, eps: float):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, h)
        self.position_embeddings = nn.Embedding(max_pos, h)
        self.token_type_embeddings = nn.Embedding(2, h)
        self.LayerNorm = nn.LayerNorm(h, eps=eps)


class _Encoder(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.layer = nn.ModuleList(layers)


class SentimentNet(nn.Module):
    """BERT encoder -> masked mean pool -> L2 norm -> Linear(h, 3)."""

    def __init__(self, vocab=30522, hidden=384, layers=6, heads=12, inter=1536, max_pos=512,
                 eps=1e-12, dropout=0.1, n_labels=3):
        super().__init__()
        self.embeddings = _Embeddings(vocab, hidden, max_pos, eps)
        self.encoder = _Encoder([_Layer(hidden, inter, heads, eps, dropout) for _ in range(layers)])
        self.head = nn.Linear(hidden, n_labels)
        self.dropout = dropout

    @classmethod
    def from_weights(cls, weights: dict[str, np.ndarray], head_w, head_b, **kw) -> "SentimentNet":
        n_layers = 1 + max(int(k.split(".")[2]) for k in weights if k.startswith("encoder.layer."))
        we = weights["embeddings.word_embeddings.weight"]
        m = cls(vocab=we.shape[0], hidden=we.shape[1], layers=n_layers, **kw)
        sd = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in weights.items()}
        sd["head.weight"] = torch.from_numpy(np.ascontiguousarray(np.asarray(head_w).T, dtype=np.float32))
        sd["head.bias"] = torch.from_numpy(np.asarray(head_b, dtype=np.float32))
        missing, unexpected = m.load_state_dict(sd, strict=False)
        if missing or unexpected:
            raise ValueError(f"weights mismatch: missing={missing} unexpected={unexpected}")
        return m

    def to_weights(self):
        sd = {k: v.detach().float().cpu().numpy() for k, v in self.state_dict().items()}
        hw = sd.pop("head.weight").T.copy()
        hb = sd.pop("head.bias")
        return sd, hw, hb

    def pooled(self, input_ids, attention_mask):
        e = self.embeddings
        s = input_ids.shape[1]
        pos = torch.arange(s, device=input_ids.device)
        x = e.word_embeddings(input_ids) + e.position_embeddings(pos)[None] + e.token_type_embeddings.weight[0]
        x = F.dropout(e.LayerNorm(x), self.dropout, self.training)
        keep = attention_mask[:, None, None, :].bool()
        bias = torch.zeros(keep.shape, dtype=x.dtype, device=x.device).masked_fill(~keep, -1e4)
        for layer in self.encoder.layer:
            x = layer(x, bias.to(x.dtype))
        m = attention_mask[..., None].to(x.dtype)
        mean = (x * m).sum(1) / m.sum(1).clamp_min(1e-9)
        return F.normalize(mean.float(), dim=-1)

    def logits(self, input_ids, attention_mask):
        return self.head(self.pooled(input_ids, attention_mask))

    def forward(self, input_ids, attention_mask):
        return torch.softmax(self.logits(input_ids, attention_mask).float(), dim=-1)


def save_weights_npz(path: Path, weights, hw, hb, info: dict) -> None:
    np.savez(path, **{f"w:{k}": v for k, v in weights.items()}, head_w=hw, head_b=hb,
             info=np.array(json.dumps(info)))


def load_weights_npz(path: Path):
    """Load weights saved by :func:`save_weights_npz`.

    Word embeddings may be absent (they are frozen during fine-tuning, so a
    run on another machine ships only what changed): they are then taken from
    the base encoder.
    """
    z = np.load(path, allow_pickle=False)
    weights = {k[2:]: z[k] for k in z.files if k.startswith("w:")}
    if "embeddings.word_embeddings.weight" not in weights:
        from .train import load_encoder_weights

        weights["embeddings.word_embeddings.weight"] = load_encoder_weights()["embeddings.word_embeddings.weight"]
    return weights, z["head_w"], z["head_b"], json.loads(str(z["info"]))
