"""Run an ONNX / QONNX graph with qonnx's own executor (`qonnx.core.onnx_exec.execute_onnx`).

qonnx is an optional extra, imported here lazily (`pip install .[qonnx]`); a missing qonnx raises a
ValueError that says how to install it.

qonnx executes standard ONNX nodes one by one in onnxruntime, wrapping each in a model made by
`qonnx_make_model`, which takes the installed onnx's IR version (14 for onnx 1.23). onnxruntime 1.31 loads
IR <= 13 only ("Unsupported model IR version: 14, max supported IR version: 13"), so while our graphs run,
`execute_qonnx` has qonnx stamp those one-node models with IR `ORT_MAX_IR_VERSION`; nothing else changes.
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np

ORT_MAX_IR_VERSION = 13  # onnxruntime==1.31.1 (pyproject.toml's pins)
QONNX_DOMAIN = "qonnx.custom_op.general"
QONNX_OPSET = 2  # Trunc since version 2 (Trunc_v2: output scale, clamp, signed, narrow); Quant unchanged


def require_qonnx():
    """The qonnx package, or ValueError naming the extra to install."""
    try:
        import qonnx  # noqa: F401
        from qonnx.core import onnx_exec
        from qonnx.core.modelwrapper import ModelWrapper
    except ImportError as e:
        raise ValueError(f"qonnx is not installed ({e}); install the optional extra: pip install '.[qonnx]'") from e
    return onnx_exec, ModelWrapper


@contextmanager
def _ir_capped(onnx_exec):
    """qonnx's one-node models get IR version min(onnx's, ORT_MAX_IR_VERSION) inside the block (docstring)."""
    original = onnx_exec.qonnx_make_model

    def make_model(graph, **kwargs):
        model = original(graph, **kwargs)
        model.ir_version = min(model.ir_version, ORT_MAX_IR_VERSION)
        return model

    onnx_exec.qonnx_make_model = make_model
    try:
        yield
    finally:
        onnx_exec.qonnx_make_model = original


def prepare(model):
    """A qonnx ModelWrapper of `model` (onnx ModelProto or path) after qonnx's cleanup (shape inference,
    constant folding, unique names) and datatype inference."""
    onnx_exec, ModelWrapper = require_qonnx()
    from qonnx.transformation.infer_datatypes import InferDataTypes
    from qonnx.util.cleanup import cleanup_model
    with _ir_capped(onnx_exec):
        wrapped = cleanup_model(ModelWrapper(model))
        return wrapped.transform(InferDataTypes())


def execute_qonnx(wrapped, inputs: np.ndarray) -> np.ndarray:
    """The first graph output of a prepared model (`prepare`) on `inputs` (its first graph input), as run by
    qonnx's executor. The batch dimension of the graph input must equal len(inputs)."""
    onnx_exec, _ = require_qonnx()
    name = wrapped.graph.input[0].name
    x = np.ascontiguousarray(inputs, dtype=np.float32)
    with _ir_capped(onnx_exec):
        out = onnx_exec.execute_onnx(wrapped, {name: x})
    return out[wrapped.graph.output[0].name]


def with_batch(wrapped, batch: int):
    """`wrapped` with its graph input's (and every inferred tensor's) batch dimension set to `batch`."""
    onnx_exec, _ = require_qonnx()
    from qonnx.transformation.change_batchsize import ChangeBatchSize
    from qonnx.transformation.infer_shapes import InferShapes
    with _ir_capped(onnx_exec):
        return wrapped.transform(ChangeBatchSize(batch)).transform(InferShapes())
