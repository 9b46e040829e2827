#!/usr/bin/env python3
"""Export the denoiser to ONNX (design §4) and check parity with PyTorch through onnxruntime.

    python model/export.py [--weights model/ckpt/weights.fp16.pt] [--out model/default]

Writes model.onnx (inputs input_ids/attention_mask/query_positions int64, output logits
float32 [batch, k, vocab]; dynamic batch, seq, k), model.json, and prints the max abs diff.
"""
import argparse
import datetime
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from net import Denoiser, nparams  # noqa: E402
from weights import load_weights  # noqa: E402
from onnx_storage import fp16_storage  # noqa: E402


def load(weights):
    cfg, sd, meta = load_weights(weights)
    m = Denoiser(cfg)
    m.load_state_dict({k: v.float() for k, v in sd.items()})
    m.eval()
    return m, cfg, meta


def export(m, cfg, path):
    b, s, k = 2, 64, 5
    ids = torch.randint(40, cfg.vocab, (b, s))
    am = torch.ones(b, s, dtype=torch.long)
    qp = torch.randint(0, s, (b, k))
    dyn = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
           "query_positions": {0: "batch", 1: "k"}, "logits": {0: "batch", 1: "k"}}
    with torch.no_grad():
        torch.onnx.export(m, (ids, am, qp), str(path), input_names=["input_ids", "attention_mask", "query_positions"],
                          output_names=["logits"], dynamic_axes=dyn, opset_version=17, dynamo=False,
                          do_constant_folding=True)


def name_folded_weights(om, model):
    """Rename the initializers that constant folding made from transposed weights
    (`onnx::MatMul_N`) to `<weight>__T`, found by exact value, so `weights.py` can read every
    weight back from the ONNX file by name. Returns the number renamed."""
    from onnx import numpy_helper
    g = om.graph
    arrays = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    renames = {}
    for k, v in model.state_dict().items():
        if k in arrays or v.dim() != 2:
            continue
        t = v.detach().numpy().T
        for n, a in arrays.items():
            if n not in renames and n.startswith("onnx::") and a.shape == t.shape and np.array_equal(a, t):
                renames[n] = k + "__T"
                break
    for init in g.initializer:
        init.name = renames.get(init.name, init.name)
    for node in g.node:
        for i, x in enumerate(node.input):
            if x in renames:
                node.input[i] = renames[x]
    return len(renames)


def parity(m, cfg, path, threads=1):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    print("onnx inputs", [(i.name, i.type, i.shape) for i in sess.get_inputs()])
    print("onnx outputs", [(o.name, o.type, o.shape) for o in sess.get_outputs()])
    g = torch.Generator().manual_seed(0)
    worst = 0.0
    for b, s, k in [(1, 256, 8), (3, 200, 17), (4, 37, 1)]:
        ids = torch.randint(5, cfg.vocab, (b, s), generator=g)
        am = torch.ones(b, s, dtype=torch.long)
        am[0, s - s // 3:] = 0  # padding in row 0
        ids[0, s - s // 3:] = 0
        qp = torch.randint(0, s - s // 3, (b, k), generator=g)
        with torch.no_grad():
            ref = m(ids, am, qp).numpy()
        out = sess.run(["logits"], {"input_ids": ids.numpy(), "attention_mask": am.numpy(),
                                    "query_positions": qp.numpy()})[0]
        assert out.shape == (b, k, cfg.vocab) and out.dtype == np.float32, out.shape
        d = float(np.abs(out - ref).max())
        worst = max(worst, d)
        print(f"parity batch={b} seq={s} k={k}: max abs diff {d:.2e}")
    return worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default=str(HERE / "ckpt" / "weights.fp16.pt"))
    ap.add_argument("--out", default=str(HERE / "default"))
    ap.add_argument("--corpus", default="model/corpus.lock (PyPI, crates.io, npm; see model/README.md)")
    ap.add_argument("--hardware", default="")
    ap.add_argument("--train-minutes", type=float, default=None)
    ap.add_argument("--fp16-storage", action="store_true",
                    help="store large weights as float16 behind Cast nodes (half the file, float32 compute)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    m, cfg, meta = load(a.weights)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / "model.onnx"
    export(m, cfg, onnx_path)
    import onnx
    om = onnx.load(str(onnx_path))
    print(f"named folded weights: {name_folded_weights(om, m)}")
    if a.fp16_storage:
        print(f"fp16 storage: {fp16_storage(om)} initializers")
    onnx.save(om, str(onnx_path))
    onnx.checker.check_model(om)
    ops = sorted({n.op_type for n in om.graph.node})
    print("opset", [o.version for o in om.opset_import], "ops", ops)
    diff = parity(m, cfg, onnx_path)
    print(f"max abs diff (ORT vs PyTorch): {diff:.2e}")
    hw = a.hardware or f"{platform.machine()} {os.cpu_count()} CPU cores, PyTorch {torch.__version__}"
    mj = {
        "canvas_format": 1,
        "max_seq_len": cfg.seq,
        "vocab_size": cfg.vocab,
        "special_tokens": {"pad": "<|pad|>", "mask": "<|mask|>", "eoh": "<|eoh|>", "sep": "<|sep|>",
                           "ctx": "<|ctx|>", "slot_prefix": "<|m", "max_slot": 32},
        "onnx": "model.onnx",
        "tokenizer": "tokenizer.json",
        "supports_query_positions": True,
        "architecture": {"type": "bidirectional transformer (pre-LN, learned positions, tied output)",
                         "d_model": cfg.d, "layers": cfg.layers, "heads": cfg.heads, "ffn": cfg.ffn,
                         "positions": cfg.pos, "token_shift": cfg.shift, "alibi": cfg.alibi,
                         "pointer": cfg.pointer, "pointer_dim": cfg.pdim if cfg.pointer else None,
                         "pointer_induction": cfg.induction, "pointer_induction2": cfg.induction2,
                         "logits": "log-probabilities (vocab/copy mixture)" if cfg.pointer else "logits",
                         "params": nparams(m)},
        "train_config": cfg.dict(),  # with the ONNX weights: enough to continue training (weights.py)
        "provenance": {"trained_by": "refactor model/train.py", "corpus": a.corpus,
                       "steps": int(meta.get("steps", 0)), "tokens": int(meta.get("tokens", 0)),
                       "date": datetime.date.today().isoformat(), "hardware": hw,
                       "train_minutes": a.train_minutes,
                       "onnx_parity_max_abs_diff": diff,
                       "onnx_weight_storage": "float16 (Cast to float32)" if a.fp16_storage else "float32"},
    }
    (out / "model.json").write_text(json.dumps(mj, indent=2) + "\n")
    sz = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    print(f"wrote {out}: {sz/1e6:.1f} MB total")


if __name__ == "__main__":
    main()
