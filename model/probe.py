#!/usr/bin/env python3
"""Show what the shipped model believes at each slot position of held-out sites.

    python model/probe.py --kind let --n 30 [--model model/default]

For each site: the target, the sequential (left-to-right) fill and its confidence, then
teacher-forced per-position probabilities: the target token's probability with the target
prefix revealed, and the model's top token there.  This is how the "eoh wins over `>`
after `Vec<_`" failure was found (model/README.md).
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import eval as E  # noqa: E402
from data import EOH, Corpus, RowBuilder  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=str(HERE / "default"))
    ap.add_argument("--kind", default="let", choices=E.KINDS)
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--slot", type=int, default=8)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(Path(a.model) / "tokenizer.json"))
    mj = json.loads((Path(a.model) / "model.json").read_text())
    rb = RowBuilder(tok, mj["max_seq_len"])
    val = Corpus.load(str(HERE / "data" / "val.idx.pkl"))
    items, _ = E.sites(val, tok, a.kind, a.slot, a.n, rb, a.seed)
    runner = E.Runner(a.model, 1)
    E.decode(runner, items, a.slot, "sequential", 0.9)
    right = 0
    for it in items:
        pred = tok.decode(it["sequential"][0]).strip()
        right += pred == it["target"]
        ids, cols = list(it["ids"]), []
        for i, t in enumerate(tok.encode(it["target"], add_special_tokens=False).ids + [EOH]):
            if i >= a.slot:
                break
            p = E.softmax(runner.logits([ids], [[it["pos"] + i]])[0, 0].astype(np.float64))
            top = int(p.argmax())
            cols.append(f"{tok.id_to_token(t)}:{p[t]:.2f}(top {tok.id_to_token(top)}:{p[top]:.2f})")
            ids[it["pos"] + i] = t
        print(f"{'+' if pred == it['target'] else '-'} target={it['target']!r} fill={pred!r} "
              f"conf={it['sequential'][1]:.2f} | " + " ".join(cols))
    print(f"exact {right}/{len(items)}")


if __name__ == "__main__":
    main()
