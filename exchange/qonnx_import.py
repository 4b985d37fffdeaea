"""Import a QONNX graph (Brevitas / FINN / hls4ml export) as a nested-integer golden model (docs/qonnx.md).

Supported subset (anything else raises ValueError naming the node and the attribute or input):
    graph input -> Quant (signed, per tensor)                               the image codes
    Quant / IntQuant on a constant                                          weights (signed, <= 8 bits,
                                                                            per tensor or per output channel)
                                                                            or a bias (any bits)
    Conv (groups 1, square kernel, equal strides and pads) [+ bias]         a conv layer
    BatchNormalization after a Conv / Gemm / MatMul                         folded into scale and bias
    Add(pending conv, quantized activation | pending conv)                  residual (identity | downsample)
    Add(pending layer, constant)                                            bias
    Relu                                                                     (implied by an unsigned Quant)
    Quant (unsigned, per tensor, not narrow) after a layer                  the layer's output codes
    MaxPool, GlobalAveragePool [+ Quant], Flatten / Reshape to (B, C)
    Gemm (alpha = beta = 1, transA = 0) / MatMul [+ Add bias]               the classifier (last layer)
Zero points must be 0 and bit widths 2..8 (activations and weights).

Mapping (N = spec.n_bits, real value = Δ · code):
    a b-bit code q at scale Δ becomes the master code q·2^(N-b) at scale Δ/2^(N-b) (exact; its b-bit view
    is q again), so a 4-bit layer of the graph is an N-bit master viewed at 4 bits (the implied plan); a b-bit
    activation's requant gets a -1/2 master-step bias so its master is ⌊2^(N-b)·v⌋ and the b-bit view rounds
    v once (no double rounding); FLOOR / CEIL activation Quants get a -/+ 1/2 step bias (ROUNDING_OFFSET);
    conv:  real = Δ_w[c]·Δ_in·γ[c]·acc + β'[c] (BatchNorm γ = scale/sqrt(var + eps) > 0 folded), so
           weight_scale[c] = Δ_w[c]·γ[c], bias[c] = round(β'[c] / (weight_scale[c]·Δ_in)) (int32),
           m[c] / 2^s ≈ weight_scale[c]·Δ_in / Δ_out, m_r[c] / 2^s ≈ Δ_r[c] / Δ_out (golden.calibrate);
    global average pool: m / 2^s ≈ Δ_in / (H·W·Δ_out), Δ_out = the following Quant's (else Δ_in);
    classifier: signed logit_bits logits at Δ_logit = the following Quant's scale / 2^(logit_bits - b), else
           the smallest scale at which the worst-case logit fits (never saturates).
Every m / 2^s is reported with its relative error |m/2^s - ratio| / ratio (max over channels).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from golden.calibrate import multipliers
from golden.ir import INPUT, Conv, GlobalAvgPool, MaxPool, Network
from golden.model import BIAS_DTYPE, ConvParams, GapParams, NestedModel, code_dtype
from golden.plan import Plan
from golden.spec import DEFAULT_SPEC, NestedSpec

from .qonnx_quant import ROUNDING_MODES, quant_codes

QUANT_OPS = ("Quant", "IntQuant")
# Rounding of an unsigned activation Quant as the golden half-up requant of (value + offset · Δ_q): the
# nearest modes differ from half-up on exact ties only; FLOOR = DOWN and CEIL = UP on values >= 0.
ROUNDING_OFFSET = {"ROUND": 0.0, "HALF_EVEN": 0.0, "HALF_UP": 0.0, "HALF_DOWN": 0.0,
                   "FLOOR": -0.5, "DOWN": -0.5, "CEIL": 0.5, "UP": 0.5}


class UnsupportedGraph(ValueError):
    """The graph leaves the supported subset; the message names the node and the attribute or input."""


@dataclass(frozen=True)
class InputQuant:
    """The graph input's Quant: codes = quant_codes(x, scale, bits, signed, narrow, mode) · 2^(N - bits)."""

    name: str
    scale: float
    bits: int
    narrow: bool
    mode: str


@dataclass(frozen=True)
class Mapping:
    """One float ratio that became m / 2^s: where, the shift, the multiplier range, max relative error."""

    where: str
    shift: int
    m_min: int
    m_max: int
    rel_error: float


@dataclass
class ImportResult:
    """The golden model, the plan the graph's bit widths imply, the input quantizer, every m / 2^s mapping and
    notes on semantics the golden model cannot copy exactly (rounding modes, finer residuals)."""

    model: NestedModel
    plan: Plan
    input_quant: InputQuant
    mappings: list[Mapping]
    notes: list[str]

    def input_codes(self, images: np.ndarray) -> np.ndarray:
        """Master codes of float images, quantized exactly as the graph's input Quant does."""
        q = self.input_quant
        codes = quant_codes(np.asarray(images, np.float32), np.float32(q.scale), q.bits, True, q.narrow, q.mode)
        return codes << (self.model.spec.n_bits - q.bits)


# ---- values flowing through the graph --------------------------------------------------------------------
@dataclass
class QConst:
    """Quant applied to a constant: integer codes at `scale` (broadcast to the codes' shape)."""

    node: str
    codes: np.ndarray
    scale: np.ndarray
    bits: int
    signed: bool

    def real(self) -> np.ndarray:
        return self.codes * self.scale.astype(np.float64)


@dataclass
class QAct:
    """A quantized activation held by the golden tensor `tensor`: master codes at scale `scale`, taken from a
    `bits`-bit QONNX tensor (codes shifted left by N - bits)."""

    tensor: str
    scale: float
    bits: int
    signed: bool
    shape: tuple[int, int, int]
    flat: bool = False


@dataclass
class Pending:
    """A conv / linear whose output is not quantized yet: real[c] = eff_scale[c]·acc'[c] + eff_bias[c]
    (acc' on the master scales), plus an optional residual (a QAct or a downsample Pending)."""

    node: str
    kind: str
    inp: QAct
    weight: np.ndarray
    w_bits: int
    eff_scale: np.ndarray
    eff_bias: np.ndarray
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    residual: QAct | Pending | None = None
    name: str = ""


@dataclass
class PendingGap:
    node: str
    name: str
    inp: QAct


@dataclass
class _State:
    spec: NestedSpec
    consts: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    ops: list = field(default_factory=list)
    params: dict = field(default_factory=dict)
    pools: dict = field(default_factory=dict)
    scales: dict = field(default_factory=dict)
    shapes: dict = field(default_factory=dict)
    widths: dict = field(default_factory=dict)
    mappings: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    input_quant: InputQuant | None = None
    names: set = field(default_factory=set)
    other_rounding: list = field(default_factory=list)
    uses: Counter = field(default_factory=Counter)


def _attrs(node) -> dict:
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _label(node) -> str:
    return f"node {node.name or '<unnamed>'} ({node.op_type})"


def _fail(node, what: str) -> UnsupportedGraph:
    return UnsupportedGraph(f"{_label(node)}: {what}")


def _const(st: _State, node, index: int, what: str) -> np.ndarray:
    name = node.input[index] if index < len(node.input) else ""
    if name not in st.consts:
        raise _fail(node, f"input {index} ({what}) {name!r} must be a constant initializer")
    return st.consts[name]


def _value(st: _State, node, index: int):
    name = node.input[index]
    if name in st.values:
        v = st.values[name]
        if isinstance(v, Pending | PendingGap) and st.uses[name] > 1:
            raise _fail(node, f"input {index} {name!r} (an unquantized layer output) feeds {st.uses[name]} nodes; "
                              f"it must feed one (quantize it first)")
        return v
    if name in st.consts:
        return st.consts[name]
    raise _fail(node, f"input {index} {name!r} is not produced by a supported node")


def _fresh(st: _State, node, stem: str) -> str:
    base = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in (node.name or "")) or stem
    name, i = base, 1
    while name in st.names or name == INPUT:
        name, i = f"{base}_{i}", i + 1
    st.names.add(name)
    return name


# ---- Quant ------------------------------------------------------------------------------------------------
def _quant_fields(st: _State, node) -> tuple[np.ndarray, int, bool, bool, str]:
    a = _attrs(node)
    scale = _const(st, node, 1, "scale").astype(np.float32)
    zero = _const(st, node, 2, "zero point")
    bits = _const(st, node, 3, "bit width")
    if np.any(zero != 0):
        raise _fail(node, f"input 2 (zero point) must be 0, got {np.unique(zero)[:4]}")
    if bits.size != 1 or float(bits.reshape(-1)[0]) != int(bits.reshape(-1)[0]):
        raise _fail(node, f"input 3 (bit width) must be one integer, got {bits}")
    if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
        raise _fail(node, "input 1 (scale) must be finite and > 0")
    mode = str(a.get("rounding_mode", b"ROUND").decode() if isinstance(a.get("rounding_mode"), bytes)
               else a.get("rounding_mode", "ROUND")).upper()
    if mode not in ROUNDING_MODES:
        raise _fail(node, f"attribute rounding_mode={mode!r} is not one of {ROUNDING_MODES}")
    return scale, int(bits.reshape(-1)[0]), bool(a.get("signed", 1)), bool(a.get("narrow", 0)), mode


def _check_bits(node, bits: int, most: int, what: str) -> None:
    if not 2 <= bits <= most:
        raise _fail(node, f"input 3 (bit width) {bits}: {what} need 2..{most} bits")


def _per_tensor(node, scale: np.ndarray) -> float:
    if scale.size != 1:
        raise _fail(node, f"input 1 (scale) must be per tensor for an activation, got shape {scale.shape}")
    return float(scale.reshape(-1)[0])


def _quant(st: _State, node, graph_inputs: set) -> None:
    scale, bits, signed, narrow, mode = _quant_fields(st, node)
    src, out = node.input[0], node.output[0]
    n = st.spec.n_bits
    if src in st.consts:
        x = st.consts[src].astype(np.float32)
        st.values[out] = QConst(_label(node), quant_codes(x, scale, bits, signed, narrow, mode),
                                np.broadcast_to(scale, x.shape), bits, signed)
        return
    if src in graph_inputs:
        _check_bits(node, bits, st.spec.n_bits, "activations")
        if not signed:
            raise _fail(node, "attribute signed=0 on the graph input: the golden input is signed codes")
        s = _per_tensor(node, scale)
        st.input_quant = InputQuant(_label(node), s, bits, narrow, mode)
        st.values[out] = QAct(INPUT, s / 2 ** (n - bits), bits, True, st.shapes[INPUT])
        return
    v = _value(st, node, 0)
    s = _per_tensor(node, scale)
    if isinstance(v, Pending) and v.kind == "linear":
        _check_bits(node, bits, st.spec.logit_bits, "logits")
        if not signed:
            raise _fail(node, "attribute signed=0 after the classifier: logits are signed")
        _finish_logits(st, v, s / 2 ** (st.spec.logit_bits - bits), out)
        return
    _check_bits(node, bits, st.spec.n_bits, "activations")
    if signed:
        raise _fail(node, "attribute signed=1 on an activation: inner activations are unsigned (ReLU range)")
    if narrow:
        raise _fail(node, "attribute narrow=1 on an unsigned activation (its views saturate at 2^b - 1)")
    if mode != "HALF_UP":
        st.other_rounding.append(f"{_label(node)} {mode}")
    master = s / 2 ** (n - bits)
    if isinstance(v, Pending):
        # FLOOR / DOWN (CEIL / UP) of a value >= 0 is round-half-up of the value minus (plus) half a step s;
        # a b < N bit tensor's master is floored (minus half a master step) so that its b-bit view rounds once:
        # ⌊(⌊2^k·v⌋ + 2^(k-1)) / 2^k⌋ = ⌊v + 1/2⌋
        v.eff_bias = v.eff_bias + ROUNDING_OFFSET[mode] * s - (0.5 * master if bits < n else 0.0)
        st.values[out] = _finish_act(st, v, master, bits)
    elif ROUNDING_OFFSET[mode]:
        raise _fail(node, f"attribute rounding_mode={mode}: a pool or identity output rounds to nearest only "
                          f"(ROUND, HALF_EVEN, HALF_UP, HALF_DOWN)")
    elif isinstance(v, PendingGap):
        st.values[out] = _finish_gap(st, v, master, bits)
    elif isinstance(v, QAct) and not v.signed and v.bits == bits and math.isclose(v.scale, master, rel_tol=1e-6):
        st.values[out] = v
    else:
        raise _fail(node, "input 0 must be a conv / linear / pool output (re-quantizing an already quantized "
                          "tensor to a different scale or width is not supported)")


# ---- layers -----------------------------------------------------------------------------------------------
def _weight(st: _State, node, index: int, out_axis: int) -> tuple[np.ndarray, int, np.ndarray]:
    """Master codes (out_axis moved to 0), weight bits and Δ_w[c] at the master scale."""
    v = _value(st, node, index)
    if not isinstance(v, QConst):
        raise _fail(node, f"input {index} (weight) must come from a Quant / IntQuant on a constant")
    if not v.signed:
        raise _fail(node, f"input {index} (weight): its Quant ({v.node}) has signed=0; weights are signed")
    if not 2 <= v.bits <= st.spec.n_bits:
        raise _fail(node, f"input {index} (weight): its Quant ({v.node}) has {v.bits} bits, supported "
                          f"2..{st.spec.n_bits}")
    codes = np.moveaxis(v.codes, out_axis, 0)
    scale = np.moveaxis(v.scale, out_axis, 0).reshape(codes.shape[0], -1)
    if np.any(scale != scale[:, :1]):
        raise _fail(node, f"input {index} (weight): its Quant ({v.node}) scale varies along other axes than the "
                          f"output channel")
    k = st.spec.n_bits - v.bits
    return (codes << k).astype(code_dtype(st.spec)), v.bits, scale[:, 0].astype(np.float64) / 2 ** k


def _bias_vector(st: _State, node, value, out_ch: int) -> np.ndarray:
    real = value.real() if isinstance(value, QConst) else np.asarray(value, np.float64)
    flat = np.asarray(real, np.float64)
    if flat.size == 1:
        return np.full(out_ch, float(flat.reshape(-1)[0]))
    squeezed = flat.reshape(-1) if flat.size == out_ch else None
    if squeezed is None:
        raise _fail(node, f"bias / constant of shape {flat.shape} is not per output channel ({out_ch})")
    return squeezed.astype(np.float64)


def _act_input(st: _State, node, index: int) -> QAct:
    v = _value(st, node, index)
    if isinstance(v, PendingGap):
        v = _finish_gap(st, v, v.inp.scale, v.inp.bits)
        st.values[node.input[index]] = v
    if not isinstance(v, QAct):
        raise _fail(node, f"input {index} must be a quantized activation (a Quant output), got "
                          f"{type(v).__name__}")
    return v


def _conv(st: _State, node) -> None:
    a = _attrs(node)
    x = _act_input(st, node, 0)
    weight, bits, w_scale = _weight(st, node, 1, 0)
    if weight.ndim != 4 or weight.shape[2] != weight.shape[3]:
        raise _fail(node, f"input 1 (weight) shape {weight.shape}: a square 2-D kernel is supported")
    if a.get("group", 1) != 1:
        raise _fail(node, f"attribute group={a['group']}: only group=1 is supported")
    if any(d != 1 for d in a.get("dilations", [1, 1])):
        raise _fail(node, f"attribute dilations={a['dilations']}: only 1 is supported")
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise _fail(node, f"attribute auto_pad={a['auto_pad']}: give explicit pads")
    strides, pads = list(a.get("strides", [1, 1])), list(a.get("pads", [0, 0, 0, 0]))
    if len(set(strides)) != 1:
        raise _fail(node, f"attribute strides={strides}: equal strides are supported")
    if len(set(pads)) != 1:
        raise _fail(node, f"attribute pads={pads}: equal pads on every side are supported")
    if weight.shape[1] != x.shape[0]:
        raise _fail(node, f"input 1 (weight) has {weight.shape[1]} input channels, the input has {x.shape[0]}")
    bias = _bias_vector(st, node, _value(st, node, 2), weight.shape[0]) if len(node.input) > 2 and node.input[2] \
        else np.zeros(weight.shape[0])
    st.values[node.output[0]] = Pending(_label(node), "conv", x, weight, bits, w_scale * x.scale, bias,
                                        weight.shape[2], strides[0], pads[0], name=_fresh(st, node, "conv"))


def _gemm(st: _State, node) -> None:
    a = _attrs(node)
    x = _act_input(st, node, 0)
    if node.op_type == "Gemm":
        if a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0 or a.get("transA", 0):
            raise _fail(node, "attributes alpha, beta must be 1 and transA 0")
        out_axis = 0 if a.get("transB", 0) else 1
    else:
        out_axis = 1
    weight, bits, w_scale = _weight(st, node, 1, out_axis)
    if weight.ndim != 2 or weight.shape[1] != x.shape[0] or x.shape[1:] != (1, 1):
        raise _fail(node, f"input 0 of shape {x.shape} does not match the weight {weight.shape} (a classifier "
                          f"reads a pooled (C, 1, 1) tensor)")
    bias = _bias_vector(st, node, _value(st, node, 2), weight.shape[0]) if len(node.input) > 2 and node.input[2] \
        else np.zeros(weight.shape[0])
    st.values[node.output[0]] = Pending(_label(node), "linear", x, weight, bits, w_scale * x.scale, bias,
                                        name=_fresh(st, node, "fc"))


def _batchnorm(st: _State, node) -> None:
    v = _value(st, node, 0)
    if not isinstance(v, Pending) or v.residual is not None:
        raise _fail(node, "input 0 must be a conv / linear output before any residual add")
    gamma, beta, mean, var = (_const(st, node, i, w).astype(np.float64).reshape(-1)
                              for i, w in ((1, "scale"), (2, "B"), (3, "mean"), (4, "var")))
    g = gamma / np.sqrt(var + float(_attrs(node).get("epsilon", 1e-5)))
    if np.any(g <= 0) or not np.all(np.isfinite(g)):
        raise _fail(node, "input 1 (scale) / sqrt(var + epsilon) must be finite and > 0 for every channel (a "
                          "negative BatchNorm scale cannot fold into an unsigned requant multiplier)")
    v.eff_scale, v.eff_bias = v.eff_scale * g, g * (v.eff_bias - mean) + beta
    st.values[node.output[0]] = v


def _add(st: _State, node) -> None:
    left, right = _value(st, node, 0), _value(st, node, 1)
    if isinstance(left, Pending) and isinstance(right, np.ndarray | QConst) \
            or isinstance(right, Pending) and isinstance(left, np.ndarray | QConst):
        layer, const = (left, right) if isinstance(left, Pending) else (right, left)
        if layer.residual is not None:
            raise _fail(node, "a constant added after the residual add is not supported")
        layer.eff_bias = layer.eff_bias + _bias_vector(st, node, const, len(layer.eff_bias))
        st.values[node.output[0]] = layer
        return
    pend = [v for v in (left, right) if isinstance(v, Pending)]
    if not pend:
        raise _fail(node, "one input must be a conv output (residual adds are fused into its requant)")
    if len(pend) == 2:
        main, other = left, right
        if main.kernel == 1 and other.kernel > 1:  # the 1×1 conv is the downsample
            main, other = other, main
    else:
        main = pend[0]
        other = right if main is left else left
        if isinstance(other, PendingGap) or not isinstance(other, QAct) or other.signed:
            raise _fail(node, "the residual must be an unsigned quantized activation or a conv output")
    if main.kind != "conv" or main.residual is not None or (isinstance(other, Pending) and other.residual):
        raise _fail(node, "a residual add joins two conv outputs, or a conv output and an activation, once")
    main.residual = other
    st.values[node.output[0]] = main


def _relu(st: _State, node) -> None:
    v = _value(st, node, 0)
    if isinstance(v, QAct) and v.signed:
        raise _fail(node, "input 0 is a signed quantized tensor; Relu is supported before an unsigned Quant")
    if not isinstance(v, Pending | QAct):
        raise _fail(node, "input 0 must be a conv / linear output or an unsigned activation")
    st.values[node.output[0]] = v  # an unsigned Quant clamps at 0 anyway


def _maxpool(st: _State, node) -> None:
    a = _attrs(node)
    x = _act_input(st, node, 0)
    kernel, strides = list(a.get("kernel_shape", [])), list(a.get("strides", [1, 1]))
    pads = list(a.get("pads", [0, 0, 0, 0]))
    for attr, vals in (("kernel_shape", kernel), ("strides", strides), ("pads", pads)):
        if len(set(vals)) != 1:
            raise _fail(node, f"attribute {attr}={vals}: equal values on both axes / sides are supported")
    if a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1, 1])):
        raise _fail(node, "attributes ceil_mode=1 / dilations != 1 are not supported")
    name = _fresh(st, node, f"maxpool{len(st.ops)}")
    op = MaxPool(name, x.tensor, x.shape[0], x.shape[1:], kernel[0], strides[0], pads[0])
    _emit(st, op, (x.shape[0], *op.out_hw), x.scale)
    st.values[node.output[0]] = QAct(name, x.scale, x.bits, x.signed, (x.shape[0], *op.out_hw))


def _flatten(st: _State, node) -> None:
    x = _act_input(st, node, 0)
    if x.shape[1:] != (1, 1):
        raise _fail(node, f"input 0 has shape {x.shape}; flattening is supported on a pooled (C, 1, 1) tensor")
    if node.op_type == "Flatten" and _attrs(node).get("axis", 1) != 1:
        raise _fail(node, "attribute axis must be 1")
    if node.op_type == "Reshape":
        target = _const(st, node, 1, "shape").reshape(-1)
        if len(target) != 2 or target[1] not in (-1, x.shape[0]):
            raise _fail(node, f"input 1 (shape) {target.tolist()}: a reshape to (batch, {x.shape[0]}) is supported")
    st.values[node.output[0]] = QAct(x.tensor, x.scale, x.bits, x.signed, x.shape, flat=True)


def _gap(st: _State, node) -> None:
    x = _act_input(st, node, 0)
    st.values[node.output[0]] = PendingGap(_label(node), _fresh(st, node, "avgpool"), x)


# ---- finishing layers into golden ops ---------------------------------------------------------------------
def _emit(st: _State, op, shape: tuple[int, int, int], scale: float | None) -> None:
    st.ops.append(op)
    st.shapes[op.name] = shape
    if scale is not None:
        st.scales[op.name] = scale


def _ratio_to_m(st: _State, where: str, ratios: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    try:
        ms, s = multipliers(ratios, st.spec)
    except ValueError as e:
        raise UnsupportedGraph(f"{where}: {e} (m_bits={st.spec.m_bits})") from e
    for label, r, m in zip(("m", "m_r"), ratios, ms):
        approx = m.astype(np.float64) / 2.0 ** s
        rel = float(np.max(np.abs(approx - r) / r))
        st.mappings.append(Mapping(f"{where} {label}", s, int(m.min()), int(m.max()), rel))
    return ms, s


def _bias_codes(st: _State, p: Pending, where: str) -> np.ndarray:
    codes = np.round(p.eff_bias / p.eff_scale)
    lo, hi = st.spec.int_range(32, True)
    if codes.min() < lo or codes.max() > hi:
        raise UnsupportedGraph(f"{where}: bias {codes.max() if codes.max() > hi else codes.min():.0f} (in "
                               f"accumulator units) does not fit int32")
    return codes.astype(BIAS_DTYPE)


def _finish_layer(st: _State, p: Pending, output_kind: str, ratios: list[np.ndarray], out_scale) -> Conv:
    name = p.name
    first = not any(isinstance(op, Conv) for op in st.ops)
    residual = p.residual.tensor if isinstance(p.residual, QAct) else (p.residual.name if p.residual else None)
    layer = Conv(name, p.inp.tensor, p.inp.shape[0], p.weight.shape[0], p.inp.shape[1:], p.kernel, p.stride,
                 p.padding, output_kind, residual, switchable=not first and output_kind != "logits",
                 kind=p.kind)
    m = m_r = shift = None
    if output_kind != "wide":
        ms, shift = _ratio_to_m(st, f"layer {name}", ratios)
        m, m_r = ms[0], (ms[1] if len(ms) > 1 else None)
    weight_scale = p.eff_scale / p.inp.scale
    st.params[name] = ConvParams(p.weight, _bias_codes(st, p, f"layer {name}"), m, shift, m_r, weight_scale)
    if layer.switchable:
        st.widths[name] = (p.w_bits, p.inp.bits)
    elif p.w_bits < st.spec.n_bits or p.inp.bits < st.spec.n_bits:
        st.notes.append(f"layer {name} ({'stem' if first else 'classifier'}) always runs at N bits: its "
                        f"{p.w_bits}-bit weights are exact, a {p.inp.bits}-bit input is read at its finer master")
    _emit(st, layer, (layer.out_ch, *layer.out_hw), out_scale)
    return layer


def _finish_act(st: _State, p: Pending, out_scale: float, bits: int) -> QAct:
    ratios = [p.eff_scale / out_scale]
    if isinstance(p.residual, Pending):
        _finish_layer(st, p.residual, "wide", [], None)
        ratios.append(p.residual.eff_scale / out_scale)
    elif isinstance(p.residual, QAct):
        ratios.append(np.full(len(p.eff_scale), p.residual.scale / out_scale))
        if p.residual.bits < st.spec.n_bits:
            st.notes.append(f"{p.node}: its {p.residual.bits}-bit residual is added at its finer N-bit master")
    layer = _finish_layer(st, p, "act", ratios, out_scale)
    return QAct(layer.name, out_scale, bits, False, (layer.out_ch, *layer.out_hw))


def _finish_gap(st: _State, g: PendingGap, out_scale: float, bits: int) -> QAct:
    name = g.name
    c, h, w = g.inp.shape
    op = GlobalAvgPool(name, g.inp.tensor, c, (h, w))
    (m,), s = _ratio_to_m(st, f"pool {name}", [np.array([g.inp.scale / (h * w * out_scale)])])
    st.pools[name] = GapParams(int(m[0]), s)
    _emit(st, op, (c, 1, 1), out_scale)
    return QAct(name, out_scale, bits, False, (c, 1, 1))


def _finish_logits(st: _State, p: Pending, logit_scale: float | None, out: str) -> None:
    if p.residual is not None:
        raise UnsupportedGraph(f"{p.node}: a residual add into the classifier is not supported")
    if logit_scale is None:
        w = p.weight.reshape(len(p.weight), -1).astype(np.float64)
        a_hi = max(abs(v) for v in st.spec.code_range(p.inp.signed))
        worst = (np.abs(w).sum(axis=1) * a_hi + np.abs(np.round(p.eff_bias / p.eff_scale))) * p.eff_scale
        logit_scale = float(worst.max()) / st.spec.logit_range[1]
    _finish_layer(st, p, "logits", [p.eff_scale / logit_scale], logit_scale)
    st.values[out] = "logits"


HANDLERS = {"Conv": _conv, "Gemm": _gemm, "MatMul": _gemm, "BatchNormalization": _batchnorm, "Add": _add,
            "Relu": _relu, "MaxPool": _maxpool, "Flatten": _flatten, "Reshape": _flatten,
            "GlobalAveragePool": _gap}


def _constants(graph) -> dict[str, np.ndarray]:
    from onnx import numpy_helper
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            consts[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return consts


def _input_shape(graph, consts) -> tuple[str, tuple[int, int, int]]:
    inputs = [i for i in graph.input if i.name not in consts]
    if len(inputs) != 1:
        raise UnsupportedGraph(f"graph: expected one data input, got {[i.name for i in inputs]}")
    dims = inputs[0].type.tensor_type.shape.dim
    shape = tuple(d.dim_value for d in dims[1:])
    if len(dims) != 4 or any(v < 1 for v in shape):
        raise UnsupportedGraph(f"graph input {inputs[0].name}: shape must be (batch, C, H, W) with fixed C, H, W")
    return inputs[0].name, shape


def import_graph(onnx_model, spec: NestedSpec = DEFAULT_SPEC, name: str = "qonnx") -> ImportResult:
    """The golden model of an onnx ModelProto in the supported subset (module docstring)."""
    graph = onnx_model.graph
    st = _State(spec)
    st.consts = _constants(graph)
    st.uses = Counter(name for node in graph.node for name in node.input)
    input_name, st.shapes[INPUT] = _input_shape(graph, st.consts)
    for node in graph.node:
        if node.op_type == "Constant":
            continue
        if node.op_type in QUANT_OPS:
            _quant(st, node, {input_name})
        elif node.op_type in HANDLERS:
            HANDLERS[node.op_type](st, node)
        else:
            raise _fail(node, "op type is outside the supported subset (docs/qonnx.md)")
    if len(graph.output) != 1:
        raise UnsupportedGraph(f"graph: expected one output, got {[o.name for o in graph.output]}")
    final = st.values.get(graph.output[0].name)
    if isinstance(final, Pending) and final.kind == "linear":
        _finish_logits(st, final, None, graph.output[0].name)
    elif final != "logits":
        raise UnsupportedGraph(f"graph output {graph.output[0].name}: must be the classifier (Gemm / MatMul) "
                               f"output, got {type(final).__name__}")
    if st.input_quant is None:
        raise UnsupportedGraph(f"graph input {input_name}: must feed a Quant node (the image quantizer)")
    last = st.ops[-1]
    network = Network(name, st.shapes[INPUT], tuple(st.ops), INPUT, last.out_ch)
    st.scales[INPUT] = st.input_quant.scale / 2 ** (spec.n_bits - st.input_quant.bits)
    if st.other_rounding:
        st.notes.append(f"{len(st.other_rounding)} activation Quant nodes ({', '.join(st.other_rounding[:2])}"
                        f"{', ...' if len(st.other_rounding) > 2 else ''}) do not round half-up; the golden requant "
                        f"rounds half-up, FLOOR / CEIL after a -/+ half-step bias shift (they differ on exact ties "
                        f"and by the bias rounding)")
    model = NestedModel(network, spec, st.params, st.pools, st.scales, True, None)
    plan = Plan(f"implied by {name}", {layer.name: st.widths[layer.name] for layer in network.switchable_layers})
    return ImportResult(model, plan, st.input_quant, st.mappings, st.notes)


def import_qonnx(path, spec: NestedSpec = DEFAULT_SPEC) -> ImportResult:
    """Read the ONNX file at `path` (onnx.load, then the onnx checker) and import it (`import_graph`)."""
    import onnx
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"QONNX model {str(path)!r} does not exist")
    try:
        model = onnx.load(str(path))
    except Exception as e:  # onnx raises DecodeError / OSError on garbled files
        raise ValueError(f"QONNX model {path}: not a readable ONNX file ({type(e).__name__}: {e})") from e
    return import_graph(model, spec, path.stem)
