"""`NestedModel`: a `Network` plus every integer parameter of docs/spec.md §1, float scales as metadata.

Integer parameters (what inference uses):
    conv / linear  weight master codes (signed N bits), bias int32, per-output-channel multiplier m,
                   one shift s per layer, per-output-channel residual multiplier m_r (layers with `residual`)
    global avg pool  one multiplier m and shift s
Float scales (metadata only; inference never reads them): Δ_w[c] per layer, Δ per activation tensor.

The controller (docs/spec.md §1) is itself a `NestedModel` over a small `Network` (see golden/controller.py),
so the same validation, file format and inference code serve both.

`validate_model` checks shapes, dtypes and ranges and raises ValueError/TypeError naming the layer and field;
golden/bounds.py proves the accumulator bounds.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .ir import INPUT, Conv, GlobalAvgPool, Network
from .spec import MAX_SHIFT, NestedSpec


def code_dtype(spec: NestedSpec) -> np.dtype:
    """Storage dtype of signed N-bit master weight codes: the smallest numpy signed int holding N bits."""
    return np.dtype(np.int8) if spec.n_bits <= 8 else np.dtype(np.int16)


BIAS_DTYPE = np.dtype(np.int32)
MULT_DTYPE = np.dtype(np.int64)  # holds 0 <= m < 2^M_BITS


@dataclass(frozen=True, eq=False)
class ConvParams:
    """Parameters of one conv / linear.

    weight        master codes, shape layer.weight_shape, dtype code_dtype(spec), in [-2^(N-1), 2^(N-1)-1]
    bias          int32 (out_ch,), at scale weight_scale[c]·Δ_input (master scales)
    m             int64 (out_ch,), 0 <= m[c] < 2^M_BITS; None for output_kind "wide" (no requant)
    shift         requant shift s, 0 <= s <= 62; None for output_kind "wide"
    m_r           int64 (out_ch,) residual multipliers when the layer has a `residual`, else None
    weight_scale  float64 (out_ch,), Δ_w[c] (metadata)
    """

    weight: np.ndarray
    bias: np.ndarray
    m: np.ndarray | None
    shift: int | None
    m_r: np.ndarray | None
    weight_scale: np.ndarray


@dataclass(frozen=True, eq=False)
class GapParams:
    """Global average pool requant: y = requant(Σ_{h,w} x, m, s), unsigned N-bit output."""

    m: int
    shift: int


@dataclass(frozen=True, eq=False)
class NestedModel:
    """A network with its integer parameters.

    layers        conv / linear name -> ConvParams (every layer of network.layers)
    pools         global-avg-pool name -> GapParams
    scales        tensor name -> per-tensor float scale Δ of every non-"wide" tensor, "input" included
                  (metadata; a "wide" tensor's scale is weight_scale[c]·Δ_input of its layer)
    input_signed  True for a backbone (signed image codes), False for the controller (its input is a
                  ReLU activation)
    controller    the controller model (its network's classes are L·K logits), or None
    """

    network: Network
    spec: NestedSpec
    layers: Mapping[str, ConvParams]
    pools: Mapping[str, GapParams]
    scales: Mapping[str, float]
    input_signed: bool = True
    controller: NestedModel | None = None

    def params(self, name: str) -> ConvParams:
        if name not in self.layers:
            raise KeyError(f"model {self.network.name} has no conv/linear layer {name!r}")
        return self.layers[name]

    def tensor_signed(self, tensor: str) -> bool:
        """Signedness of a tensor's master codes: only the backbone's input image is signed."""
        return tensor == INPUT and self.input_signed


def tensor_shape(network: Network, tensor: str) -> tuple[int, int, int]:
    """(C, H, W) of a named tensor of `network` (per image; linears give (C, 1, 1))."""
    if tensor == INPUT:
        return network.input_shape
    op = network.op(tensor)
    channels = op.out_ch if isinstance(op, Conv) else op.channels
    return (channels, *op.out_hw)


def _check_int_array(where: str, field: str, a, shape: tuple, dtype: np.dtype, lo: int, hi: int) -> None:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{where}: {field} must be a numpy array, got {type(a).__name__}")
    if a.dtype != dtype:
        raise TypeError(f"{where}: {field} must have dtype {dtype}, got {a.dtype}")
    if a.shape != tuple(shape):
        raise ValueError(f"{where}: {field} must have shape {tuple(shape)}, got {a.shape}")
    if a.size and (int(a.min()) < lo or int(a.max()) > hi):
        bad = int(a.min()) if int(a.min()) < lo else int(a.max())
        raise ValueError(f"{where}: {field} value {bad} outside [{lo}, {hi}]")


def _check_shift(where: str, s) -> None:
    if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or not 0 <= s <= MAX_SHIFT:
        raise ValueError(f"{where}: shift must be an int in [0, {MAX_SHIFT}], got {s!r}")


def _check_scale(where: str, field: str, v) -> None:
    if isinstance(v, bool) or not isinstance(v, (float, int, np.floating)) or not np.isfinite(v) or v <= 0:
        raise ValueError(f"{where}: {field} must be a finite float > 0, got {v!r}")


def validate_layer(layer: Conv, p: ConvParams, spec: NestedSpec) -> None:
    """Shapes, dtypes and ranges of one layer's parameters; raises naming the layer and the field."""
    where = f"layer {layer.name}"
    if not isinstance(p, ConvParams):
        raise TypeError(f"{where}: parameters must be ConvParams, got {type(p).__name__}")
    _check_int_array(where, "weight", p.weight, layer.weight_shape, code_dtype(spec), *spec.code_range(True))
    _check_int_array(where, "bias", p.bias, (layer.out_ch,), BIAS_DTYPE, *spec.int_range(32, True))
    wide = layer.output_kind == "wide"
    for field, present in (("m", not wide), ("shift", not wide), ("m_r", layer.residual is not None)):
        value = getattr(p, field)
        if present and value is None:
            raise ValueError(f"{where}: {field} is required (output_kind={layer.output_kind}, "
                             f"residual={layer.residual})")
        if not present and value is not None:
            raise ValueError(f"{where}: {field} must be absent (output_kind={layer.output_kind}, "
                             f"residual={layer.residual})")
    for field in ("m", "m_r"):
        if getattr(p, field) is not None:
            _check_int_array(where, field, getattr(p, field), (layer.out_ch,), MULT_DTYPE, 0, spec.m_max)
    if p.shift is not None:
        _check_shift(where, p.shift)
    if not isinstance(p.weight_scale, np.ndarray) or p.weight_scale.dtype != np.float64 \
            or p.weight_scale.shape != (layer.out_ch,):
        raise ValueError(f"{where}: weight_scale must be float64 of shape ({layer.out_ch},)")
    for v in p.weight_scale:
        _check_scale(where, "weight_scale", float(v))


def validate_model(model: NestedModel) -> None:
    """Structural validation of a whole model (and its controller): every layer, pool and scale present,
    shapes, dtypes and ranges right. Raises ValueError/TypeError naming the layer and the field."""
    net, spec = model.network, model.spec
    if not isinstance(spec, NestedSpec):
        raise TypeError(f"model {net.name}: spec must be a NestedSpec, got {type(spec).__name__}")
    names = {layer.name for layer in net.layers}
    extra = set(model.layers) - names
    if extra:
        raise ValueError(f"model {net.name}: parameters for unknown layers {sorted(extra)}")
    for layer in net.layers:
        if layer.name not in model.layers:
            raise ValueError(f"layer {layer.name}: parameters missing")
        validate_layer(layer, model.layers[layer.name], spec)
    gaps = {op.name for op in net.ops if isinstance(op, GlobalAvgPool)}
    if set(model.pools) != gaps:
        raise ValueError(f"model {net.name}: pool parameters {sorted(model.pools)} != pools {sorted(gaps)}")
    for name, g in model.pools.items():
        where = f"pool {name}"
        if isinstance(g.m, bool) or not isinstance(g.m, (int, np.integer)) or not 0 <= g.m <= spec.m_max:
            raise ValueError(f"{where}: m must be an int in [0, {spec.m_max}], got {g.m!r}")
        _check_shift(where, g.shift)
    wanted = {INPUT} | {op.name for op in net.ops if getattr(op, "output_kind", "act") != "wide"}
    if set(model.scales) != wanted:
        missing, extra = sorted(wanted - set(model.scales)), sorted(set(model.scales) - wanted)
        raise ValueError(f"model {net.name}: scales missing for {missing}, unexpected for {extra}")
    for name, v in model.scales.items():
        _check_scale(f"tensor {name}", "scale", v)
    if model.controller is not None:
        c = model.controller
        if c.network.input_shape != tensor_shape(net, net.controller_input):
            raise ValueError(f"controller: input shape {c.network.input_shape} != shape "
                             f"{tensor_shape(net, net.controller_input)} of tensor {net.controller_input}")
        if c.spec != spec:
            raise ValueError(f"controller: spec {c.spec} differs from the backbone's {spec}")
        expect = len(net.switchable_layers) * len(spec.candidates)
        if c.network.num_classes != expect:
            raise ValueError(f"controller: {c.network.num_classes} logits, expected L·K = {expect}")
        try:
            validate_model(c)
        except (TypeError, ValueError) as e:
            raise type(e)(f"controller: {e}") from e
