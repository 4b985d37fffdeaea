"""Calibration helpers: float scales -> integer multipliers and shifts, output scales from percentiles.

These run at export time only (floats are allowed here; inference never sees a float).
"""
from __future__ import annotations

import math

import numpy as np

from .spec import MAX_SHIFT, NestedSpec

CLAMP_QUANTILE = 0.999  # output scale puts this quantile of the real pre-activations at the top code
LOGIT_HEADROOM = 8  # signed (logit) outputs: the quantile maps to top / LOGIT_HEADROOM (16-bit logits keep
                    # 4096 levels below it and rarely saturate on images unlike the calibration ones)


def multipliers(ratios: list[np.ndarray], spec: NestedSpec) -> tuple[list[np.ndarray], int]:
    """Integer m = round(ratio · 2^s) for real ratios > 0 with one shared shift s, so m / 2^s ≈ ratio.

    s is the largest shift in [0, MAX_SHIFT] with every m <= 2^M_BITS - 1 (most precision); then, while
    every m is even and s > 0, m /= 2 and s -= 1 (the same integer results: (x·2m' + 2^s') >> (s'+1)
    = (x·m' + 2^(s'-1)) >> s'), so an exact power of two becomes m = 1 (e.g. a 1/64 mean: m = 1, s = 6).
    """
    arrays = [np.atleast_1d(np.asarray(r, dtype=np.float64)) for r in ratios]
    r_max = max(float(a.max()) for a in arrays)
    if not all(np.all(np.isfinite(a)) and np.all(a > 0) for a in arrays):
        raise ValueError(f"multiplier ratios must be finite and > 0, got max {r_max}")
    s = min(MAX_SHIFT, math.floor(math.log2(spec.m_max / r_max)))
    while s >= 0 and round(r_max * 2.0 ** s) > spec.m_max:
        s -= 1
    if s < 0:
        raise ValueError(f"multiplier ratio {r_max} needs m > {spec.m_max} even at shift 0")
    ms = [np.round(a * 2.0 ** s).astype(np.int64) for a in arrays]
    while s > 0 and all(np.all(m % 2 == 0) for m in ms):
        ms, s = [m // 2 for m in ms], s - 1
    return ms, s


def relu_output_scale(pre: np.ndarray, spec: NestedSpec, layer: str) -> float:
    """Δ_out for a ReLU output: the CLAMP_QUANTILE quantile of the real pre-activations maps to 2^N - 1.
    (Falls back to the maximum when most values are negative; raises when no value is positive.)"""
    top = float(np.quantile(pre, CLAMP_QUANTILE))
    if top <= 0:
        top = float(pre.max())
    if top <= 0:
        raise ValueError(f"layer {layer}: every calibration pre-activation is <= 0 (the layer would be all zero)")
    return top / spec.code_range(False)[1]


def signed_output_scale(pre: np.ndarray, hi: int) -> float:
    """Δ_out for a signed output with top code `hi`: the CLAMP_QUANTILE quantile of |pre| maps to
    hi / LOGIT_HEADROOM."""
    top = float(np.quantile(np.abs(pre), CLAMP_QUANTILE))
    return (top if top > 0 else 1.0) * LOGIT_HEADROOM / hi
