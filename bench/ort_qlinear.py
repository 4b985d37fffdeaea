"""onnxruntime integer baseline: a `Network` as a QLinearConv graph built with onnx.helper (bench extra only).

Every conv/linear of the golden network becomes one integer op on the same integer weight codes, in U8U8
mode: weight codes w are stored as uint8 w + 2^(N-1) with zero point 2^(N-1), activations are uint8 with zero
point 0 (ReLU outputs) and the signed input image is shifted the same way. onnxruntime then computes
Σ (w_u8 - zp_w)(x_u8 - zp_x) = Σ w·x exactly in int32 and requantizes in float; its requant differs from the
golden one (float scale vs integer m, s), so only the accumulators are compared (`conv_integer_acc`).
Residual adds are QLinearAdd (com.microsoft, ReLU via the uint8 output range), the head is
QLinearGlobalAveragePool + QLinearMatMul.
"""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from golden.ir import INPUT, Conv, GlobalAvgPool, MaxPool, Network
from golden.spec import NestedSpec

IR_VERSION = 9  # onnxruntime 1.31 reads IR <= 13; onnx 1.23 writes 14 by default
OPSET = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]


class _Graph:
    """Collects nodes and initializers; names every constant after the op that uses it."""

    def __init__(self):
        self.nodes, self.inits = [], []

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def scalar(self, name: str, value, dtype) -> str:
        return self.const(name, np.array(value, dtype=dtype))

    def node(self, op: str, inputs: list[str], output: str, domain: str = "", **attrs) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output


def build_qlinear_model(network: Network, weights: dict[str, np.ndarray], w_scales: dict[str, np.ndarray],
                        scales: dict[str, float], spec: NestedSpec) -> onnx.ModelProto:
    """QLinearConv/QLinearAdd graph of `network`: integer weight codes `weights[name]` (signed, any view
    width) with per-output-channel float scales `w_scales[name]`, and a float scale `scales[t]` for the
    input and for every op output t (y = acc · Δ_x · Δ_w[c] / Δ_y, rounded, in onnxruntime's float requant)."""
    zp = 1 << (spec.n_bits - 1)
    g = _Graph()
    f32 = lambda name, v: g.scalar(name, v, np.float32)  # noqa: E731
    # per tensor: (onnx name, scale name, zero point name)
    tensors = {INPUT: (INPUT, f32("input.scale", scales[INPUT]), g.scalar("input.zp", zp, np.uint8))}
    act_zp = g.scalar("act.zp", 0, np.uint8)
    for op in network.ops:
        src, src_scale, src_zp = tensors[op.input]
        if isinstance(op, Conv):
            w_u8 = (np.asarray(weights[op.name], dtype=np.int64) + zp).astype(np.uint8)
            y_scale = f32(f"{op.name}.y_scale", scales[op.name])
            signed_out = op.output_kind != "act" or op.residual is not None
            y_zp = g.scalar(f"{op.name}.y_zp", zp if signed_out else 0, np.uint8)
            if op.kind == "linear":
                flat = g.node("Flatten", [src], f"{op.name}.flat")
                wt = g.const(f"{op.name}.w", np.ascontiguousarray(w_u8.T))
                g.node("QLinearMatMul", [flat, src_scale, src_zp, wt, f32(f"{op.name}.w_scale",
                       float(np.mean(w_scales[op.name]))), g.scalar(f"{op.name}.w_zp", zp, np.uint8),
                       y_scale, y_zp], op.name)
            else:
                w_scale = g.const(f"{op.name}.w_scale", np.asarray(w_scales[op.name], np.float32))
                w_zp = g.const(f"{op.name}.w_zp", np.full(op.out_ch, zp, np.uint8))
                g.node("QLinearConv", [src, src_scale, src_zp, g.const(f"{op.name}.w", w_u8), w_scale, w_zp,
                                       y_scale, y_zp], op.name, strides=[op.stride] * 2, pads=[op.padding] * 4)
            out = (op.name, y_scale, y_zp)
            if op.residual is not None:
                r, r_scale, r_zp = tensors[op.residual]
                g.node("QLinearAdd", [op.name, y_scale, y_zp, r, r_scale, r_zp, y_scale, act_zp],
                       f"{op.name}.add", domain="com.microsoft")
                out = (f"{op.name}.add", y_scale, act_zp)
            tensors[op.name] = out
        elif isinstance(op, MaxPool):
            g.node("MaxPool", [src], op.name, kernel_shape=[op.kernel] * 2, strides=[op.stride] * 2,
                   pads=[op.padding] * 4)
            tensors[op.name] = (op.name, src_scale, src_zp)
        elif isinstance(op, GlobalAvgPool):
            y_scale = f32(f"{op.name}.y_scale", scales[op.name])
            g.node("QLinearGlobalAveragePool", [src, src_scale, src_zp, y_scale, act_zp], op.name,
                   domain="com.microsoft", channels_last=0)
            tensors[op.name] = (op.name, y_scale, act_zp)
    c, h, w = network.input_shape
    graph = helper.make_graph(
        g.nodes, network.name,
        [helper.make_tensor_value_info(INPUT, TensorProto.UINT8, ["batch", c, h, w])],
        [helper.make_tensor_value_info(tensors[network.ops[-1].name][0], TensorProto.UINT8,
                                       ["batch", network.num_classes])],
        g.inits)
    model = helper.make_model(graph, opset_imports=OPSET, ir_version=IR_VERSION)
    onnx.checker.check_model(model)
    return model


def session(model: onnx.ModelProto, threads: int, spinning: bool = True) -> ort.InferenceSession:
    """CPU session with `threads` intra-op threads (spinning between ops or not), full graph optimizations."""
    opts = ort.SessionOptions()
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def image_to_u8(images: np.ndarray, spec: NestedSpec) -> np.ndarray:
    """Signed N-bit input codes shifted to the U8 domain (zero point 2^(N-1))."""
    return (np.asarray(images, dtype=np.int64) + (1 << (spec.n_bits - 1))).astype(np.uint8)


def conv_integer_acc(x: np.ndarray, w: np.ndarray, stride: int, padding: int, spec: NestedSpec,
                     threads: int, mode: str = "U8U8") -> np.ndarray:
    """onnxruntime's int32 accumulators of one conv (ConvInteger), as int64. mode "U8U8": weights shifted to
    uint8 with zero point 2^(N-1); "U8S8": int8 weights, zero point 0. Activations uint8, zero point 0."""
    if mode not in ("U8U8", "U8S8"):
        raise ValueError(f"mode must be 'U8U8' or 'U8S8', got {mode!r}")
    zp = 1 << (spec.n_bits - 1) if mode == "U8U8" else 0
    w_dtype = np.uint8 if mode == "U8U8" else np.int8
    g = _Graph()
    wt = g.const("w", (np.asarray(w, np.int64) + zp).astype(w_dtype))
    g.node("ConvInteger", ["x", wt, g.scalar("x_zp", 0, np.uint8), g.scalar("w_zp", zp, w_dtype)], "acc",
           strides=[stride] * 2, pads=[padding] * 4)
    graph = helper.make_graph(g.nodes, "conv_integer",
                              [helper.make_tensor_value_info("x", TensorProto.UINT8, list(x.shape))],
                              [helper.make_tensor_value_info("acc", TensorProto.INT32, ["b", "m", "h", "w"])], g.inits)
    model = helper.make_model(graph, opset_imports=OPSET[:1], ir_version=IR_VERSION)
    onnx.checker.check_model(model)
    return session(model, threads).run(None, {"x": np.asarray(x).astype(np.uint8)})[0].astype(np.int64)
