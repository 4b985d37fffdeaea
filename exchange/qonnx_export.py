"""Export a golden model at a static plan's widths as a QONNX graph that qonnx's executor runs to the golden
logits exactly (docs/qonnx.md). The graph works on integer codes (every Quant / Trunc scale is 1 or a power
of two), so every tensor holds the golden model's integers:

    input       Quant(x, scale 1, N bits, signed, narrow 0)             the N-bit master image codes
    weights     Quant(codes, scale 1, N bits, signed)                   the N-bit master weight codes
    view at b   Trunc(q + 2^(k-1), scale 1, out_scale 2^k, b bits, FLOOR), k = N - b
                = 2^k · clamp(floor((q + 2^(k-1)) / 2^k), lo_b, hi_b)  = 2^k · view_b(q)  (docs/spec.md §1)
                (clamping before the floor equals clamping after it: the bounds are integers)
    conv        ConvInteger(view_ba(A), view_bw(W)) (int32)             = acc · 2^(k_w + k_a) = acc'
    linear      Flatten -> MatMulInteger                                 = acc'
    requant     x = double(acc') + bias;  t = x·m + r·m_r + 2^(s-1)  (double, integers)
                Quant(t · 2^-s, scale 1, N bits unsigned | logit_bits signed, FLOOR) = clamp(floor(t / 2^s))
                (Quant returns clamp(round(y / scale)) · scale, so its scale stays 1 and the shift is a Mul by
                the power of two 2^-s, exact in double)
    max pool    MaxPool (float, exact on integers; padding never wins)
    avg pool    ReduceSum over H, W (double) -> the requant above
The view's rounding (half-up toward +inf) is FLOOR after adding 2^(k-1); QONNX's own HALF_UP rounds ties away
from zero and would differ on negative weights. Exactness: ConvInteger / MatMulInteger accumulate in int32,
so the export needs acc_bits <= 32 (the model file proves acc' + bias fits acc_bits); the requant runs in
double, exact while |t| < 2^53, which `export_graph` proves per layer from golden/bounds.py's worst-case x
(else it raises naming the layer). The float scales travel in the model's metadata_props ("dqt_scales").
"""
from __future__ import annotations

import json

import numpy as np

from golden.bounds import layer_x_bounds
from golden.ir import INPUT, Conv, GlobalAvgPool, MaxPool
from golden.model import NestedModel
from golden.plan import Plan, parse_plan, plan_from_mapping

from .qonnx_runtime import ORT_MAX_IR_VERSION, QONNX_DOMAIN, QONNX_OPSET

DOUBLE_EXACT = 1 << 53  # integers below 2^53 are exact in float64
INT32_ACC_BITS = 32


class _Builder:
    """Appends nodes and initializers; `name` is unique per call site."""

    def __init__(self):
        from onnx import TensorProto, helper, numpy_helper
        self.helper, self.numpy_helper, self.tp = helper, numpy_helper, TensorProto
        self.nodes, self.inits = [], []

    def const(self, name: str, value, dtype=np.float32) -> str:
        self.inits.append(self.numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, domain: str = "", **attrs) -> str:
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    def quant(self, x: str, name: str, scale: float, bits: int, signed: bool, rounding: str) -> str:
        """QONNX Quant with zero point 0, not narrow: clamp(round(x / scale)) · scale."""
        inputs = [x, self.const(f"{name}.scale", scale), self.const(f"{name}.zeropt", 0.0),
                  self.const(f"{name}.bits", float(bits))]
        return self.node("Quant", inputs, name, QONNX_DOMAIN, signed=int(signed), narrow=0,
                         rounding_mode=rounding)

    def view(self, q: str, name: str, n_bits: int, bits: int, signed: bool) -> str:
        """2^k · view_b(q) of master codes q (module docstring); q itself when b = N."""
        k = n_bits - bits
        if k == 0:
            return q
        shifted = self.node("Add", [q, self.const(f"{name}.half", float(1 << (k - 1)))], f"{name}.rounded")
        inputs = [shifted, self.const(f"{name}.scale", 1.0), self.const(f"{name}.zeropt", 0.0),
                  self.const(f"{name}.in_bits", float(n_bits + 1)), self.const(f"{name}.out_scale", float(1 << k)),
                  self.const(f"{name}.out_bits", float(bits))]
        return self.node("Trunc", inputs, name, QONNX_DOMAIN, rounding_mode="FLOOR", signed=int(signed), narrow=0)

    def cast(self, x: str, to, name: str) -> str:
        return self.node("Cast", [x], name, to=to)


def _channel(values: np.ndarray, ndim: int) -> np.ndarray:
    """A per-channel vector shaped to broadcast over axis 1 of an ndim tensor (B, C, ...)."""
    return np.asarray(values).reshape(1, -1, *([1] * (ndim - 2)))


def check_exact(model: NestedModel) -> None:
    """Raise ValueError naming the layer unless the exported requant is exact (module docstring):
    acc_bits <= 32 and max|x|·m + max|r|·m_r + 2^(s-1) < 2^53 for every layer; pools likewise."""
    spec, net = model.spec, model.network
    if spec.acc_bits > INT32_ACC_BITS:
        raise ValueError(f"model {net.name}: acc_bits={spec.acc_bits} > 32; ConvInteger accumulates in int32")
    x_abs = {}
    for layer in net.layers:
        lo, hi = layer_x_bounds(model, layer)
        x_abs[layer.name] = np.maximum(-lo, hi)
        p = model.params(layer.name)
        if layer.output_kind == "wide":
            continue
        total = x_abs[layer.name] * p.m.astype(object) + ((1 << (p.shift - 1)) if p.shift else 0)
        if layer.residual is not None:
            r_op = net.op(layer.residual) if layer.residual != INPUT else None
            wide = isinstance(r_op, Conv) and r_op.output_kind == "wide"
            r_abs = x_abs[layer.residual] if wide else (1 << spec.n_bits) - 1
            total = total + r_abs * p.m_r.astype(object)
        if max(total) >= DOUBLE_EXACT:
            raise ValueError(f"layer {layer.name}: worst-case requant sum {max(total)} >= 2^53 is not exact in "
                             f"the exported double requant (lower m_bits)")
    for op in net.ops:
        if isinstance(op, GlobalAvgPool):
            g = model.pools[op.name]
            if op.in_hw[0] * op.in_hw[1] * spec.code_range(False)[1] * g.m + (1 << g.shift) >= DOUBLE_EXACT:
                raise ValueError(f"pool {op.name}: worst-case requant sum >= 2^53")


def _requant(b: _Builder, name: str, x: str, m: np.ndarray, shift: int, ndim: int, bits: int, signed: bool,
             residual: tuple[str, np.ndarray] | None = None) -> str:
    """Quant((x·m + r·m_r + 2^(s-1)) · 2^-s, scale 1, FLOOR) = requant(x, m, s, r, m_r) (module docstring)."""
    t = b.node("Mul", [x, b.const(f"{name}.m", _channel(m, ndim), np.float64)], f"{name}.xm")
    if residual is not None:
        r, m_r = residual
        rm = b.node("Mul", [r, b.const(f"{name}.m_r", _channel(m_r, ndim), np.float64)], f"{name}.rm")
        t = b.node("Add", [t, rm], f"{name}.sum")
    if shift > 0:
        t = b.node("Add", [t, b.const(f"{name}.round", float(1 << (shift - 1)), np.float64)], f"{name}.t")
    t = b.node("Mul", [t, b.const(f"{name}.shift", 2.0 ** -shift, np.float64)], f"{name}.shifted")
    return b.quant(t, name, 1.0, bits, signed, "FLOOR")


def _conv(b: _Builder, model: NestedModel, layer: Conv, widths: tuple[int, int], tensors: dict,
          doubles: dict) -> str:
    spec, p = model.spec, model.params(layer.name)
    n, (b_w, b_a) = spec.n_bits, widths
    signed_in = model.tensor_signed(layer.input)
    weight = p.weight.astype(np.float32)
    if layer.kind == "linear":
        weight = weight.T  # (K, M) for MatMulInteger; views are elementwise
    wq = b.quant(b.const(f"{layer.name}.weight", weight), f"{layer.name}.weight_quant", 1.0, n, True, "ROUND")
    w_int = b.cast(b.view(wq, f"{layer.name}.weight_view", n, b_w, True), b.tp.INT8, f"{layer.name}.weight_int8")
    a = b.view(tensors[layer.input], f"{layer.name}.input_view", n, b_a, signed_in)
    if layer.kind == "linear":
        a = b.node("Flatten", [a], f"{layer.name}.flat", axis=1)
    a_int = b.cast(a, b.tp.INT8 if signed_in else b.tp.UINT8, f"{layer.name}.input_int8")
    if layer.kind == "linear":
        acc = b.node("MatMulInteger", [a_int, w_int], f"{layer.name}.acc")
        ndim = 2
    else:
        acc = b.node("ConvInteger", [a_int, w_int], f"{layer.name}.acc", kernel_shape=[layer.kernel] * 2,
                     strides=[layer.stride] * 2, pads=[layer.padding] * 4)
        ndim = 4
    acc64 = b.cast(acc, b.tp.DOUBLE, f"{layer.name}.acc_double")
    x = b.node("Add", [acc64, b.const(f"{layer.name}.bias", _channel(p.bias, ndim), np.float64)], f"{layer.name}.x")
    if layer.output_kind == "wide":
        doubles[layer.name] = x
        return x
    residual = None
    if layer.residual is not None:
        r = doubles.get(layer.residual) or b.cast(tensors[layer.residual], b.tp.DOUBLE, f"{layer.name}.r_double")
        residual = (r, p.m_r)
    if layer.output_kind == "logits":
        return _requant(b, layer.name, x, p.m, p.shift, ndim, spec.logit_bits, True)
    return _requant(b, layer.name, x, p.m, p.shift, ndim, n, False, residual)


def export_graph(model: NestedModel, plan: Plan | str | None = None, batch: int = 1):
    """The QONNX onnx ModelProto of `model` at a static `plan` (None: every layer at N bits) for a fixed
    `batch`. A controller is not exported (QONNX has no per-image width choice); its backbone is."""
    from onnx import TensorProto, helper
    net, spec = model.network, model.spec
    if isinstance(plan, str):
        plan = parse_plan(plan, net, spec)
    elif plan is not None:  # a Plan built by hand is checked like a plan file
        plan = plan_from_mapping(plan.name, plan.widths, net, spec)
    n_bits = (spec.n_bits, spec.n_bits)
    widths = plan.layer_widths(net, spec) if plan is not None else {layer.name: n_bits for layer in net.layers}
    check_exact(model)
    b = _Builder()
    tensors = {INPUT: b.quant("input", "input_quant", 1.0, spec.n_bits, model.input_signed, "ROUND")}
    doubles: dict[str, str] = {}
    for op in net.ops:
        if isinstance(op, Conv):
            tensors[op.name] = _conv(b, model, op, widths[op.name], tensors, doubles)
        elif isinstance(op, MaxPool):
            tensors[op.name] = b.node("MaxPool", [tensors[op.input]], op.name, kernel_shape=[op.kernel] * 2,
                                      strides=[op.stride] * 2, pads=[op.padding] * 4)
        else:
            x = b.cast(tensors[op.input], TensorProto.DOUBLE, f"{op.name}.double")
            s = b.node("ReduceSum", [x, b.const(f"{op.name}.axes", [2, 3], np.int64)], f"{op.name}.sum", keepdims=1)
            g = model.pools[op.name]
            tensors[op.name] = _requant(b, op.name, s, np.array([g.m]), g.shift, 4, spec.n_bits, False)
    c, h, w = net.input_shape
    logits = tensors[net.ops[-1].name]
    graph = helper.make_graph(b.nodes, net.name,
                              [helper.make_tensor_value_info("input", TensorProto.FLOAT, [batch, c, h, w])],
                              [helper.make_tensor_value_info(logits, TensorProto.FLOAT, [batch, net.num_classes])],
                              initializer=b.inits)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                         helper.make_opsetid(QONNX_DOMAIN, QONNX_OPSET)],
                                   producer_name="dqt-hw")
    onnx_model.ir_version = min(onnx_model.ir_version, ORT_MAX_IR_VERSION)  # loadable by onnxruntime 1.31
    helper.set_model_props(onnx_model, {"dqt_plan": json.dumps({k: list(v) for k, v in widths.items()}),
                                        "dqt_scales": json.dumps(dict(model.scales))})
    return onnx_model


def export_qonnx(model: NestedModel, path, plan: Plan | str | None = None, batch: int = 1):
    """Export (`export_graph`) and write the ONNX file atomically (golden.atomic)."""
    from golden.atomic import atomic_write_bytes
    onnx_model = export_graph(model, plan, batch)
    atomic_write_bytes(path, onnx_model.SerializeToString())
    return onnx_model
