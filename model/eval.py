#!/usr/bin/env python3
"""Evaluate the shipped ONNX model on held-out packages, per hole kind.

    python model/eval.py [--model model/default] [--n 200] [--slot 8] [--tau 0.9] [--json out.json]

Rows are built exactly as the runtime builds them (docs/canvas.md): one slot of `--slot`
masks per row at the site, window around it, cross-file definition snippets after <|sep|>.
Decoding runs through onnxruntime on model.onnx:
  parallel    design §5 threshold rule (tau) with the canvas eoh restriction
  sequential  one token per slot per step, left to right
  prefix      left to right, the leftmost open position and each next one reaching tau
Baselines: most frequent answer per kind (counted on the training split), and copying the
identifier of the row most similar to the site's own identifiers.
"""
import argparse
import difflib
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from data import EOH, IDENT_RE, KEYWORDS, M0, SEP, Corpus, RowBuilder  # noqa: E402

KINDS = ["ret", "param", "kwarg", "local", "let"]
NAMES = {"ret": "py return annotation", "param": "py param annotation",
         "kwarg": "kwarg name (callee def in context)", "local": "local variable name", "let": "Rust let type"}


def softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


class Runner:
    def __init__(self, model_dir, threads):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        self.sess = ort.InferenceSession(str(Path(model_dir) / "model.onnx"), so,
                                         providers=["CPUExecutionProvider"])
        self.passes = 0

    def logits(self, rows, queries):
        """rows: list of id lists; queries: list of position lists (same k padded) -> [b, k, V]."""
        L = max(len(r) for r in rows)
        k = max(len(q) for q in queries)
        ids = np.zeros((len(rows), L), np.int64)
        am = np.zeros((len(rows), L), np.int64)
        qp = np.zeros((len(rows), k), np.int64)
        for i, (r, q) in enumerate(zip(rows, queries)):
            ids[i, : len(r)] = r
            am[i, : len(r)] = 1
            qp[i, : len(q)] = q
            qp[i, len(q):] = q[0] if q else 0
        self.passes += 1
        return self.sess.run(["logits"], {"input_ids": ids, "attention_mask": am, "query_positions": qp})[0]


def decode(runner, items, n, mode, tau, batch=32):
    """items: list of dicts with ids, pos.  Fills in item[mode] = (fill_ids, conf, passes)."""
    states = []
    for it in items:
        states.append({"ids": list(it["ids"]), "pos": it["pos"], "done": [False] * n, "prob": [1.0] * n,
                       "passes": 0, "it": it})
    active = list(range(len(states)))
    while active:
        nxt = []
        for c0 in range(0, len(active), batch):
            chunk = active[c0: c0 + batch]
            rows, qs = [], []
            for si in chunk:
                s = states[si]
                qs.append([s["pos"] + i for i in range(n) if not s["done"][i]])
                rows.append(s["ids"])
            lg = runner.logits(rows, qs)
            for j, si in enumerate(chunk):
                s = states[si]
                s["passes"] += 1
                und = [i for i in range(n) if not s["done"][i]]
                p = softmax(lg[j, : len(und)].astype(np.float64))
                first_open = und[0]
                cands = []  # (conf, slot index, token)
                for qi, i in enumerate(und):
                    pi = p[qi].copy()
                    if mode == "sequential" and i != first_open:
                        continue
                    if i != first_open:  # eoh only when all earlier positions are committed
                        pi[EOH] = 0.0
                    t = int(pi.argmax())
                    cands.append((float(pi[t]), i, t))
                if mode == "prefix":
                    # the leftmost open position, then each next one while it reaches tau
                    # (eoh allowed there: every earlier position is committed by then)
                    commit = [c for c in cands if c[1] == first_open]
                    for qi, i in enumerate(und[1:], 1):
                        t = int(p[qi].argmax())
                        if i != commit[-1][1] + 1 or commit[-1][2] == EOH or p[qi][t] < tau:
                            break
                        commit.append((float(p[qi][t]), i, t))
                else:
                    commit = [c for c in cands if c[0] >= tau] if mode != "sequential" else []
                if not commit:
                    # design §5: the most confident position; parallel_left: the leftmost open one
                    commit = [max(cands)] if mode != "parallel_left" else [c for c in cands if c[1] == first_open]
                for conf, i, t in commit:
                    if s["done"][i]:
                        continue
                    s["ids"][s["pos"] + i] = t
                    s["done"][i] = True
                    s["prob"][i] = conf
                    if t == EOH:
                        for k2 in range(i + 1, n):
                            s["ids"][s["pos"] + k2] = EOH
                            s["done"][k2] = True
                            s["prob"][k2] = 1.0
                # a fill ends at its first eoh: once every position before it is committed, stop
                toks = s["ids"][s["pos"]: s["pos"] + n]
                if all(s["done"]) or (EOH in toks and all(s["done"][: toks.index(EOH)])
                                      and s["done"][toks.index(EOH)]):
                    continue
                nxt.append(si)
        active = nxt
    for s in states:
        toks = s["ids"][s["pos"]: s["pos"] + n]
        L = toks.index(EOH) if EOH in toks else n
        conf = float(np.prod(s["prob"][: min(n, L + 1)]))
        s["it"][mode] = (toks[:L], conf, s["passes"])


def sites(val, tok, kind, n, count, rb, seed):
    rng = random.Random(seed)
    cand = list(val.by_kind.get(kind, []))
    rng.shuffle(cand)
    out, skipped = [], 0
    for fi, si in cand:
        if len(out) >= count:
            break
        f = val.files[fi]
        b = f["b"]
        _, s, e, extra = val.spans[fi][si]
        fill = rb.enc(b[s:e])
        if not fill or len(fill) > n:
            skipped += 1
            continue
        ids, slots = rb.build(b, [(s, e)], 0, n, val.defs.get(f["pkg"], {}), f["path"])
        text = tok.decode(ids, skip_special_tokens=False)
        if kind == "kwarg":
            # keep call sites whose callee definition is in the row (window or context snippet)
            if not extra or not any(x in text for x in (f"def {extra}(", f"def {extra}[", f"class {extra}(",
                                                       f"class {extra}:")):
                skipped += 1
                continue
        line_lo = b.rfind(b"\n", 0, s) + 1
        line_hi = b.find(b"\n", e)
        line_hi = len(b) if line_hi < 0 else line_hi
        q = [m.group().decode() for m in IDENT_RE.finditer(b[line_lo:s] + b" " + b[e:line_hi])]
        out.append({"ids": ids, "pos": slots[0][1], "target": b[s:e].decode("utf-8", "replace").strip(),
                    "row_text": text, "query": q, "pkg": f["pkg"]})
    return out, skipped


def copy_baseline(it):
    idents = [m.group().decode() for m in IDENT_RE.finditer(it["row_text"].encode())]
    cands = {c for c in idents if c.encode() not in KEYWORDS or c in ("str", "int", "bool", "float", "bytes")}
    q = [x for x in it["query"] if x.encode() not in KEYWORDS]
    if not cands:
        return ""
    if not q:
        return Counter(idents).most_common(1)[0][0]
    best, bs = "", -1.0
    for c in sorted(cands):
        sc = max(difflib.SequenceMatcher(None, c, x).ratio() for x in q)
        if sc > bs:
            best, bs = c, sc
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(HERE / "default"))
    ap.add_argument("--n", type=int, default=200, help="sites per kind")
    ap.add_argument("--slot", type=int, default=8)
    ap.add_argument("--tau", type=float, default=0.9)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", default="")
    ap.add_argument("--modes", default="parallel,sequential,parallel_left")
    ap.add_argument("--show", type=int, default=0, help="print this many examples per kind")
    a = ap.parse_args()
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(Path(a.model) / "tokenizer.json"))
    mj = json.loads((Path(a.model) / "model.json").read_text())
    rb = RowBuilder(tok, mj["max_seq_len"])
    val = Corpus.load(str(HERE / "data" / "val.idx.pkl"))
    train = Corpus.load(str(HERE / "data" / "train.idx.pkl"))
    freq = {}
    for k in KINDS:
        c = Counter()
        for fi, si in train.by_kind.get(k, []):
            _, s, e, _ = train.spans[fi][si]
            c[train.files[fi]["b"][s:e].decode("utf-8", "replace").strip()] += 1
        freq[k] = c.most_common(1)[0][0] if c else ""
    del train
    runner = Runner(a.model, a.threads)
    res = {}
    t0 = time.time()
    for k in KINDS:
        items, skipped = sites(val, tok, k, a.slot, a.n, rb, a.seed)
        if not items:
            continue
        r = {"kind": NAMES[k], "sites": len(items), "skipped": skipped, "most_frequent_answer": freq[k]}
        for mode in a.modes.split(","):
            runner.passes = 0
            decode(runner, items, a.slot, mode, a.tau)
            em = np.mean([tok.decode(it[mode][0]).strip() == it["target"] for it in items])
            passes = np.mean([it[mode][2] for it in items])
            committed = np.mean([(len(it[mode][0]) + 1) / it[mode][2] for it in items])
            r[mode] = {"exact": round(float(em), 3), "passes_per_slot": round(float(passes), 2),
                       "tokens_per_pass": round(float(committed), 2)}
        for mode in a.modes.split(","):
            hi = [it for it in items if it[mode][1] >= a.tau]
            r[mode]["conf>=tau_frac"] = round(len(hi) / len(items), 3)
            r[mode]["exact_when_conf>=tau"] = round(float(np.mean(
                [tok.decode(it[mode][0]).strip() == it["target"] for it in hi])), 3) if hi else None
        r["baseline_most_frequent"] = round(float(np.mean([it["target"] == freq[k] for it in items])), 3)
        r["baseline_copy"] = round(float(np.mean([copy_baseline(it) == it["target"] for it in items])), 3)
        res[k] = r
        print(json.dumps(r), flush=True)
        for it in items[: a.show]:
            print(f"   target={it['target']!r} " + " ".join(f"{m}={tok.decode(it[m][0])!r}" for m in a.modes.split(","))
                  + f" copy={copy_baseline(it)!r}")
    print(f"eval time {time.time()-t0:.0f}s")
    print()
    modes = a.modes.split(",")
    print("| hole kind | sites | " + " | ".join(f"exact {m}" for m in modes) + " | "
          + " | ".join(f"tokens/pass {m}" for m in modes) + " | most-frequent baseline | copy baseline |")
    print("|---|---|" + "---|" * (2 * len(modes) + 2))
    for k, r in res.items():
        print(f"| {r['kind']} | {r['sites']} | " + " | ".join(f"{r[m]['exact']:.3f}" for m in modes) + " | "
              + " | ".join(f"{r[m]['tokens_per_pass']:.2f}" for m in modes) + " | "
              f"{r['baseline_most_frequent']:.3f} (`{r['most_frequent_answer']}`) | {r['baseline_copy']:.3f} |")
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
