"""Integer execution of one op (docs/spec.md §1) on a batch, with a chosen kernel backend.

A conv / linear at widths (b_w, b_a), with k_w = N - b_w and k_a = N - b_a:
    1. acc   = Σ view_bw(W) · view_ba(A)                  exact; must fit ACC_BITS
    2. acc'  = acc << (k_w + k_a)                          back on the master scale; must fit ACC_BITS
    3. x     = acc' + bias[c]                              must fit ACC_BITS
    4. y     = requant(x, m[c], s, r, m_r[c]) clamped      (output_kind "act" / "logits")
       or y = x                                            (output_kind "wide": the residual term of a block)
One multiplier m[c] and one shift s serve every width: a width switch changes only the shift amounts of
steps 1-2 (the views and the align shift), never a multiplier. Every width check raises ArithmeticOverflow
naming the layer. Step 4 is computed in int64 and not checked per image: max|x|·m + max|r|·m_r + 2^(s-1)
< 2^63 always holds when ACC_BITS + M_BITS <= 62 (as for the defaults: |x|, |r| < 2^(ACC_BITS-1),
m, m_r < 2^M_BITS, 2^(s-1) <= 2^61), and otherwise golden/bounds.py proves it. `check_model` makes sure of it
once per model object, whatever built the model (a file, the synthetic exporter, train/, a hand-made one).

Tensors are int64 (B, C, H, W) master codes; a linear's input and output are (B, C, 1, 1).
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from .bounds import prove_bounds
from .ir import Conv, GlobalAvgPool, MaxPool
from .model import ConvParams, GapParams, NestedModel, validate_model
from .primitives import align_shift, check_range
from .spec import REQUANT_BITS, NestedSpec

INT64_MAX = NestedSpec.int_range(64, True)[1]
# ACC_BITS + M_BITS up to this, the requant sum cannot overflow: |x|·m + |r|·m_r + 2^(s-1)
# < 2·2^(ACC_BITS-1)·2^M_BITS + 2^(MAX_SHIFT-1) <= 2^(REQUANT_BITS-2) + 2^(REQUANT_BITS-3) < 2^(REQUANT_BITS-1)
SAFE_REQUANT_BITS = REQUANT_BITS - 2


BACKEND_NAMES = ("numba", "numpy")


def get_backend(name: str):
    """The kernel set of backend `name`: "numba" = golden.kernels.NUMBA_KERNELS, "numpy" = the plain
    numpy twins (the module golden.kernels_ref)."""
    if name == "numpy":
        from . import kernels_ref
        return kernels_ref
    if name == "numba":
        from .kernels import NUMBA_KERNELS
        return NUMBA_KERNELS
    raise ValueError(f"backend must be one of {BACKEND_NAMES}, got {name!r}")


@dataclass(frozen=True)
class OpOutput:
    """An op's output tensor and its clamp count: outputs whose requant value was saturated (above hi, or
    below lo for a signed range; a ReLU range's lower bound is the activation function, not a clamp)."""

    y: np.ndarray
    n_clamped: int = 0


def output_range(layer: Conv, spec: NestedSpec) -> tuple[int, int]:
    """Clamp range of a requantized layer: ReLU [0, 2^N-1] ("act") or signed logit_bits ("logits")."""
    return spec.logit_range if layer.output_kind == "logits" else spec.code_range(False)


_CHECKED_MODELS: weakref.WeakSet = weakref.WeakSet()


def check_model(model: NestedModel) -> None:
    """Once per model object (remembered by identity): validate_model, then, unless ACC_BITS + M_BITS <=
    SAFE_REQUANT_BITS (62) makes the int64 requant of step 4 safe by construction, golden.bounds.prove_bounds.
    Raises naming the layer (ValueError / TypeError, ArithmeticOverflow) before any image runs."""
    if model in _CHECKED_MODELS:
        return
    validate_model(model)
    if model.spec.acc_bits + model.spec.m_bits > SAFE_REQUANT_BITS:
        prove_bounds(model)
    _CHECKED_MODELS.add(model)


_WEIGHT_VIEWS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def weight_view(kernels, p: ConvParams, b_w: int, spec: NestedSpec) -> np.ndarray:
    """view_bw(W) of a layer's master weights, computed once per (params, b_w) and kept read-only in the
    weights' storage dtype (a view of an N-bit code fits it). Inference never changes weights, so a width
    switch costs one view per layer and width, and the kernels may keep their packed copy (golden/kernels.py
    packs read-only weights once)."""
    views = _WEIGHT_VIEWS.setdefault(p, {})
    if b_w not in views:
        v = kernels.view(p.weight, b_w, True, spec).astype(p.weight.dtype)
        v.flags.writeable = False
        views[b_w] = v
    return views[b_w]


def conv_acc(kernels, layer: Conv, p: ConvParams, x: np.ndarray, b_w: int, b_a: int, x_signed: bool,
             spec: NestedSpec) -> np.ndarray:
    """Step 1: acc = Σ view_bw(W)·view_ba(A) (checked by the caller, with steps 2-3). The kernels take A's
    view (x_view) in their packing pass, with view's master-code range check."""
    wv = weight_view(kernels, p, b_w, spec)
    x_view = (b_a, x_signed, spec)
    if layer.kind == "linear":
        return kernels.linear_acc(x.reshape(x.shape[0], -1), wv, x_view)[:, :, None, None]
    return kernels.conv2d_acc(x, wv, layer.stride, layer.padding, x_view)


def check_wide(layer: Conv, bounds, b_w: int, b_a: int, spec: NestedSpec) -> None:
    """Raise ArithmeticOverflow naming the layer unless acc, acc' and acc' + bias (their (min, max) in
    `bounds`, in that order) fit ACC_BITS."""
    lo, hi = spec.acc_range
    for what, seen in zip(("accumulator", "aligned accumulator acc'", "acc' + bias"), bounds):
        check_range(np.asarray(seen), lo, hi, f"layer {layer.name}: {what} (b_w={b_w}, b_a={b_a})")


def conv_wide(kernels, layer: Conv, p: ConvParams, x: np.ndarray, b_w: int, b_a: int, x_signed: bool,
              spec: NestedSpec) -> np.ndarray:
    """Steps 1-3: x = (Σ view_bw(W)·view_ba(A)) << ((N-b_w)+(N-b_a)) + bias, each checked to ACC_BITS."""
    acc = conv_acc(kernels, layer, p, x, b_w, b_a, x_signed, spec)
    wide, bounds = kernels.align_bias(acc, align_shift(b_w, b_a, spec), p.bias)
    check_wide(layer, bounds, b_w, b_a, spec)
    return wide


def run_conv(kernels, layer: Conv, p: ConvParams, x: np.ndarray, b_w: int, b_a: int, x_signed: bool,
             spec: NestedSpec, residual: np.ndarray | None = None) -> OpOutput:
    """One conv / linear (steps 1-4 above). `residual`: the block input (master codes) or the downsample's
    acc'+bias, fused into the requant as r with per-channel m_r. Steps 2-4 run as one kernel
    (kernels.conv_output), whose bounds are checked before its output is used."""
    if (residual is None) != (layer.residual is None):
        raise ValueError(f"layer {layer.name}: residual tensor {'missing' if residual is None else 'unexpected'}")
    if layer.output_kind == "wide":
        return OpOutput(conv_wide(kernels, layer, p, x, b_w, b_a, x_signed, spec))
    acc = conv_acc(kernels, layer, p, x, b_w, b_a, x_signed, spec)
    if residual is not None and residual.shape != acc.shape:
        raise ValueError(f"layer {layer.name}: residual shape {residual.shape} != output shape {acc.shape}")
    lo, hi = output_range(layer, spec)
    y, bounds, n_below, n_above = kernels.conv_output(acc, align_shift(b_w, b_a, spec), p.bias, p.m, p.shift,
                                                      lo, hi, residual, p.m_r)
    check_wide(layer, bounds, b_w, b_a, spec)
    # a ReLU range's lower bound is the activation function, not a saturation (see OpOutput)
    return OpOutput(y, n_above + (0 if layer.output_kind == "act" else n_below))


def run_maxpool(kernels, op: MaxPool, x: np.ndarray) -> OpOutput:
    return OpOutput(kernels.maxpool2d(x, op.kernel, op.stride, op.padding))


def run_gap(kernels, op: GlobalAvgPool, g: GapParams, x: np.ndarray, spec: NestedSpec) -> OpOutput:
    """y = clamp(u, 0, 2^N-1) with u = requant(Σ_{h,w} x, m, s); the sum must fit ACC_BITS. Clamped outputs
    (see OpOutput) are those with u > 2^N-1: the kernel's requant runs with the upper bound lifted so that they
    are counted apart from u < 0, then y = min(u, 2^N-1), the same y as one clamp."""
    total = kernels.gap_sum(x)
    check_range(total, *spec.acc_range, f"pool {op.name}: sum")
    lo, hi = spec.code_range(False)
    u, _ = kernels.requant(total, g.m, g.shift, lo, INT64_MAX)
    return OpOutput(np.minimum(u, hi)[:, :, None, None], int(np.count_nonzero(u > hi)))
