#!/usr/bin/env python3
"""Sanity check for the training recipe (design §9): a synthetic copy task.

Rows of 64 tokens whose second half repeats the first; half of the second half is
masked.  The model (same `net.Denoiser` and optimizer recipe as train.py) must learn to
copy from context.  Prints masked-token accuracy every 25 steps.

    python model/sanity_copy.py [--steps 400] [--d 128] [--layers 2] [--threads 1]
"""
import argparse
import time

import torch
import torch.nn.functional as F

from net import Config, Denoiser, nparams

ap = argparse.ArgumentParser()
ap.add_argument("--steps", type=int, default=400)
ap.add_argument("--d", type=int, default=128)
ap.add_argument("--layers", type=int, default=2)
ap.add_argument("--batch", type=int, default=64)
ap.add_argument("--lr", type=float, default=1e-3)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--slot-masks", action="store_true", help="use <|m0|>.. style distinct masks")
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)

V, S, MASK = 512, 64, 1
c = Config(vocab=V, d=args.d, layers=args.layers, heads=4, ffn=4 * args.d, seq=S)
m = Denoiser(c)
opt = torch.optim.AdamW(m.parameters(), lr=args.lr, weight_decay=0.01, betas=(0.9, 0.98))
print(f"params {nparams(m)/1e6:.2f}M")
t0 = time.time()
for step in range(1, args.steps + 1):
    half = torch.randint(40, V, (args.batch, S // 2))
    x = torch.cat([half, half], 1)
    y = x.clone()
    masked = torch.zeros_like(x, dtype=torch.bool)
    masked[:, S // 2:] = torch.rand(args.batch, S // 2) < 0.5
    inp = x.masked_fill(masked, MASK)
    h = m.hidden(inp, torch.ones_like(inp))
    flat = masked.reshape(-1).nonzero().squeeze(1)
    logits = m.logits_at(h, flat)
    loss = F.cross_entropy(logits, y.reshape(-1)[flat])
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step()
    if step % 25 == 0:
        acc = (logits.argmax(-1) == y.reshape(-1)[flat]).float().mean().item()
        print(f"step {step:4d} loss {loss.item():.3f} acc {acc:.3f} ({time.time()-t0:.0f}s)", flush=True)
