#!/usr/bin/env python3
"""Train the masked-diffusion denoiser on hole-slot rows (docs/canvas.md) plus MDLM rows.

    python model/train.py --minutes 90 --log model/ckpt/train.log            # CPU, default config
    python model/train.py --resume --minutes 60                               # continue from model/ckpt/last.pt
    python model/train.py --device cuda --d 512 --layers 8 --heads 8 --batch 128 --threads 16 --minutes 9

Needs model/data/{train,val}.idx.pkl (python model/train.py --build-index) and
model/default/tokenizer.json.  Checkpoints go to model/ckpt/ (last.pt with optimizer state,
never committed) and weights.fp16.pt there (weights only); export.py turns it into model/default,
from which --init can start again (weights.py).
"""
import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from data import EOH, IDENT_RE, KEYWORDS, M0, MASK, PAD, SEP, Corpus, RowBuilder, fill_target  # noqa: E402
from net import Config, Denoiser, nparams  # noqa: E402
from weights import load_weights  # noqa: E402

KIND_W = {"ret": 0.17, "param": 0.17, "kwarg": 0.15, "local": 0.14, "let": 0.06, "rtype": 0.06, "ident": 0.25}
SLOT_N = [4, 6, 8, 8, 8, 8, 12, 16]


class Sampler:
    def __init__(self, corpus, tok, seq, seed):
        self.c = corpus
        self.rb = RowBuilder(tok, seq)
        self.seq = seq
        self.rng = random.Random(seed)
        self.kinds = [k for k in KIND_W if self.c.by_kind.get(k)]
        self.kw = [KIND_W[k] for k in self.kinds]
        self.enc = self.rb.enc
        # Weight of the eoh padding after a fill's first eoh. Decoding stops at the first eoh,
        # so at full weight the padding mostly teaches "slots are eoh"; at 0 its positions are
        # untrained, and the most-confident parallel rule (design §5) commits their junk first.
        self.eoh_pad_weight = 1.0
        self.prefix_reveal = 0.0

    def hole_row(self, kind=None, multi=None, reveal=True):
        rng = self.rng
        for _ in range(50):
            k = kind or rng.choices(self.kinds, self.kw)[0]
            fi, si = rng.choice(self.c.by_kind[k])
            f = self.c.files[fi]
            b = f["b"]
            _, s, e, _ = self.c.spans[fi][si]
            fill = self.enc(b[s:e])
            if not fill or len(fill) > 16:
                continue
            n = rng.choice([x for x in SLOT_N if x >= len(fill)])
            holes = [(s, e)]
            fills = [fill]
            if k == "ident" and multi is None and rng.random() < 0.7:
                # dense identifier rows: many identifier slots in one window (copy/lookup signal)
                n = rng.choice([4, 6, 8]) if len(fill) <= 4 else n
                occ = [m for m in IDENT_RE.finditer(b, max(0, s - 500), min(len(b), e + 300))
                       if m.group() not in KEYWORDS and len(m.group()) > 1 and m.start() != s]
                rng.shuffle(occ)
                want = rng.randint(4, 14)
                for m in occ:
                    if len(holes) >= want:
                        break
                    s2, e2 = m.start(), m.end()
                    if any(s2 < he and hs < e2 for hs, he in holes):
                        continue
                    f2 = self.enc(b[s2:e2])
                    if f2 and len(f2) <= n:
                        holes.append((s2, e2))
                        fills.append(f2)
                order = sorted(range(len(holes)), key=lambda i: holes[i])
                holes = [holes[i] for i in order]
                fills = [fills[i] for i in order]
                primary = order.index(0)
            elif multi if multi is not None else rng.random() < 0.6:
                near = sorted((x for x in self.c.spans[fi] if x[0] == k and abs(x[1] - s) < 1200),
                              key=lambda x: abs(x[1] - s))
                for (k2, s2, e2, _) in near:
                    if len(holes) >= 6:
                        break
                    if False:
                        continue
                    if any(s2 < he and hs < e2 for hs, he in holes):
                        continue
                    f2 = self.enc(b[s2:e2])
                    if f2 and len(f2) <= n:
                        holes.append((s2, e2))
                        fills.append(f2)
                order = sorted(range(len(holes)), key=lambda i: holes[i])
                holes = [holes[i] for i in order]
                fills = [fills[i] for i in order]
                primary = order.index(0)
            else:
                primary = 0
            ids, slots = self.rb.build(b, holes, primary, n, self.c.defs.get(f["pkg"], {}), f["path"])
            ids = list(ids)
            tgt = [-100] * len(ids)
            wt = [1.0] * len(ids)
            for hidx, pos in slots:
                t = fill_target(fills[hidx], n)
                L = len(fills[hidx])
                revealed = [False] * n
                r = rng.random() if reveal else 1.0
                if r < self.prefix_reveal:
                    # What left-to-right decoding sees: a committed prefix j, position j next.
                    # Only position j is a target, weighted L + 1: left-to-right decoding visits
                    # every j of a fill once, one random j per row visits it 1/(L + 1) of the time,
                    # and unweighted that makes short fills (hence eoh) (L + 1)-fold too likely.
                    j = rng.randint(0, L)
                    for i in range(n):
                        if pos + i < len(ids):
                            if i < j:
                                ids[pos + i] = t[i]
                            elif i == j:
                                tgt[pos + i] = t[i]
                                wt[pos + i] = float(L + 1)
                    continue
                elif r < 0.5 + self.prefix_reveal / 2:
                    u = rng.random()
                    for i in range(L):
                        revealed[i] = rng.random() < u
                    if all(revealed[:L]) and rng.random() < u:
                        for i in range(L, n):
                            revealed[i] = True
                for i in range(n):
                    if pos + i >= len(ids):
                        break
                    if revealed[i]:
                        ids[pos + i] = t[i]
                    elif i <= L:
                        tgt[pos + i] = t[i]
                    elif self.eoh_pad_weight > 0:
                        tgt[pos + i] = t[i]
                        wt[pos + i] = self.eoh_pad_weight
            return ids, tgt, wt
        raise RuntimeError("no hole found")

    def mdlm_row(self):
        rng = self.rng
        f = rng.choice(self.c.files)
        b = f["b"]
        o = rng.randrange(0, max(1, len(b) - 200))
        nl = b.find(b"\n", o)
        o = nl + 1 if 0 <= nl < len(b) - 100 else 0
        ids = self.enc(b[o:o + self.seq * 6])[: self.seq]
        t = rng.uniform(0.02, 1.0)
        tgt = [-100] * len(ids)
        for i in range(len(ids)):
            if rng.random() < t:
                tgt[i] = ids[i]
                ids[i] = MASK
        if all(x == -100 for x in tgt) and ids:
            tgt[0] = ids[0] if ids[0] != MASK else tgt[0]
            ids[0] = MASK
        return ids, tgt, [1.0] * len(ids)

    def batch(self, n_hole, n_mdlm):
        rows = [self.hole_row() for _ in range(n_hole)] + [self.mdlm_row() for _ in range(n_mdlm)]
        return collate(rows, n_hole)


class Batches(torch.utils.data.IterableDataset):
    """Endless training batches, built in DataLoader worker processes (the row builder is
    Python, ~2 ms a row: one process cannot feed a GPU). Each worker has its own seed.
    Batches travel as numpy arrays, pickled through the worker's pipe rather than torch's
    shared memory, which a container's small /dev/shm cannot hold for many workers."""

    def __init__(self, samp, n_hole, n_mdlm, seed):
        self.samp, self.n_hole, self.n_mdlm, self.seed = samp, n_hole, n_mdlm, seed

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        if info is not None:
            torch.set_num_threads(1)
            self.samp.rng = random.Random(self.seed * 1009 + info.id + 1)
        while True:
            yield tuple(x.numpy() for x in self.samp.batch(self.n_hole, self.n_mdlm))


def collate(rows, n_hole):
    L = max(len(r[0]) for r in rows)
    B = len(rows)
    ids = torch.full((B, L), PAD, dtype=torch.long)
    am = torch.zeros((B, L), dtype=torch.long)
    tg = torch.full((B, L), -100, dtype=torch.long)
    wt = torch.ones((B, L))
    for i, (x, t, w) in enumerate(rows):
        ids[i, : len(x)] = torch.tensor(x)
        am[i, : len(x)] = 1
        tg[i, : len(t)] = torch.tensor(t)
        wt[i, : len(w)] = torch.tensor(w)
    is_hole = torch.zeros(B, dtype=torch.bool)
    is_hole[:n_hole] = True
    return ids, am, tg, is_hole, wt


def losses(model, ids, am, tg, is_hole, wt):
    """Hole loss: weighted mean over hole targets (weights are 1 except prefix-reveal targets
    and the eoh padding, see Sampler.eoh_pad_weight)."""
    h = model.hidden(ids, am)
    flat_t = tg.reshape(-1)
    idx = (flat_t != -100).nonzero().squeeze(1)
    logits = model.logits_at(h, idx, ids, am)
    ce = F.cross_entropy(logits.float(), flat_t[idx], reduction="none")
    row = idx // ids.shape[1]
    hole = is_hole[row]
    w = wt.reshape(-1)[idx][hole]
    lh = (ce[hole] * w).sum() / w.sum() if hole.any() else ce.new_zeros(())
    lm = ce[~hole].mean() if (~hole).any() else ce.new_zeros(())
    acc_h = (logits[hole].argmax(-1) == flat_t[idx][hole]).float().mean() if hole.any() else ce.new_zeros(())
    return lh, lm, acc_h, int(am.sum())


def save_weights(model, cfg, path, meta):
    sd = {k: v.detach().to(torch.float16).cpu() for k, v in model.state_dict().items()}
    tmp = Path(str(path) + ".tmp")
    torch.save({"config": cfg.dict(), "state_dict": sd, "meta": meta}, tmp)
    os.replace(tmp, path)  # a reader (a copy loop, a crash) never sees half a file


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-index", action="store_true")
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=0)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--pos", default="learned", choices=["learned", "rope"])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--mdlm-frac", type=float, default=0.25)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--steps", type=int, default=4000, help="length of the cosine schedule")
    ap.add_argument("--minutes", type=float, default=60.0, help="stop after this wall time")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init", default="", help="start from these weights: a weights .pt file or an exported "
                                               "model folder (e.g. model/default)")
    ap.add_argument("--shift", action="store_true", help="add token-shift layers (zero-init, also with --init)")
    ap.add_argument("--kind-weights", default="", help="override hole-kind weights, e.g. ret=0.2,let=0.1")
    ap.add_argument("--pointer", action="store_true", help="add the copy (pointer) head (also with --init)")
    ap.add_argument("--induction", action="store_true", help="pointer induction bonus (also with --init)")
    ap.add_argument("--induction2", action="store_true", help="second induction bonus: two left tokens match")
    ap.add_argument("--restart-schedule", action="store_true",
                    help="with --init: warmup + cosine over --steps steps counted from the init step")
    ap.add_argument("--first-eoh-only", action="store_true",
                    help="hole loss on the fill and its first eoh only, not on the eoh padding after it "
                         "(also for the val losses)")
    ap.add_argument("--eoh-pad-weight", type=float, default=1.0,
                    help="weight of the eoh padding targets after a fill's first eoh (0 = --first-eoh-only "
                         "for training; the val losses then count the fill and its first eoh only)")
    ap.add_argument("--workers", type=int, default=0, help="DataLoader processes building batches (GPU runs)")
    ap.add_argument("--prefix-reveal", type=float, default=0.0,
                    help="fraction of hole slots shown with a revealed prefix of their fill (left-to-right "
                         "decoding's view); the independent random reveal keeps half of the rest")
    ap.add_argument("--time-cosine", action="store_true",
                    help="cosine progress is the larger of steps/--steps and elapsed/--minutes")
    ap.add_argument("--rewarmup", type=int, default=50, help="lr warmup steps after --init (fresh optimizer)")
    ap.add_argument("--ckpt", default=str(HERE / "ckpt"))
    ap.add_argument("--save-every", type=int, default=100)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bf16", action="store_true", help="autocast bf16 (GPU)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for kv in filter(None, a.kind_weights.split(",")):
        k, v = kv.split("=")
        assert k in KIND_W, k
        KIND_W[k] = float(v)
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(HERE / "default" / "tokenizer.json"))
    data = HERE / "data"
    if a.build_index or not (data / "train.idx.pkl").exists():
        for split in ("train", "val"):
            c = Corpus.build(str(data / f"{split}.jsonl"))
            c.save(str(data / f"{split}.idx.pkl"))
            print(split, len(c.files), {k: len(v) for k, v in c.by_kind.items()}, flush=True)
        if a.build_index:
            return
    ck = Path(a.ckpt)
    ck.mkdir(parents=True, exist_ok=True)
    state = None
    if a.resume and (ck / "last.pt").exists():
        state = torch.load(ck / "last.pt", map_location="cpu", weights_only=False)
        cfg = Config(**state["config"])
    elif a.init:
        # weights.fp16.pt, a last.pt checkpoint (optimizer dropped) or an exported model folder
        cfg, init_sd, init_meta = load_weights(a.init)
        cfg.shift = cfg.shift or a.shift
        cfg.pointer = cfg.pointer or a.pointer
        cfg.induction = cfg.induction or a.induction
        cfg.induction2 = cfg.induction2 or a.induction2
    else:
        cfg = Config(vocab=tok.get_vocab_size(), d=a.d, layers=a.layers, heads=a.heads,
                     ffn=a.ffn or 4 * a.d, seq=a.seq, pos=a.pos, shift=a.shift,
                     pointer=a.pointer, induction=a.induction,
                     induction2=a.induction2)
    dev = torch.device(a.device)
    model = Denoiser(cfg).to(dev)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    nodecay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98), eps=1e-8)
    step, tokens, hist = 0, 0, []
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        step, tokens, hist = state["step"], state["tokens"], state.get("hist", [])
        print(f"resumed at step {step}", flush=True)
    elif a.init:
        missing, unexpected = model.load_state_dict({k: v.float() for k, v in init_sd.items()}, strict=False)
        assert not unexpected and all(k.startswith(("shift_", "ptr_")) for k in missing), (missing, unexpected)
        step, tokens = init_meta.get("steps", 0), init_meta.get("tokens", 0)
        print(f"init from {a.init} (step {step})", flush=True)
    print(f"params {nparams(model)/1e6:.2f}M config {cfg.dict()}", flush=True)
    train = Corpus.load(str(data / "train.idx.pkl"))
    val = Corpus.load(str(data / "val.idx.pkl"))
    samp = Sampler(train, tok, cfg.seq, a.seed + step)
    vs = Sampler(val, tok, cfg.seq, 1234)
    samp.eoh_pad_weight = 0.0 if a.first_eoh_only else a.eoh_pad_weight
    # val losses on the fill and its first eoh only whenever training does not weigh padding fully
    vs.eoh_pad_weight = 1.0 if samp.eoh_pad_weight == 1.0 else 0.0
    samp.prefix_reveal = a.prefix_reveal
    vb = {}
    for k in vs.kinds:
        rows = [vs.hole_row(kind=k, multi=False, reveal=False) for _ in range(48)]
        vb[k] = collate(rows, len(rows))
    n_mdlm = int(round(a.batch * a.mdlm_frac))
    n_hole = a.batch - n_mdlm

    start_step = step

    def lr_at(s):
        if a.init and s - start_step < a.rewarmup:
            return lr_sched(s) * (s - start_step + 1) / a.rewarmup
        return lr_sched(s)

    def lr_sched(s):
        if a.restart_schedule:
            s -= start_step
        if s < a.warmup:
            return a.lr * (s + 1) / a.warmup
        p = min(1.0, (s - a.warmup) / max(1, a.steps - a.warmup))
        if a.time_cosine:  # anneal by the wall clock too, so a slowed-down leg still ends at min_lr
            p = max(p, min(1.0, (time.time() - t_start) / (a.minutes * 60)))
        return a.lr * (a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))

    def checkpoint():
        torch.save({"config": cfg.dict(), "model": model.state_dict(), "opt": opt.state_dict(),
                    "step": step, "tokens": tokens, "hist": hist}, ck / "last.pt.tmp")
        os.replace(ck / "last.pt.tmp", ck / "last.pt")
        save_weights(model, cfg, ck / "weights.fp16.pt", {"steps": step, "tokens": tokens})

    def evaluate():
        model.eval()
        out = {}
        with torch.no_grad():
            for k, (ids, am, tg, ih, wt) in vb.items():
                lh, _, acc, _ = losses(model, ids.to(dev), am.to(dev), tg.to(dev), ih.to(dev), wt.to(dev))
                out[k] = (round(lh.item(), 3), round(acc.item(), 3))
        model.train()
        return out

    if a.workers > 0:
        batches = iter(torch.utils.data.DataLoader(Batches(samp, n_hole, n_mdlm, a.seed + step), batch_size=None,
                                                   num_workers=a.workers, prefetch_factor=4,
                                                   collate_fn=lambda x: x, multiprocessing_context="fork"))
    else:
        batches = iter(Batches(samp, n_hole, n_mdlm, a.seed + step))
    t_start = time.time()
    t_log, tok_log = time.time(), 0
    acc_lh = acc_lm = acc_a = 0.0
    nacc = 0
    model.train()
    while True:
        if time.time() - t_start > a.minutes * 60:
            break
        ids, am, tg, ih, wt = (torch.from_numpy(x).to(dev, non_blocking=True) for x in next(batches))
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=a.bf16):
            lh, lm, acc, ntok = losses(model, ids, am, tg, ih, wt)
        loss = lh + 0.5 * lm
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens += ntok
        tok_log += ntok
        acc_lh += lh.item()
        acc_lm += lm.item()
        acc_a += acc.item()
        nacc += 1
        if step % 20 == 0:
            dt = time.time() - t_log
            print(f"step {step} lr {lr_at(step):.2e} hole {acc_lh/nacc:.3f} acc {acc_a/nacc:.3f} "
                  f"mdlm {acc_lm/nacc:.3f} tok/s {tok_log/dt:.0f} tokens {tokens} "
                  f"elapsed {(time.time()-t_start)/60:.1f}m", flush=True)
            hist.append({"step": step, "hole": acc_lh / nacc, "mdlm": acc_lm / nacc, "acc": acc_a / nacc})
            t_log, tok_log = time.time(), 0
            acc_lh = acc_lm = acc_a = 0.0
            nacc = 0
        if step % a.eval_every == 0:
            print("val", step, json.dumps(evaluate()), flush=True)
        if step % a.save_every == 0:
            checkpoint()
    checkpoint()
    print("val", step, json.dumps(evaluate()), flush=True)
    print(f"done step {step} tokens {tokens}", flush=True)


if __name__ == "__main__":
    main()
