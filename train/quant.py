"""Differentiable nested fake-quantization in the code domain (docs/spec.md §1), PyTorch.

Every tensor is carried as its integer master codes (held in a float tensor) plus its float step Δ. Each
operation's forward value is the exact integer result; its backward is a straight-through estimator (STE).
The forward uses the pattern `exact.detach() + (surrogate - surrogate.detach())`, whose value is `exact`
bit for bit (x - x = 0 in IEEE arithmetic), so a float64 forward reproduces the integer model exactly
(integer-valued float64 sums stay exact below 2^53).

    master code       q = clamp(⌊x/Δ + 1/2⌋, lo, hi)                 (LSQ: Δ learned, as log Δ)
    view at width b   v = sat_b(⌊q / 2^(N−b) + 1/2⌋)                  (= (q + 2^(k−1)) >> k, half-up)
    multiplier        ratio ≈ m / 2^s, m = ⌊ratio·2^s + 1/2⌋ < 2^M_BITS, one s per layer
    requant           y = clamp(⌊x·m/2^s + r·m_r/2^s + 1/2⌋, lo, hi)
"""
from __future__ import annotations

import math

import numpy as np
import torch

from golden.spec import MAX_SHIFT, NestedSpec


def ste(exact: torch.Tensor, surrogate: torch.Tensor) -> torch.Tensor:
    """Forward value `exact` (bit for bit), gradient of `surrogate`."""
    return exact.detach() + (surrogate - surrogate.detach())


def round_half_up(x: torch.Tensor) -> torch.Tensor:
    """⌊x + 1/2⌋: ties toward +∞, the rounding of docs/spec.md §1 (torch.round would round ties to even)."""
    return torch.floor(x + 0.5)


class _QuantizeSTE(torch.autograd.Function):
    """clamp(⌊x + 1/2⌋, lo, hi) forward; backward passes the gradient where lo <= x <= hi, else 0."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
        ctx.save_for_backward((x >= lo) & (x <= hi))
        return torch.clamp(round_half_up(x), lo, hi)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (inside,) = ctx.saved_tensors
        return grad * inside, None, None


def quantize_ste(x: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
    """clamp(⌊x + 1/2⌋, lo, hi) with the clamped identity as gradient (zero outside [lo, hi])."""
    return _QuantizeSTE.apply(x, lo, hi)


def master_codes(x: torch.Tensor, step: torch.Tensor, signed: bool, spec: NestedSpec) -> torch.Tensor:
    """LSQ master codes q = clamp(⌊x/Δ + 1/2⌋) of float values x at step Δ (broadcast against x); the STE
    gradient reaches both x and Δ (LSQ, Esser et al. 2020)."""
    lo, hi = spec.code_range(signed)
    return quantize_ste(x / step, lo, hi)


def view_codes(q: torch.Tensor, bits: int, signed: bool, spec: NestedSpec) -> torch.Tensor:
    """Nested view of master codes q at width b, k = N − b: q if k = 0, else sat_b(⌊q/2^k + 1/2⌋).

    Equal to golden.primitives.view on integer q: ⌊(q + 2^(k−1)) / 2^k⌋ = (q + 2^(k−1)) >> k.
    Gradient: straight through the rounding, zero where the view saturates.
    """
    k = spec.n_bits - spec.check_width(bits, "bits")
    if k == 0:
        return q
    lo, hi = spec.code_range(signed, bits)
    return quantize_ste(q / (1 << k), lo, hi)


def quantize_multipliers(ratios: list[np.ndarray], spec: NestedSpec, where: str) -> tuple[list[np.ndarray], int]:
    """One shift s and per-channel multipliers m ≈ ratio · 2^s for every array of `ratios` (float64, ≥ 0).

        s = the largest shift in [0, MAX_SHIFT] with max_c ⌊ratio·2^s + 1/2⌋ ≤ 2^M_BITS − 1
        m = ⌊ratio · 2^s + 1/2⌋   (int64)

    All arrays share s (a layer's m and m_r, docs/spec.md §1). Raises ValueError naming `where` if even s = 0
    cannot hold the largest ratio.
    """
    ratios = [np.asarray(r, dtype=np.float64) for r in ratios]
    top = max(float(r.max()) for r in ratios)
    if not np.isfinite(top) or any(float(r.min()) < 0 for r in ratios):
        raise ValueError(f"{where}: multiplier ratios must be finite and >= 0, got max {top}")
    if top == 0:
        s = MAX_SHIFT
    else:
        s = min(MAX_SHIFT, max(0, math.floor(math.log2(spec.m_max / top)) + 1))  # the loop steps down
    while s > 0 and max(float(np.floor(r * 2.0 ** s + 0.5).max()) for r in ratios) > spec.m_max:
        s -= 1
    ms = [np.floor(r * 2.0 ** s + 0.5).astype(np.int64) for r in ratios]
    if max(int(m.max()) for m in ms) > spec.m_max:
        raise ValueError(f"{where}: multiplier ratio {top} needs more than m_bits={spec.m_bits} bits at s=0")
    return ms, s


def multiplier_ste(ratio: torch.Tensor, m: np.ndarray, s: int) -> torch.Tensor:
    """Forward m / 2^s exactly (the quantized multiplier), gradient of the float ratio."""
    exact = torch.as_tensor(m, dtype=ratio.dtype) / float(2 ** s)
    return ste(exact, ratio)
