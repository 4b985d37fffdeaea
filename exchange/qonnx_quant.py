"""QONNX `Quant` / `IntQuant` semantics in numpy: integer ranges, the eight rounding modes, integer codes.

A numpy twin of qonnx.custom_op.general.intquant (qonnx 1.0.0) for zero point 0, so the importer reads
weights and input images exactly as qonnx's executor quantizes them (tests compare the two bit for bit):

    codes = round_mode(clamp(x / scale, lo, hi))          (clamp first, then round; zero point 0)
    signed:   lo = -2^(b-1) (+1 if narrow),  hi = 2^(b-1) - 1
    unsigned: lo = 0,                        hi = 2^b - 1 (-1 if narrow)

Rounding modes (names as QONNX's `rounding_mode` attribute, case-insensitive):
    ROUND, HALF_EVEN   ties to even (np.round)          CEIL   toward +inf       FLOOR  toward -inf
    UP                 away from zero                    DOWN   toward zero
    HALF_UP            ties away from zero               HALF_DOWN  ties toward zero
The golden model's own rounding (docs/spec.md §1) is half-up toward +inf, ⌊x + 1/2⌋; on non-negative values
it equals HALF_UP, and on any value it equals FLOOR applied to x + 1/2.
"""
from __future__ import annotations

import numpy as np

ROUNDING_MODES = ("ROUND", "HALF_EVEN", "CEIL", "FLOOR", "UP", "DOWN", "HALF_UP", "HALF_DOWN")


def int_bounds(bits: int, signed: bool, narrow: bool) -> tuple[int, int]:
    """[lo, hi] of a QONNX integer: signed [-2^(b-1) + narrow, 2^(b-1) - 1], unsigned [0, 2^b - 1 - narrow]."""
    if signed:
        return -(1 << (bits - 1)) + int(narrow), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1 - int(narrow)


def qonnx_round(x: np.ndarray, mode: str) -> np.ndarray:
    """Round x with a QONNX rounding mode (module docstring); ValueError naming an unknown mode."""
    mode = mode.upper()
    if mode in ("ROUND", "HALF_EVEN"):
        return np.round(x)
    if mode == "CEIL":
        return np.ceil(x)
    if mode == "FLOOR":
        return np.floor(x)
    if mode == "UP":
        return np.sign(x) * np.ceil(np.abs(x))
    if mode == "DOWN":
        return np.fix(x)
    if mode == "HALF_UP":
        return np.sign(x) * np.floor(np.abs(x) + 0.5)
    if mode == "HALF_DOWN":
        return np.sign(x) * np.ceil(np.abs(x) - 0.5)
    raise ValueError(f"rounding_mode must be one of {ROUNDING_MODES}, got {mode!r}")


def quant_codes(x: np.ndarray, scale: np.ndarray, bits: int, signed: bool, narrow: bool, mode: str) -> np.ndarray:
    """Integer codes of QONNX Quant with zero point 0: round_mode(clamp(x / scale, lo, hi)), as int64.

    The division runs in the dtype of x and scale (float32 for ONNX initializers), as in qonnx's executor."""
    lo, hi = int_bounds(bits, signed, narrow)
    y = np.clip(np.asarray(x) / np.asarray(scale), lo, hi)
    return qonnx_round(y, mode).astype(np.int64)
