#!/usr/bin/env python3
"""Generate the small ONNX test models under fixtures/models/ (denoiser runtime tests).

Graphs are written by hand with onnx.helper (no torch). Each model folder holds
model.onnx + tokenizer.json + model.json following docs/canvas.md (format v1).

  tokenizer   byte-level BPE, special tokens at ids 0..=36 (canvas.md table),
              trained on a few lines of code; shared by all models below.
  lookup      logits at query position p = T[class(ids[p])] + U[uclass(ids[p-1])]:
              depends only on the token at p (and, for two marker tokens, the
              token before it), so fills and commit steps can be computed by
              hand. The table is described in model.json under "lookup".
  tiny_transformer  random 2-layer d32 bidirectional transformer (learned
              positions, 2 heads, ReLU MLP, output projection only at
              query_positions) for tract vs ONNX Runtime parity.
  no_query    same as `lookup` without the query_positions input (logits for
              every position, [batch, seq, vocab]).
  bad_inputs  contract-breaking model: input named `tokens` (float32).
  cpu_graph   `lookup` whose model.json names a CPU graph (`onnx_cpu`), which is
              `tiny_transformer`'s graph: ONNX Runtime's CPU provider runs that one,
              every other engine the lookup, so a test can tell which ran.
  bad_cpu_graph  `lookup` with a CPU graph ONNX Runtime rejects (an operator of
              an unknown domain, same inputs and output): the float graph runs.

Usage: python3 scripts/gen_test_models.py [OUT_DIR]   (default fixtures/models)
       python3 scripts/gen_test_models.py --bench OUT_DIR [TOKENIZER_JSON]
         (random d256 x 4-layer model with 256-token rows, for examples/denoise_bench.rs)
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

SPECIALS = ["<|pad|>", "<|mask|>", "<|eoh|>", "<|sep|>", "<|ctx|>"] + [f"<|m{i}|>" for i in range(32)]
SEQ = 64
OPSET = 17

CORPUS = [
    "def parse(path: str) -> int:\n    return len(path)\n",
    "class Config:\n    name: str = 'x'\n    size: int = 0\n",
    "fn main() { let x: i32 = 1; println!(\"{}\", x); }\n",
    "function add(a, b) { return a + b; }\n",
    "struct Point { x: f64, y: f64 }\n",
    "from typing import List, Optional, Dict\n",
    "def load(self, items: List[str]) -> Optional[Dict[str, int]]:\n",
    "    result = None\n    for item in items:\n        print(item)\n",
]


def build_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        min_frequency=2,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    for i, s in enumerate(SPECIALS):
        assert tok.token_to_id(s) == i, (s, tok.token_to_id(s))
    return tok


def single_id(tok, text):
    ids = tok.encode(text).ids
    assert len(ids) == 1, (text, ids)
    return ids[0]


def model_json(vocab, extra=None, supports_q=True, name="test", seq=SEQ):
    d = {
        "canvas_format": 1,
        "max_seq_len": seq,
        "vocab_size": vocab,
        "special_tokens": {
            "pad": "<|pad|>", "mask": "<|mask|>", "eoh": "<|eoh|>", "sep": "<|sep|>",
            "ctx": "<|ctx|>", "slot_prefix": "<|m", "max_slot": 32,
        },
        "onnx": "model.onnx",
        "tokenizer": "tokenizer.json",
        "supports_query_positions": supports_q,
        "provenance": {"trained_by": "scripts/gen_test_models.py", "corpus": name, "steps": 0, "tokens": 0,
                       "date": "generated"},
    }
    if extra:
        d.update(extra)
    return d


def io(q=True):
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
    ]
    if q:
        inputs.append(helper.make_tensor_value_info("query_positions", TensorProto.INT64, ["batch", "k"]))
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "k" if q else "seq", None])
    return inputs, out


def save(graph, out_dir, meta, tok):
    os.makedirs(out_dir, exist_ok=True)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="gen_test_models")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(out_dir, "model.onnx"))
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


def logrow(vocab, probs, rest=1e-6):
    """Logits whose softmax gives `probs` (dict id -> p) and spreads the remainder evenly."""
    p = np.full(vocab, 0.0, dtype=np.float64)
    left = 1.0 - sum(probs.values())
    assert left > 0
    others = vocab - len(probs)
    p[:] = left / others
    for i, v in probs.items():
        p[i] = v
    return np.log(p).astype(np.float32)


def lookup_model(tok, out_dir, with_q=True):
    V = tok.get_vocab_size()
    A, B, C, D = (single_id(tok, t) for t in ("A", "B", "C", "D"))
    P, Q = single_id(tok, "P"), single_id(tok, "Q")
    EOH = 2
    # Classes: 0 = everything else (flat), 1..=32 = slot masks m0..m31.
    cls = np.zeros(V, dtype=np.int64)
    for i in range(32):
        cls[5 + i] = 1 + i
    T = np.zeros((33, V), dtype=np.float32)
    table = {}
    # Row layout chosen so threshold decoding at tau=0.9 takes a known schedule:
    #   m0: A 0.95                -> step 1 (confident)
    #   m1: B 0.50, eoh 0.30      -> step 2 (forced: most confident of its slot)
    #   m2: eoh 0.97, C 0.02      -> step 3 (eoh only once m0, m1 are committed)
    #   m3: D 0.92                -> never (eoh committed at m2 fills m3..)
    #   m4..: eoh 0.99
    rows = {
        0: {A: 0.95},
        1: {B: 0.50, EOH: 0.30},
        2: {EOH: 0.97, C: 0.02},
        3: {D: 0.92, EOH: 0.05},
    }
    for i in range(32):
        r = rows.get(i, {EOH: 0.99})
        T[1 + i] = logrow(V, r)
        table[f"m{i}"] = {str(k): v for k, v in r.items()}
    # U: a bias from the token before the query position. After "P" the next
    # position leans hard to C, after "Q" to D; summed over a tie (P-site + Q-site)
    # neither wins and A (the unbiased m0 favourite) has the best joint log-prob.
    ucls = np.zeros(V, dtype=np.int64)
    ucls[P] = 1
    ucls[Q] = 2
    U = np.zeros((3, V), dtype=np.float32)
    U[1, C] = 12.0  # after "P": C strongly
    U[2, D] = 10.0  # after "Q": D, weaker
    nodes = [
        helper.make_node("Constant", [], ["one"], value=numpy_helper.from_array(np.array(1, dtype=np.int64))),
        helper.make_node("Constant", [], ["zero"], value=numpy_helper.from_array(np.array(0, dtype=np.int64))),
    ]
    inits = [numpy_helper.from_array(cls, "cls"), numpy_helper.from_array(T, "T"),
             numpy_helper.from_array(ucls, "ucls"), numpy_helper.from_array(U, "U")]
    if with_q:
        qpos = "query_positions"
    else:
        # every position: q = range(seq) broadcast to [batch, seq]
        nodes += [
            helper.make_node("Shape", ["input_ids"], ["ids_shape"]),
            helper.make_node("Gather", ["ids_shape", "one"], ["seq_len"], axis=0),
            helper.make_node("Range", ["zero", "seq_len", "one"], ["ar"]),
            helper.make_node("Mul", ["input_ids", "zero"], ["zeros_bs"]),
            helper.make_node("Add", ["zeros_bs", "ar"], ["qall"]),
        ]
        qpos = "qall"
    nodes += [
        helper.make_node("GatherElements", ["input_ids", qpos], ["q_ids"], axis=1),
        helper.make_node("Gather", ["cls", "q_ids"], ["q_cls"], axis=0),
        helper.make_node("Gather", ["T", "q_cls"], ["t_logits"], axis=0),
        helper.make_node("Sub", [qpos, "one"], ["prev0"]),
        helper.make_node("Max", ["prev0", "zero"], ["prev"]),
        helper.make_node("GatherElements", ["input_ids", "prev"], ["p_ids"], axis=1),
        helper.make_node("Gather", ["ucls", "p_ids"], ["p_cls"], axis=0),
        helper.make_node("Gather", ["U", "p_cls"], ["u_logits"], axis=0),
        # keep attention_mask in the graph: + 0 * mask[q]
        helper.make_node("GatherElements", ["attention_mask", qpos], ["q_mask"], axis=1),
        helper.make_node("Mul", ["q_mask", "zero"], ["q_mask0"]),
        helper.make_node("Cast", ["q_mask0"], ["q_maskf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["q_maskf", "minus1"], ["q_maskf3"]),
        helper.make_node("Add", ["t_logits", "u_logits"], ["tu"]),
        helper.make_node("Add", ["tu", "q_maskf3"], ["logits"]),
    ]
    inits.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), "minus1"))
    inputs, out = io(with_q)
    graph = helper.make_graph(nodes, "lookup", inputs, [out], inits)
    extra = {"lookup": {"tokens": {"A": A, "B": B, "C": C, "D": D, "P": P, "Q": Q},
                        "slot_rows": table, "after_P": {"C": 12.0}, "after_Q": {"D": 10.0}}}
    save(graph, out_dir, model_json(V, extra, with_q, "lookup"), tok)


def transformer_model(tok, out_dir, layers=2, d=32, heads=2, ff=64, seed=7, seq=SEQ):
    rng = np.random.default_rng(seed)
    V = tok.get_vocab_size()
    dh = d // heads

    def w(*shape, scale=None):
        s = scale if scale is not None else 1.0 / np.sqrt(shape[0])
        return (rng.standard_normal(shape) * s).astype(np.float32)

    inits = [
        numpy_helper.from_array(w(V, d, scale=1.0), "tok_emb"),
        numpy_helper.from_array(w(seq, d, scale=0.5), "pos_emb"),
        numpy_helper.from_array(np.array([0, 0, heads, dh], dtype=np.int64), "split_shape"),
        numpy_helper.from_array(np.array([0, 0, d], dtype=np.int64), "merge_shape"),
        numpy_helper.from_array(np.array([1, 2], dtype=np.int64), "axes12"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "minus1"),
        numpy_helper.from_array(np.array(1, dtype=np.int64), "one"),
        numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"),
        numpy_helper.from_array(np.array(-1e4, dtype=np.float32), "neg"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "onef"),
        numpy_helper.from_array(np.array(1.0 / np.sqrt(dh), dtype=np.float32), "scale"),
    ]
    nodes = [
        helper.make_node("Shape", ["input_ids"], ["ids_shape"]),
        helper.make_node("Gather", ["ids_shape", "one"], ["seq_len"], axis=0),
        helper.make_node("Range", ["zero", "seq_len", "one"], ["positions"]),
        helper.make_node("Gather", ["tok_emb", "input_ids"], ["te"], axis=0),
        helper.make_node("Gather", ["pos_emb", "positions"], ["pe"], axis=0),
        helper.make_node("Add", ["te", "pe"], ["h0"]),
        # additive attention bias [B,1,1,S]: (mask - 1) * 1e4
        helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("Sub", ["maskf", "onef"], ["maskm1"]),
        helper.make_node("Mul", ["maskm1", "neg"], ["bias0"]),
        helper.make_node("Neg", ["bias0"], ["bias1"]),
        helper.make_node("Unsqueeze", ["bias1", "axes12"], ["bias"]),
    ]
    h = "h0"
    for l in range(layers):
        p = f"l{l}_"
        for nm in ("wq", "wk", "wv", "wo"):
            inits.append(numpy_helper.from_array(w(d, d), p + nm))
        inits += [
            numpy_helper.from_array(w(d, ff), p + "w1"), numpy_helper.from_array(np.zeros(ff, np.float32), p + "b1"),
            numpy_helper.from_array(w(ff, d), p + "w2"), numpy_helper.from_array(np.zeros(d, np.float32), p + "b2"),
            numpy_helper.from_array(np.ones(d, np.float32), p + "g1"), numpy_helper.from_array(np.zeros(d, np.float32), p + "be1"),
            numpy_helper.from_array(np.ones(d, np.float32), p + "g2"), numpy_helper.from_array(np.zeros(d, np.float32), p + "be2"),
        ]
        nodes += [
            helper.make_node("LayerNormalization", [h, p + "g1", p + "be1"], [p + "n1"], axis=-1, epsilon=1e-5),
        ]
        for nm in ("q", "k", "v"):
            nodes += [
                helper.make_node("MatMul", [p + "n1", p + "w" + nm], [p + nm]),
                helper.make_node("Reshape", [p + nm, "split_shape"], [p + nm + "4"]),  # B,S,H,dh
            ]
        nodes += [
            helper.make_node("Transpose", [p + "q4"], [p + "qt"], perm=[0, 2, 1, 3]),  # B,H,S,dh
            helper.make_node("Transpose", [p + "k4"], [p + "kt"], perm=[0, 2, 3, 1]),  # B,H,dh,S
            helper.make_node("Transpose", [p + "v4"], [p + "vt"], perm=[0, 2, 1, 3]),
            helper.make_node("MatMul", [p + "qt", p + "kt"], [p + "s0"]),
            helper.make_node("Mul", [p + "s0", "scale"], [p + "s1"]),
            helper.make_node("Add", [p + "s1", "bias"], [p + "s2"]),
            helper.make_node("Softmax", [p + "s2"], [p + "a"], axis=-1),
            helper.make_node("MatMul", [p + "a", p + "vt"], [p + "o4"]),
            helper.make_node("Transpose", [p + "o4"], [p + "o3"], perm=[0, 2, 1, 3]),
            helper.make_node("Reshape", [p + "o3", "merge_shape"], [p + "o"]),
            helper.make_node("MatMul", [p + "o", p + "wo"], [p + "proj"]),
            helper.make_node("Add", [h, p + "proj"], [p + "r1"]),
            helper.make_node("LayerNormalization", [p + "r1", p + "g2", p + "be2"], [p + "n2"], axis=-1, epsilon=1e-5),
            helper.make_node("MatMul", [p + "n2", p + "w1"], [p + "f0"]),
            helper.make_node("Add", [p + "f0", p + "b1"], [p + "f1"]),
            helper.make_node("Relu", [p + "f1"], [p + "f2"]),
            helper.make_node("MatMul", [p + "f2", p + "w2"], [p + "f3"]),
            helper.make_node("Add", [p + "f3", p + "b2"], [p + "f4"]),
            helper.make_node("Add", [p + "r1", p + "f4"], [p + "out"]),
        ]
        h = p + "out"
    inits += [numpy_helper.from_array(np.ones(d, np.float32), "gf"), numpy_helper.from_array(np.zeros(d, np.float32), "bf")]
    nodes += [
        helper.make_node("LayerNormalization", [h, "gf", "bf"], ["hf"], axis=-1, epsilon=1e-5),
        # gather hidden states at query positions: GatherND(batch_dims=1) with [B,K,1] indices
        helper.make_node("Unsqueeze", ["query_positions", "minus1"], ["q3"]),
        helper.make_node("GatherND", ["hf", "q3"], ["hq"], batch_dims=1),
        helper.make_node("Transpose", ["tok_emb"], ["out_w"], perm=[1, 0]),  # tied output
        helper.make_node("MatMul", ["hq", "out_w"], ["logits"]),
    ]
    inputs, out = io(True)
    graph = helper.make_graph(nodes, "tiny_transformer", inputs, [out], inits)
    save(graph, out_dir, model_json(V, None, True, "random", seq), tok)


def bad_inputs_model(tok, out_dir):
    V = tok.get_vocab_size()
    inputs = [helper.make_tensor_value_info("tokens", TensorProto.FLOAT, ["batch", "seq"])]
    out = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", V])
    inits = [numpy_helper.from_array(np.ones((1, 1, V), np.float32), "w"),
             numpy_helper.from_array(np.array([-1], dtype=np.int64), "minus1")]
    nodes = [helper.make_node("Unsqueeze", ["tokens", "minus1"], ["t3"]),
             helper.make_node("Mul", ["t3", "w"], ["logits"])]
    graph = helper.make_graph(nodes, "bad_inputs", inputs, [out], inits)
    save(graph, out_dir, model_json(V, None, False, "bad"), tok)


def cpu_graph_models(out_dir):
    """`cpu_graph` and `bad_cpu_graph` from the `lookup` and `tiny_transformer` folders."""
    import shutil
    for name in ("cpu_graph", "bad_cpu_graph"):
        d = os.path.join(out_dir, name)
        os.makedirs(d, exist_ok=True)
        for f in ("model.onnx", "tokenizer.json"):
            shutil.copy(os.path.join(out_dir, "lookup", f), os.path.join(d, f))
        with open(os.path.join(out_dir, "lookup", "model.json")) as f:
            cfg = json.load(f)
        cfg["onnx_cpu"] = "model.cpu.onnx"
        with open(os.path.join(d, "model.json"), "w") as f:
            f.write(json.dumps(cfg, indent=2) + "\n")
    shutil.copy(os.path.join(out_dir, "tiny_transformer", "model.onnx"),
                os.path.join(out_dir, "cpu_graph", "model.cpu.onnx"))
    m = onnx.load(os.path.join(out_dir, "tiny_transformer", "model.onnx"))
    m.graph.node[0].op_type = "NoSuchOp"
    m.graph.node[0].domain = "com.example"
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    onnx.save(m, os.path.join(out_dir, "bad_cpu_graph", "model.cpu.onnx"))


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if len(sys.argv) > 2 and sys.argv[1] == "--bench":
        # A random model at the default model's size (d256, 4 layers, 256-token rows) for
        # timing the runtime (examples/denoise_bench.rs); not committed.
        tok_path = sys.argv[3] if len(sys.argv) > 3 else os.path.join(root, "model", "default", "tokenizer.json")
        tok = Tokenizer.from_file(tok_path) if os.path.exists(tok_path) else build_tokenizer()
        transformer_model(tok, sys.argv[2], layers=4, d=256, heads=4, ff=1024, seq=256)
        print("bench model written to", sys.argv[2])
        return
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "fixtures", "models")
    tok = build_tokenizer()
    lookup_model(tok, os.path.join(out, "lookup"), with_q=True)
    lookup_model(tok, os.path.join(out, "no_query"), with_q=False)
    transformer_model(tok, os.path.join(out, "tiny_transformer"))
    bad_inputs_model(tok, os.path.join(out, "bad_inputs"))
    cpu_graph_models(out)
    print("vocab", tok.get_vocab_size(), "written to", out)


if __name__ == "__main__":
    main()
