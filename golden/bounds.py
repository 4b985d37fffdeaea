"""Worst-case proofs of the accumulator and requant widths of DESIGN.md §1, from a model's actual weights.

For a layer with weight views w = view_bw(W) and input views a ∈ [a_lo, a_hi] (the view range of its input
tensor at width b_a; a_lo <= 0 <= a_hi), per output channel c, with P[c] = Σ_k max(w[c,k], 0) and
Q[c] = Σ_k min(w[c,k], 0):

    acc  ∈ [P·a_lo + Q·a_hi,  P·a_hi + Q·a_lo]         (tight: each term takes its extreme independently)
    acc' = acc · 2^((N-b_w)+(N-b_a)),   x = acc' + bias[c]
    acc, acc' and x must lie in the signed ACC_BITS range, for every width pair the layer can run at
    (all 2 <= b_w, b_a <= N for a switchable layer, (N, N) otherwise), and the requant's 64-bit sum
        max|x|·m[c] + max|r|·m_r[c] + 2^(s-1)  <  2^63
    where r is the residual tensor: a master activation, or a downsample's x (bounded the same way).
Global average pool: H·W·(2^N-1) must fit ACC_BITS and H·W·(2^N-1)·m + 2^(s-1) < 2^63.

Every tensor a layer reads is the network input or an N-bit activation: golden.ir refuses "wide" tensors
anywhere but as a residual and "logits" anywhere but the last op, so these ranges cover every placement.

`prove_bounds` raises ArithmeticOverflow (a ValueError) naming the layer, the quantity and the widths.
"""
from __future__ import annotations

import numpy as np

from .ir import Conv, GlobalAvgPool
from .model import NestedModel
from .primitives import ArithmeticOverflow, align_shift, view
from .spec import REQUANT_BITS, NestedSpec

REQUANT_MAX = (1 << (REQUANT_BITS - 1)) - 1


def _width_pairs(layer: Conv, spec: NestedSpec) -> list[tuple[int, int]]:
    widths = range(2, spec.n_bits + 1) if layer.switchable else [spec.n_bits]
    return [(b_w, b_a) for b_w in widths for b_a in widths]


def _check(where: str, what: str, lo: int, hi: int, bound_lo: int, bound_hi: int, widths) -> None:
    if bound_lo < lo or bound_hi > hi:
        raise ArithmeticOverflow(f"{where}: worst-case {what} range [{bound_lo}, {bound_hi}] at "
                                 f"(b_w, b_a)={widths} exceeds [{lo}, {hi}]")


def layer_x_bounds(model: NestedModel, layer: Conv) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel worst-case [lo, hi] of x = acc' + bias over every width pair of the layer, after checking
    acc, acc' and x against ACC_BITS. Python-int object arrays (exact)."""
    spec, p = model.spec, model.params(layer.name)
    lo, hi = spec.acc_range
    signed = model.tensor_signed(layer.input)
    x_lo = np.full(layer.out_ch, 0, dtype=object)
    x_hi = np.full(layer.out_ch, 0, dtype=object)
    sums = {}
    for b_w, b_a in _width_pairs(layer, spec):
        if b_w not in sums:
            w = view(p.weight, b_w, True, spec).reshape(layer.out_ch, -1)
            sums[b_w] = (np.maximum(w, 0).sum(axis=1).astype(object), np.minimum(w, 0).sum(axis=1).astype(object))
        pos, neg = sums[b_w]
        a_lo, a_hi = spec.code_range(signed, b_a)
        acc_lo, acc_hi = pos * a_lo + neg * a_hi, pos * a_hi + neg * a_lo
        _check(f"layer {layer.name}", "accumulator", lo, hi, min(acc_lo), max(acc_hi), (b_w, b_a))
        scale = 1 << align_shift(b_w, b_a, spec)
        _check(f"layer {layer.name}", "acc'", lo, hi, min(acc_lo) * scale, max(acc_hi) * scale, (b_w, b_a))
        bias = p.bias.astype(object)
        cur_lo, cur_hi = acc_lo * scale + bias, acc_hi * scale + bias
        _check(f"layer {layer.name}", "acc' + bias", lo, hi, min(cur_lo), max(cur_hi), (b_w, b_a))
        x_lo, x_hi = np.minimum(x_lo, cur_lo), np.maximum(x_hi, cur_hi)
    return x_lo, x_hi


def prove_bounds(model: NestedModel) -> None:
    """Prove every width of the module docstring for `model` and its controller; raise naming the layer."""
    spec, net = model.spec, model.network
    x_abs = {}
    for layer in net.layers:
        x_lo, x_hi = layer_x_bounds(model, layer)
        x_abs[layer.name] = np.maximum(-x_lo, x_hi)
        if layer.output_kind == "wide":
            continue
        p = model.params(layer.name)
        total = x_abs[layer.name] * p.m.astype(object) + ((1 << (p.shift - 1)) if p.shift else 0)
        if layer.residual is not None:
            r_src = net.op(layer.residual) if layer.residual in x_abs else None
            r_abs = x_abs[layer.residual] if r_src is not None and r_src.output_kind == "wide" \
                else max(abs(v) for v in spec.code_range(model.tensor_signed(layer.residual)))
            total = total + r_abs * p.m_r.astype(object)
        if max(total) > REQUANT_MAX:
            raise ArithmeticOverflow(f"layer {layer.name}: worst-case requant sum {max(total)} exceeds "
                                     f"{REQUANT_BITS}-bit range (max {REQUANT_MAX})")
    for op in net.ops:
        if isinstance(op, GlobalAvgPool):
            g = model.pools[op.name]
            s_max = op.in_hw[0] * op.in_hw[1] * spec.code_range(False)[1]
            _check(f"pool {op.name}", "sum", *spec.acc_range, 0, s_max, (spec.n_bits, spec.n_bits))
            if s_max * g.m + ((1 << (g.shift - 1)) if g.shift else 0) > REQUANT_MAX:
                raise ArithmeticOverflow(f"pool {op.name}: worst-case requant sum exceeds {REQUANT_BITS} bits")
    if model.controller is not None:
        try:
            prove_bounds(model.controller)
        except ArithmeticOverflow as e:
            raise ArithmeticOverflow(f"controller: {e}") from e
