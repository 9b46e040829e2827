"""Load model weights from either form they are kept in:

* a weights file (`weights.fp16.pt` from train.py, or a `last.pt` checkpoint), or
* an exported model folder (`model/default`): the ONNX file holds every weight (exactly, as
  float16 with `export.py --fp16-storage`), and model.json's `train_config` the config.

The second form is why the shipped model needs no separate weights file in the repository
(which keeps the tree that the GPU device tool carries under its 64 MiB). ONNX export folds
the transposes of Linear weights into new initializers; `export.py` names each of those
`<weight>__T` (found by value at export time), so every weight is found by name here.

    cfg, state_dict, meta = load_weights("model/default")
"""
import json
from pathlib import Path

import numpy as np
import torch

from net import Config, Denoiser


def load_weights(path):
    """(Config, state_dict of float tensors as stored, meta {steps, tokens})."""
    p = Path(path)
    if p.is_dir() or p.suffix == ".onnx":
        return _from_onnx(p if p.is_dir() else p.parent)
    st = torch.load(p, map_location="cpu", weights_only=False)
    if "state_dict" in st:
        return Config(**st["config"]), st["state_dict"], st.get("meta", {})
    return Config(**st["config"]), st["model"], {"steps": st.get("step", 0), "tokens": st.get("tokens", 0)}


def _from_onnx(folder):
    import onnx
    from onnx import numpy_helper
    mj = json.loads((folder / "model.json").read_text())
    if "train_config" not in mj:
        raise SystemExit(f"{folder}/model.json has no train_config (exported before it existed): "
                         "use a weights .pt file")
    cfg = Config(**mj["train_config"])
    om = onnx.load(str(folder / mj.get("onnx", "model.onnx")))
    inits = {i.name: numpy_helper.to_array(i) for i in om.graph.initializer}
    sd = {}
    for k, ref in Denoiser(cfg).state_dict().items():
        for name, transposed in ((k, False), (k + "__T", True)):
            a = inits.get(name, inits.get(name + "__fp16"))
            if a is not None:
                sd[k] = torch.from_numpy(np.array(a.T if transposed else a))
                break
        else:
            raise SystemExit(f"{folder}: weight {k} is not in the ONNX file (exported before "
                             "export.py named folded weights?): use a weights .pt file")
        if tuple(sd[k].shape) != tuple(ref.shape):
            raise SystemExit(f"{folder}: weight {k} has shape {tuple(sd[k].shape)}, want {tuple(ref.shape)}")
    prov = mj.get("provenance", {})
    return cfg, sd, {"steps": prov.get("steps", 0), "tokens": prov.get("tokens", 0)}
