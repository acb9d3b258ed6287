"""Reading and replacing the linear head inside a shipped sentiment graph (needs the ``onnx`` package).

Every graph ``onnx_build.build_model`` makes ends in ``head_mm`` (MatMul of the pooled, L2-normalised
sentence embedding with the initializer ``head_w``), ``head_add`` (``head_b``) and a softmax into
``probabilities``; the int8 quantizer leaves ``head_mm`` in float. So a new head is two initializers
swapped, and the embedding is one more graph output: the encoder is not touched.
"""

from __future__ import annotations

import numpy as np

HEAD_MATMUL = "head_mm"
HEAD_ADD = "head_add"
EMBEDDING_OUTPUT = "sentence_embedding"


class NotAHeadGraph(ValueError):
    pass


def _load(model_bytes: bytes):
    import onnx

    return onnx.load_from_string(model_bytes)


def _head_nodes(graph):
    nodes = {n.name: n for n in graph.node}
    if HEAD_MATMUL not in nodes or HEAD_ADD not in nodes:
        raise NotAHeadGraph("this sentiment graph has no linear head named head_mm/head_add (not built by "
                            "onnx_build), so its head cannot be adapted")
    return nodes[HEAD_MATMUL], nodes[HEAD_ADD]


def _initializer(graph, name: str):
    for t in graph.initializer:
        if t.name == name:
            return t
    raise NotAHeadGraph(f"the head's initializer {name!r} is not in the graph")


def read_head(model_bytes: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The head's weights [hidden, 3] and bias [3]."""
    from onnx import numpy_helper

    g = _load(model_bytes).graph
    mm, add = _head_nodes(g)
    return (numpy_helper.to_array(_initializer(g, mm.input[1])).astype(np.float32),
            numpy_helper.to_array(_initializer(g, add.input[1])).astype(np.float32))


def with_embedding_output(model_bytes: bytes) -> bytes:
    """The same graph with the sentence embedding (the head's input) as a second output,
    ``sentence_embedding`` [batch, hidden], beside ``probabilities``."""
    from onnx import TensorProto, helper

    m = _load(model_bytes)
    mm, _ = _head_nodes(m.graph)
    hidden = int(_initializer(m.graph, mm.input[1]).dims[0])
    m.graph.node.append(helper.make_node("Identity", [mm.input[0]], [EMBEDDING_OUTPUT], name="embedding_out"))
    m.graph.output.append(helper.make_tensor_value_info(EMBEDDING_OUTPUT, TensorProto.FLOAT, ["batch", hidden]))
    return m.SerializeToString()


def with_head(model_bytes: bytes, weights: np.ndarray, bias: np.ndarray) -> bytes:
    """The same graph (inputs, outputs, encoder) with the head's weights and bias replaced."""
    from onnx import numpy_helper

    m = _load(model_bytes)
    mm, add = _head_nodes(m.graph)
    for name, value in ((mm.input[1], weights), (add.input[1], bias)):
        old = _initializer(m.graph, name)
        value = np.asarray(value, dtype=np.float32)
        if tuple(old.dims) != value.shape:
            raise NotAHeadGraph(f"head {name!r} has shape {tuple(old.dims)}, the new one {value.shape}")
        old.CopyFrom(numpy_helper.from_array(value, name))
    return m.SerializeToString()
