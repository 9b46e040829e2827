"""Triton Python-backend model that runs the denoiser's ONNX file with onnxruntime.

Used by tests/model_server.rs and benches/model_server_load.py through
scripts/triton/local.py, because the tritonserver binary of PyPI's
nvidia-pytriton wheel has the Python backend but no ONNX Runtime backend.
A production server uses the repository `refactor model export-triton` writes
(ONNX Runtime backend) instead.

The ONNX file is `model.onnx` beside this file (the version folder). With
dynamic batching, Triton hands `execute` several requests at once: requests
whose tensors have the same shapes are concatenated along the batch axis and
run as one ONNX Runtime call, then split again, so a batch of requests costs
one forward pass.
"""

import os

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        path = os.path.join(args["model_repository"], args["model_version"], "model.onnx")
        self.session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]

    def execute(self, requests):
        feeds = []
        for request in requests:
            feeds.append({n: pb_utils.get_input_tensor_by_name(request, n).as_numpy() for n in self.inputs})
        # Requests with equal shapes (apart from the batch axis) run together.
        groups = {}
        for i, feed in enumerate(feeds):
            key = tuple(feed[n].shape[1:] for n in self.inputs)
            groups.setdefault(key, []).append(i)
        logits = [None] * len(requests)
        for members in groups.values():
            joined = {n: np.concatenate([feeds[i][n] for i in members], axis=0) for n in self.inputs}
            (out,) = self.session.run(["logits"], joined)
            start = 0
            for i in members:
                rows = feeds[i][self.inputs[0]].shape[0]
                logits[i] = np.ascontiguousarray(out[start : start + rows], dtype=np.float32)
                start += rows
        return [pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("logits", x)]) for x in logits]
