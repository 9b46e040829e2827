"""The denoiser: a small bidirectional transformer (pre-LN, learned positions, tied output).

Attention is written by hand (MatMul + Softmax) so that the ONNX export uses only plain ops
that ONNX Runtime and tract both run.  The output projection is computed only at the
requested positions (design §4: `query_positions`).
"""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab: int = 8192
    d: int = 256
    layers: int = 4
    heads: int = 4
    ffn: int = 1024
    seq: int = 256
    dropout: float = 0.0
    pos: str = "learned"  # "learned" absolute embeddings or "rope" (rotary, relative)
    shift: bool = False   # token shift: x_i += Wl e_{i-1} + Wr e_{i+1} (first-order access to neighbours)
    alibi: bool = False   # per-head distance penalty -slope*|i-j| (last head global): a locality prior
    pointer: bool = False  # copy head: output = (1-g) softmax(vocab) + g attention-over-row copied to token ids
    pdim: int = 64         # pointer query/key width
    induction: bool = False  # pointer bonus for keys whose left neighbour equals the query's (learned per query)
    induction2: bool = False  # a second bonus when the two left neighbours both match
    nspecial: int = 37     # ids below this are special tokens (never an induction match)

    def dict(self):
        return asdict(self)


def rotate(x, cos, sin):
    """Rotary embedding, half-split form: plain Slice/Mul/Add/Concat ops."""
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class Block(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.h = c.heads
        self.ln1 = nn.LayerNorm(c.d)
        self.qkv = nn.Linear(c.d, 3 * c.d)
        self.proj = nn.Linear(c.d, c.d)
        self.ln2 = nn.LayerNorm(c.d)
        self.fc1 = nn.Linear(c.d, c.ffn)
        self.fc2 = nn.Linear(c.ffn, c.d)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x, bias, rope=None):
        b, s, d = x.shape
        dh = d // self.h
        qkv = self.qkv(self.ln1(x))
        q, k, v = qkv[..., :d], qkv[..., d:2 * d], qkv[..., 2 * d:]  # Slice, not Split (plain ops)
        q = q.reshape(b, s, self.h, dh).transpose(1, 2)
        k = k.reshape(b, s, self.h, dh).transpose(1, 2)
        if rope is not None:
            q, k = rotate(q, *rope), rotate(k, *rope)
        v = v.reshape(b, s, self.h, dh).transpose(1, 2)
        att = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(dh)) + bias
        att = torch.softmax(att, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, s, d)
        x = x + self.drop(self.proj(y))
        x = x + self.drop(self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh")))
        return x


class Denoiser(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.tok = nn.Embedding(c.vocab, c.d)
        if c.pos == "rope":
            dh = c.d // c.heads
            inv = 1.0 / (10000 ** (torch.arange(0, dh // 2, dtype=torch.float32) / (dh // 2)))
            ang = torch.arange(c.seq, dtype=torch.float32)[:, None] * inv[None]
            self.register_buffer("cos", ang.cos(), persistent=False)
            self.register_buffer("sin", ang.sin(), persistent=False)
        else:
            self.pos = nn.Embedding(c.seq, c.d)
        if c.shift:
            self.shift_l = nn.Linear(c.d, c.d, bias=False)
            self.shift_r = nn.Linear(c.d, c.d, bias=False)
        if c.alibi:
            sl = [2.0 ** (-1 - 2 * i) for i in range(c.heads - 1)] + [0.0]
            self.register_buffer("slopes", torch.tensor(sl).reshape(1, c.heads, 1, 1), persistent=False)
        self.blocks = nn.ModuleList([Block(c) for _ in range(c.layers)])
        self.lnf = nn.LayerNorm(c.d)
        if c.pointer:
            self.ptr_q = nn.Linear(c.d, c.pdim)
            self.ptr_k = nn.Linear(c.d, c.pdim)
            self.ptr_g = nn.Linear(c.d, 1)
        if c.induction:
            self.ptr_w = nn.Linear(c.d, 1)
        if c.induction2:
            self.ptr_w2 = nn.Linear(c.d, 1)
        self.apply(self._init)
        for n, p in self.named_parameters():
            if n.endswith("proj.weight") or n.endswith("fc2.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * c.layers))
            if n.startswith("shift_"):
                nn.init.zeros_(p)  # starts as the plain model; can be added to trained weights
        if c.pointer:
            # gate starts mostly closed (g ~ 0.18), so a pointer added to trained weights
            # first costs little and then opens where copying pays
            nn.init.constant_(self.ptr_g.bias, -1.5)
        if c.induction:
            # an induction head by construction: a query whose left neighbour is token X
            # prefers keys that follow an X (copy the continuation of a name seen in the
            # row); the weight is per query, so the model learns where this applies
            nn.init.zeros_(self.ptr_w.weight)
            nn.init.constant_(self.ptr_w.bias, 2.0)
        if c.induction2:
            # `exclude _` -> `path`: one left token (`_`) is ambiguous in snake_case names
            nn.init.zeros_(self.ptr_w2.weight)
            nn.init.constant_(self.ptr_w2.bias, 2.0)

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def hidden(self, input_ids, attention_mask):
        s = input_ids.shape[1]
        if self.c.pos == "rope":
            x = self.tok(input_ids)
            rope = (self.cos[:s].to(x.dtype), self.sin[:s].to(x.dtype))
        else:
            pos = torch.arange(s, device=input_ids.device)
            x = self.tok(input_ids) + self.pos(pos)[None]
            rope = None
        if self.c.shift:
            e = self.tok(input_ids)
            z = e[:, :1] * 0.0
            x = x + self.shift_l(torch.cat([z, e[:, :-1]], 1)) + self.shift_r(torch.cat([e[:, 1:], z], 1))
        # key padding bias [b, 1, 1, s]: 0 where attended, -1e9 at padding
        bias = (1.0 - attention_mask.to(x.dtype))[:, None, None, :] * -1e9
        if self.c.alibi:
            p = torch.arange(s, device=input_ids.device).to(x.dtype)
            dist = torch.abs(p[None, :] - p[:, None])
            bias = bias - self.slopes.to(x.dtype) * dist[None, None]
        for blk in self.blocks:
            x = blk(x, bias, rope)
        return self.lnf(x)

    def induction_bonus(self, hq, rows, qpos):
        """Copy-score bonus [..., s] for each query (hq [..., d], its row's ids rows [..., s],
        its position qpos [...]): ptr_w where the key's left neighbour equals the query's,
        plus ptr_w2 where the two left neighbours both match. Special tokens never match,
        nor does the query's own position. Shared by the training and export paths."""
        s = rows.shape[-1]
        keys = torch.arange(s, device=rows.device)
        dt = hq.dtype
        bonus, match = 0.0, None
        for back, lin in ((1, self.ptr_w), (2, getattr(self, "ptr_w2", None))):
            if lin is None:
                break
            left = torch.gather(rows, -1, (qpos - back).clamp_min(0).unsqueeze(-1))  # [..., 1]
            prev = torch.cat([rows[..., :back] * 0 - 1, rows[..., :-back]], -1)  # key's back-th left token
            ok = (left > self.c.nspecial - 1).to(dt) * (qpos > back - 1).to(dt).unsqueeze(-1)
            m = (prev == left).to(dt) * ok
            if match is None:
                m = m * (1.0 - (keys == qpos.unsqueeze(-1)).to(dt))  # not itself
            match = m if match is None else match * m
            bonus = bonus + lin(hq) * match
        return bonus

    def logits_at(self, h, flat_idx, input_ids=None, attention_mask=None):
        """Training path: h [b, s, d], flat_idx [n] into b*s -> logits [n, vocab].

        With the pointer head these are log-probabilities (log of the mixture), which
        softmax/cross-entropy treat exactly like logits."""
        b, s, d = h.shape
        hq = h.reshape(-1, d)[flat_idx]
        vocab_logits = hq @ self.tok.weight.t()
        if not self.c.pointer:
            return vocab_logits
        row = flat_idx // s
        # scores for every (position, key) pair of each row: [b, s, s] is small next to [n, vocab]
        q = self.ptr_q(h)
        k = self.ptr_k(h)
        sc = torch.matmul(q, k.transpose(1, 2)) * (1.0 / math.sqrt(self.c.pdim))
        sc = sc + (1.0 - attention_mask.to(sc.dtype))[:, None, :] * -1e9
        sc = sc.reshape(b * s, s)[flat_idx].float()  # [n, s]
        if self.c.induction:
            sc = sc + self.induction_bonus(hq.float(), input_ids[row], flat_idx % s)
        att = torch.softmax(sc, dim=-1)  # [n, s]
        copy = torch.zeros(att.shape[0], self.c.vocab, dtype=att.dtype, device=att.device)
        copy.scatter_add_(1, input_ids[row], att)
        g = torch.sigmoid(self.ptr_g(hq).float())
        p = (1.0 - g) * torch.softmax(vocab_logits.float(), dim=-1) + g * copy
        return torch.log(p + 1e-9)

    def forward(self, input_ids, attention_mask, query_positions):
        h = self.hidden(input_ids, attention_mask)
        idx = query_positions.unsqueeze(-1).expand(-1, -1, h.shape[-1])
        hq = torch.gather(h, 1, idx)
        # W @ hq^T then transpose: keeps a single copy of the tied embedding in the ONNX file
        logits = torch.matmul(self.tok.weight, hq.transpose(1, 2)).transpose(1, 2)
        if not self.c.pointer:
            return logits
        # copy distribution: attention of each query over the row, summed per token id.
        # One-hot by Equal + Cast + MatMul (no ScatterElements, which tract may not run).
        q = self.ptr_q(hq)
        k = self.ptr_k(h)
        sc = torch.matmul(q, k.transpose(1, 2)) * (1.0 / math.sqrt(self.c.pdim))
        sc = sc + (1.0 - attention_mask.to(sc.dtype))[:, None, :] * -1e9
        if self.c.induction:
            rows = input_ids.unsqueeze(1).expand(-1, query_positions.shape[1], -1)  # [b, k, s]
            sc = sc + self.induction_bonus(hq, rows, query_positions)
        att = torch.softmax(sc, dim=-1)  # [b, k, s]
        vocab_ids = torch.arange(self.c.vocab, device=input_ids.device)
        onehot = (input_ids.unsqueeze(-1) == vocab_ids).to(att.dtype)  # [b, s, vocab]
        copy = torch.matmul(att, onehot)
        g = torch.sigmoid(self.ptr_g(hq))
        p = (1.0 - g) * torch.softmax(logits, dim=-1) + g * copy
        return torch.log(p + 1e-9)


def nparams(m):
    return sum(p.numel() for p in m.parameters())
