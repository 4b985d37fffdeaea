"""The named primitives of docs/spec.md §1 on numpy integer arrays: view, align, requant, range checks.

These are the reference definitions. Numba kernels elsewhere in golden/ inline the same formulas and are
tested against these with exact equality. All arithmetic is int64; nothing is ever converted to float.
"""
from __future__ import annotations

import numpy as np

from .spec import MAX_SHIFT, NestedSpec


class ArithmeticOverflow(ValueError):
    """A value exceeded a width stated by docs/spec.md §1 (a bug in the model exporter, never wrapped)."""


def _integer_array(what: str, a) -> np.ndarray:
    """`a` as an integer ndarray; TypeError naming `what` otherwise (a float would be truncated silently)."""
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{what} must be integers, got dtype {a.dtype}")
    return a


def view(q: np.ndarray, bits: int, signed: bool, spec: NestedSpec) -> np.ndarray:
    """Nested slice of master codes `q` (width N) at width b = `bits`, with k = N - b.

        k = 0:  view(q) = q
        k > 0:  view(q) = sat_{b,signed}((q + 2^(k-1)) >> k)   =   (q >> k) + bit_{k-1}(q), saturated

    `>>` floors (arithmetic shift), so rounding is half-up (ties toward +inf); saturation clips to
    [-2^(b-1), 2^(b-1)-1] (signed) or [0, 2^b-1] (unsigned). Always taken from the master code.
    Example, N=8, b=4, signed: -8 -> 0, 8 -> 1, 7 -> 0, -9 -> -1, 127 -> 7, -128 -> -8.
    """
    spec.check_width(bits, "bits")
    q = _integer_array("master codes q", q)
    check_range(q, *spec.code_range(signed), what="master code")
    k = spec.n_bits - bits
    q64 = q.astype(np.int64)
    if k == 0:
        return q64
    lo, hi = spec.code_range(signed, bits)
    return np.clip((q64 + (1 << (k - 1))) >> k, lo, hi)


def align_shift(b_w: int, b_a: int, spec: NestedSpec) -> int:
    """Align shift that puts a view-domain sum back on the master scale: (N - b_w) + (N - b_a)."""
    return (spec.n_bits - spec.check_width(b_w, "b_w")) + (spec.n_bits - spec.check_width(b_a, "b_a"))


def requant(x: np.ndarray, m, s: int, lo: int, hi: int, r: np.ndarray | int = 0, m_r: int = 0) -> np.ndarray:
    """requant(x, m, s, r, m_r) = clamp((x*m + r*m_r + 2^(s-1)) >> s, lo, hi), in int64.

    One rounding, half-up (ties toward +inf); the rounding term 2^(s-1) is 0 when s = 0.
    `m` is a scalar or an array broadcasting against `x` (per-output-channel multipliers).
    Example, m=1, s=1: 5 -> 3, -5 -> -2, 6 -> 3.
    """
    if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or not 0 <= int(s) <= MAX_SHIFT:
        raise ValueError(f"requant shift s must be an int in [0, {MAX_SHIFT}], got {s!r}")
    s = int(s)
    rnd = (1 << (s - 1)) if s > 0 else 0
    t = _integer_array("requant x", x).astype(np.int64) * _integer_array("requant m", m).astype(np.int64)
    t = t + _integer_array("requant r", r).astype(np.int64) * np.int64(m_r) + np.int64(rnd)
    return np.clip(t >> s, lo, hi)


def check_range(x: np.ndarray, lo: int, hi: int, what: str) -> None:
    """Raise ArithmeticOverflow naming `what` unless every element of x lies in [lo, hi]."""
    x = np.asarray(x)
    if x.size == 0:
        return
    xmin, xmax = int(x.min()), int(x.max())
    if xmin < lo or xmax > hi:
        bad = xmin if xmin < lo else xmax
        raise ArithmeticOverflow(f"{what}: value {bad} outside [{lo}, {hi}]")
