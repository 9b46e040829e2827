#!/usr/bin/env python3
"""Train the byte-level BPE tokenizer (docs/canvas.md) on model/data/train.jsonl.

    python model/train_tokenizer.py [--vocab 8192] [--out model/default/tokenizer.json]
"""
import argparse
import json
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

HERE = Path(__file__).resolve().parent
SPECIALS = ["<|pad|>", "<|mask|>", "<|eoh|>", "<|sep|>", "<|ctx|>"] + [f"<|m{i}|>" for i in range(32)]


def texts(path, limit_bytes):
    n = 0
    with open(path) as f:
        for line in f:
            t = json.loads(line)["text"]
            n += len(t)
            yield t
            if n > limit_bytes:
                return


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--out", default=str(HERE / "default" / "tokenizer.json"))
    ap.add_argument("--limit-mb", type=float, default=40)
    a = ap.parse_args()
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(vocab_size=a.vocab, special_tokens=SPECIALS, min_frequency=2,
                             initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts(HERE / "data" / "train.jsonl", a.limit_mb * 1e6), trainer=tr)
    for i, s in enumerate(SPECIALS):
        assert tok.token_to_id(s) == i, (s, tok.token_to_id(s))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    tok.save(a.out)
    print("vocab", tok.get_vocab_size(), "->", a.out)
    e = tok.encode("def f(x: int) -> Optional[str]:<|m0|><|m1|><|eoh|>", add_special_tokens=False)
    print(e.tokens)


if __name__ == "__main__":
    main()
