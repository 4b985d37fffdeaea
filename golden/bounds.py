"""Worst-case proofs of the accumulator and requant widths of docs/spec.md §1, from a model's actual weights.

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


def _weight_sums(w: np.ndarray, widths, spec: NestedSpec) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """{b_w: (P, Q)} with P[c] = Σ_k max(view_bw(w)[c, k], 0), Q[c] = Σ_k min(view_bw(w)[c, k], 0), int64.
    Computed from one histogram of the master codes per channel, H[c, q] = #{k : w[c, k] = q}, as
    P = H · max(view_bw(q), 0) over the 2^N codes q (one pass over w for all widths); codes outside the master
    range go through view itself, which raises naming them."""
    code_lo, code_hi = spec.code_range(True)
    levels = code_hi - code_lo + 1
    if w.size == 0 or w.min() < code_lo or w.max() > code_hi:
        return {b: (np.maximum(v, 0).sum(axis=1), np.minimum(v, 0).sum(axis=1))
                for b, v in ((b, view(w, b, True, spec)) for b in widths)}
    index = np.arange(w.shape[0], dtype=np.int64)[:, None] * levels + (w.astype(np.int64) - code_lo)
    hist = np.bincount(index.ravel(), minlength=w.shape[0] * levels).reshape(w.shape[0], levels)
    codes = np.arange(code_lo, code_hi + 1, dtype=np.int64)
    return {b: (hist @ np.maximum(v, 0), hist @ np.minimum(v, 0))
            for b, v in ((b, view(codes, b, True, spec)) for b in widths)}


def layer_x_bounds(model: NestedModel, layer: Conv) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel worst-case [lo, hi] of x = acc' + bias over every width pair of the layer, after checking
    acc, acc' and x against ACC_BITS. Python-int object arrays (exact); computed in int64 when the largest
    magnitude, Σ_k |w[c,k]| · max|a| · 2^(align shift) + max|bias|, stays below 2^62 (then no int64 step
    can overflow), else in Python ints."""
    spec, p = model.spec, model.params(layer.name)
    lo, hi = spec.acc_range
    signed = model.tensor_signed(layer.input)
    pairs = _width_pairs(layer, spec)
    sums = _weight_sums(p.weight.reshape(layer.out_ch, -1), sorted({b_w for b_w, _ in pairs}), spec)
    bias = p.bias.astype(np.int64)
    worst = max(int((pos - neg).max()) for pos, neg in sums.values()) * \
        max(max(abs(a) for a in spec.code_range(signed, b_a)) << align_shift(b_w, b_a, spec) for b_w, b_a in pairs) \
        + int(np.abs(bias).max(initial=0))
    dtype = np.int64 if worst < 1 << 62 else object
    bias = bias.astype(dtype)
    x_lo = np.zeros(layer.out_ch, dtype=dtype)
    x_hi = np.zeros(layer.out_ch, dtype=dtype)
    for b_w, b_a in pairs:
        pos, neg = (total.astype(dtype) for total in sums[b_w])
        a_lo, a_hi = spec.code_range(signed, b_a)
        acc_lo, acc_hi = pos * a_lo + neg * a_hi, pos * a_hi + neg * a_lo
        _check(f"layer {layer.name}", "accumulator", lo, hi, int(acc_lo.min()), int(acc_hi.max()), (b_w, b_a))
        scale = 1 << align_shift(b_w, b_a, spec)
        _check(f"layer {layer.name}", "acc'", lo, hi, int(acc_lo.min()) * scale, int(acc_hi.max()) * scale,
               (b_w, b_a))
        cur_lo, cur_hi = acc_lo * scale + bias, acc_hi * scale + bias
        _check(f"layer {layer.name}", "acc' + bias", lo, hi, int(cur_lo.min()), int(cur_hi.max()), (b_w, b_a))
        x_lo, x_hi = np.minimum(x_lo, cur_lo), np.maximum(x_hi, cur_hi)
    return x_lo.astype(object), x_hi.astype(object)


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
