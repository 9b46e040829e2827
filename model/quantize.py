#!/usr/bin/env python3
"""int8 dynamic quantization of an exported model (MatMul weights), for evaluation.

    python model/export.py --weights W.fp16.pt --out /tmp/m32            # float32 storage (no --fp16-storage)
    python model/quantize.py --src /tmp/m32 --out /tmp/m8
    python model/eval.py --model /tmp/m8 --modes sequential --threads 2

Not shipped: held-out exact match holds (model card, "int8"), but the embedded tract engine
runs MatMulInteger about 20x slower than the float model, and tract is what a machine without
ONNX Runtime uses.
"""
import argparse
import shutil
from pathlib import Path

from onnxruntime.quantization import QuantType, quantize_dynamic


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="exported model folder with float32 weights")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    src, out = Path(a.src), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    quantize_dynamic(str(src / "model.onnx"), str(out / "model.onnx"), weight_type=QuantType.QInt8,
                     op_types_to_quantize=["MatMul"])
    for f in ("tokenizer.json", "model.json"):
        shutil.copy(src / f, out / f)
    print(f"wrote {out}: model.onnx {(out / 'model.onnx').stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
