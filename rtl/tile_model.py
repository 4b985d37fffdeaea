"""Golden expectation of one DqtTop tile, built only from golden.primitives (view, align_shift, requant)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from golden.primitives import align_shift, requant, view
from golden.spec import NestedSpec

from .params import OUT_MODES


@dataclass(frozen=True)
class TileJob:
    """One tile's operands and configuration (master codes; shapes W (R, K), A (K, C), resid (R, C))."""

    weights: np.ndarray
    acts: np.ndarray
    bias: np.ndarray
    m: np.ndarray
    m_r: np.ndarray
    resid: np.ndarray
    b_w: int
    b_a: int
    mode: str = "relu"
    s: int = 0
    res_en: bool = False
    a_signed: bool = False


def tile_reference(job: TileJob, spec: NestedSpec, out_range: tuple[int, int] | None) -> np.ndarray:
    """Y[i, j] = requant((Σ_k view(W)[i,k]·view(A)[k,j]) << align + bias[i], m[i], s, r[i,j], m_r[i]) clamped to
    `out_range`; for mode "wide" (out_range None) Y = acc' + bias."""
    acc = view(job.weights, job.b_w, True, spec) @ view(job.acts, job.b_a, job.a_signed, spec)
    x = (acc << align_shift(job.b_w, job.b_a, spec)) + job.bias[:, None].astype(np.int64)
    if job.mode == "wide":
        return x
    r = job.resid if job.res_en else np.zeros_like(job.resid)
    m_r = job.m_r[:, None].astype(np.int64) if job.res_en else 0
    t = x * job.m[:, None].astype(np.int64) + r.astype(np.int64) * m_r
    return requant(t, 1, job.s, *out_range)


def mode_code(mode: str) -> int:
    if mode not in OUT_MODES:
        raise ValueError(f"mode must be one of {', '.join(OUT_MODES)}, got {mode!r}")
    return OUT_MODES[mode]
