#!/usr/bin/env python3
"""Build the ONNX Runtime CPU graph of a shipped model (`model.cpu.onnx`) from its float graph.

    python model/cpu_graph.py --src model/default [--out model/default] [--check]

The float graph (`model.onnx`) uses plain ONNX ops only, so every engine runs it: ONNX
Runtime on CPU or GPU and the embedded tract engine. On a CPU, ONNX Runtime runs a
rewritten copy of the same weights faster; this script writes that copy and names it in
`model.json` (`"onnx_cpu"`). The runtime uses it only for ONNX Runtime's CPU execution
provider; tract and the GPU providers keep the float graph. Steps, each one measured
(model card, "CPU graph"):

1. float16-stored weights back to float32 initializers (no Cast nodes left);
2. ONNX Runtime's transformer fusions (tanh GELU -> FastGelu, residual Add + LayerNorm
   -> SkipLayerNormalization; com.microsoft ops, which ONNX Runtime always has);
3. the copy head's one-hot (`input_ids == arange(vocab)`, a [batch, seq, vocab] float
   tensor, then a MatMul) becomes one ScatterElements with `reduction="add"`: the same
   sums, without writing 8 MiB per row;
4. dynamic int8 quantization of the MatMuls with a constant weight (per-tensor int8
   weights; activations quantized per call), as `quantize_dynamic` does;
5. the large float32 initializers left (embeddings) stored as float16 behind a Cast,
   which ONNX Runtime folds when the session loads.

`--check` compares the two graphs' probabilities on random rows (largest difference,
argmax agreement) and prints each graph's time per 256-token row in calls of 32 and 8 rows.
"""
import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from onnx_storage import fp16_storage  # noqa: E402


def to_float32(m):
    """Replace every Cast(float16 initializer) by a float32 initializer of the Cast's output name."""
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    keep = []
    for n in g.node:
        if (n.op_type == "Cast" and len(n.input) == 1 and n.input[0] in inits
                and inits[n.input[0]].data_type == TensorProto.FLOAT16):
            arr = numpy_helper.to_array(inits[n.input[0]]).astype(np.float32)
            g.initializer.append(numpy_helper.from_array(arr, n.output[0]))
        else:
            keep.append(n)
    del g.node[:]
    g.node.extend(keep)
    drop_unused_initializers(m)
    return m


def drop_unused_initializers(m):
    g = m.graph
    used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
    keep = [i for i in g.initializer if i.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)


def fuse_transformer(path_in, path_out, heads, hidden):
    from onnxruntime.transformers import optimizer
    from onnxruntime.transformers.fusion_options import FusionOptions

    opts = FusionOptions("bert")
    m = optimizer.optimize_model(str(path_in), model_type="bert", num_heads=heads, hidden_size=hidden,
                                 optimization_options=opts, opt_level=0, use_gpu=False)
    stats = {k: v for k, v in m.get_fused_operator_statistics().items() if v}
    m.save_model_to_file(str(path_out))
    return stats


VOCAB = 8192


def scatter_copy_head(m):
    """Rewrite `MatMul(att, Cast(Equal(Unsqueeze(input_ids, -1), arange)))` into
    `ScatterElements(zeros[b, k, vocab], expand(input_ids), att, axis=2, reduction=add)`."""
    g = m.graph
    prod = {o: n for n in g.node for o in n.output}
    done = 0
    for mm in list(g.node):
        if mm.op_type != "MatMul":
            continue
        cast = prod.get(mm.input[1])
        if cast is None or cast.op_type != "Cast":
            continue
        eq = prod.get(cast.input[0])
        if eq is None or eq.op_type != "Equal":
            continue
        unsq = prod.get(eq.input[0])
        if unsq is None or unsq.op_type != "Unsqueeze" or unsq.input[0] != "input_ids":
            continue
        vocab = VOCAB
        att = mm.input[0]
        p = f"/copy_scatter{done}"
        nodes = [
            helper.make_node("Shape", [att], [p + "/att_shape"]),
            helper.make_node("Slice", [p + "/att_shape", p + "/zero", p + "/two"], [p + "/bk"]),
            helper.make_node("Concat", [p + "/bk", p + "/vocab"], [p + "/out_shape"], axis=0),
            helper.make_node("ConstantOfShape", [p + "/out_shape"], [p + "/zeros"],
                             value=numpy_helper.from_array(np.zeros(1, np.float32))),
            helper.make_node("Unsqueeze", ["input_ids", p + "/one"], [p + "/ids_b1s"]),
            helper.make_node("Expand", [p + "/ids_b1s", p + "/att_shape"], [p + "/ids_bks"]),
            helper.make_node("ScatterElements", [p + "/zeros", p + "/ids_bks", att], [mm.output[0]],
                             axis=2, reduction="add"),
        ]
        for name, val in (("/zero", [0]), ("/two", [2]), ("/one", [1]), ("/vocab", [vocab])):
            g.initializer.append(numpy_helper.from_array(np.array(val, np.int64), p + name))
        at = list(g.node).index(mm)
        g.node.remove(mm)
        for i, n in enumerate(nodes):
            g.node.insert(at + i, n)
        done += 1
    # the Equal/Cast/Unsqueeze chain is now dead
    prune_dead(m)
    return done


def prune_dead(m):
    g = m.graph
    live = {o.name for o in g.output}
    keep = []
    for n in reversed(list(g.node)):
        if any(o in live for o in n.output):
            keep.append(n)
            live.update(n.input)
    keep.reverse()
    del g.node[:]
    g.node.extend(keep)
    drop_unused_initializers(m)


def quantize(path_in, path_out):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(path_in), str(path_out), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"],
                     extra_options={"DefaultTensorType": TensorProto.FLOAT})


def build(src, out_file, cfg):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        m = to_float32(onnx.load(str(src / cfg.get("onnx", "model.onnx"))))
        onnx.save(m, str(tmp / "f32.onnx"))
        global VOCAB
        VOCAB = int(cfg["vocab_size"])
        tc = cfg["train_config"]
        stats = fuse_transformer(tmp / "f32.onnx", tmp / "fused.onnx", int(tc["heads"]), int(tc["d"]))
        m = onnx.load(str(tmp / "fused.onnx"))
        scattered = scatter_copy_head(m)
        onnx.save(m, str(tmp / "scatter.onnx"))
        quantize(tmp / "scatter.onnx", tmp / "int8.onnx")
        m = onnx.load(str(tmp / "int8.onnx"))
        halves = fp16_storage(m)
        onnx.checker.check_model(m)
        onnx.save(m, str(out_file))
    print(f"fusions {stats}; copy heads scattered {scattered}; float16-stored {halves}; "
          f"wrote {out_file} ({out_file.stat().st_size / 1e6:.1f} MB)")


def check(float_path, cpu_path, seq=256, k=8, threads=2):
    """Largest probability difference and argmax agreement of the two graphs on 32 random
    rows, and each graph's median time per row over 5 calls of 32 and of 8 rows."""
    import onnxruntime as ort

    rng = np.random.default_rng(0)

    def feed(rows):
        f = {"input_ids": rng.integers(37, 8192, size=(rows, seq)).astype(np.int64),
             "attention_mask": np.ones((rows, seq), np.int64),
             "query_positions": np.tile(np.arange(100, 100 + k), (rows, 1)).astype(np.int64)}
        f["attention_mask"][:, seq - 20:] = 0
        return f

    feeds = {32: feed(32), 8: feed(8)}
    outs = {}
    for name, p in (("float", float_path), ("cpu", cpu_path)):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        s = ort.InferenceSession(str(p), so, providers=["CPUExecutionProvider"])
        outs[name] = s.run(None, feeds[32])[0]
        times = []
        for rows, f in feeds.items():
            s.run(None, f)
            ts = []
            for _ in range(5):
                t = time.perf_counter()
                s.run(None, f)
                ts.append(time.perf_counter() - t)
            times.append(f"{1000 * sorted(ts)[2] / rows:.1f} ms ({rows} rows a call)")
        print(f"{name}: median per {seq}-token row, {threads} threads: " + ", ".join(times))
    a, b = np.exp(outs["float"]), np.exp(outs["cpu"])
    print(f"max |p_float - p_cpu| = {np.abs(a - b).max():.4f}; "
          f"argmax agreement {np.mean(a.argmax(-1) == b.argmax(-1)):.4f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default="model/default")
    ap.add_argument("--out", default=None, help="folder to write model.cpu.onnx to (default: --src)")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    src = Path(a.src)
    out = Path(a.out or a.src)
    out.mkdir(parents=True, exist_ok=True)
    cfg = json.loads((src / "model.json").read_text())
    build(src, out / "model.cpu.onnx", cfg)
    if out != src:
        for f in ("tokenizer.json", cfg.get("onnx", "model.onnx")):
            shutil.copy(src / f, out / f)
    cfg["onnx_cpu"] = "model.cpu.onnx"
    (out / "model.json").write_text(json.dumps(cfg, indent=2) + "\n")
    if a.check:
        check(out / cfg.get("onnx", "model.onnx"), out / "model.cpu.onnx")


if __name__ == "__main__":
    main()
