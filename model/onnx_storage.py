"""ONNX helpers shared by the exporter and the CPU-graph builder (numpy and onnx only, no torch)."""
import numpy as np


def fp16_storage(om, min_elems=4096):
    """Store the large float32 initializers as float16, each behind a Cast to float32: the file
    halves, the graph computes in float32 as before (ORT folds the Casts when the session loads).
    Exact for weights that came from weights.fp16.pt; folded constants may round (parity says)."""
    from onnx import TensorProto, helper, numpy_helper
    g = om.graph
    casts = []
    for init in list(g.initializer):
        if init.data_type != TensorProto.FLOAT or int(np.prod(init.dims)) < min_elems:
            continue
        arr = numpy_helper.to_array(init)
        g.initializer.remove(init)
        g.initializer.append(numpy_helper.from_array(arr.astype(np.float16), init.name + "__fp16"))
        casts.append(helper.make_node("Cast", [init.name + "__fp16"], [init.name], to=TensorProto.FLOAT,
                                      name=init.name + "__cast"))
    for c in reversed(casts):
        g.node.insert(0, c)
    return len(casts)
