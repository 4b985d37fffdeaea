"""Stimulus generators: random vectors with log-uniform magnitudes plus named corner cases.

Every generator takes a numpy Generator and the NestedSpec, and only produces inputs inside the contract
(docs/spec.md §1): acc << align and acc' + bias fit ACC_BITS, m and m_r fit M_BITS, 0 <= s <= 62.
"""
from __future__ import annotations

import numpy as np

from golden.primitives import align_shift
from golden.spec import MAX_SHIFT, NestedSpec
from rtl.params import OUT_MODES, out_mode_range

from .tb.output_unit import OutputVector
from .tile_job import TileConfig, TileJob, tile_acc

MODES = tuple(OUT_MODES)


def log_uniform(rng: np.random.Generator, max_bits: int, signed: bool = True) -> int:
    """An integer whose magnitude has a uniformly chosen bit length in [0, max_bits]."""
    bits = int(rng.integers(0, max_bits + 1))
    mag = int(rng.integers(0, 1 << bits)) if bits else 0
    return -mag if signed and rng.random() < 0.5 else mag


def _fits(value: int, bits: int) -> bool:
    lo, hi = NestedSpec.int_range(bits, True)
    return lo <= value <= hi


def _shift_for(t: int, mode: str, spec: NestedSpec, rng: np.random.Generator) -> int:
    """A shift that brings |t| near the mode's output range (so results are neither all 0 nor all clamped)."""
    rng_ = out_mode_range(mode, spec)
    out_bits = spec.n_bits if rng_ is None else max(1, rng_[1].bit_length())
    return int(np.clip(abs(t).bit_length() - out_bits + int(rng.integers(-3, 4)), 0, MAX_SHIFT))


def random_output_vector(rng: np.random.Generator, spec: NestedSpec, mode: str | None = None,
                         res_en: bool | None = None) -> OutputVector:
    n, acc_bits = spec.n_bits, spec.acc_bits
    b_w, b_a = (int(b) for b in rng.integers(2, n + 1, size=2))
    align = align_shift(b_w, b_a, spec)
    acc = log_uniform(rng, acc_bits - 1 - align)
    bias = log_uniform(rng, acc_bits - 2)
    if not _fits((acc << align) + bias, acc_bits):
        bias = 0
    mode = mode or MODES[int(rng.integers(len(MODES)))]
    res_en = bool(rng.random() < 0.5) if res_en is None else res_en
    m, m_r = log_uniform(rng, spec.m_bits, False), log_uniform(rng, spec.m_bits, False)
    r = log_uniform(rng, acc_bits - 1) if rng.random() < 0.5 else int(rng.integers(0, 1 << n))
    t = ((acc << align) + bias) * m + (r * m_r if res_en else 0)
    s = int(rng.integers(0, MAX_SHIFT + 1)) if rng.random() < 0.1 else _shift_for(t, mode, spec, rng)
    return OutputVector(acc, b_w, b_a, bias, m, s, r, m_r, res_en, mode)


def corner_output_vectors(rng: np.random.Generator, spec: NestedSpec) -> list[OutputVector]:
    """Ties (±, with and without residual), saturation at both ends, s = 0 / 62, m = 0 / max, every mode."""
    n, acc_bits, m_max = spec.n_bits, spec.acc_bits, spec.m_max
    acc_lo, acc_hi = spec.acc_range
    out: list[OutputVector] = []
    for mode in MODES:
        for res_en in (False, True):
            for s in range(1, 24):  # exact ties x·m + r·m_r = j·2^s + 2^(s-1), both signs
                for j in (-3, -1, 0, 1, 2):
                    t = j * (1 << s) + (1 << (s - 1))
                    if not _fits(t, acc_bits):
                        continue
                    if res_en:  # split the tie between the conv term and the residual term
                        x = t // 2
                        out.append(OutputVector(x, n, n, 0, 1, s, t - x, 1, True, mode))
                    else:
                        out.append(OutputVector(t, n, n, 0, 1, s, int(rng.integers(-99, 99)), 7, False, mode))
            lo_hi = out_mode_range(mode, spec) or spec.acc_range
            for target in (lo_hi[0] - 1, lo_hi[0], lo_hi[1], lo_hi[1] + 1, acc_lo, acc_hi):  # around the clamp
                out.append(OutputVector(int(np.clip(target, acc_lo, acc_hi)), n, n, 0, 1, 0, 5, 3, res_en, mode))
            for acc, m, s in ((acc_hi, m_max, 0), (acc_lo, m_max, 0), (acc_lo, m_max, MAX_SHIFT),
                              (acc_hi, m_max, MAX_SHIFT), (acc_hi, 0, 3), (acc_lo, 1, acc_bits - 1)):
                out.append(OutputVector(acc, n, n, 0, m, s, acc_lo if res_en else acc_hi, m_max, res_en, mode))
            for b in range(2, n + 1):  # largest acc each align allows, with a bias pushing to the edge
                align = align_shift(b, b, spec)
                a_max = (1 << (acc_bits - 1 - align)) - 1
                out.append(OutputVector(a_max, b, b, acc_hi - (a_max << align), 1, align, 1, 1, res_en, mode))
                out.append(OutputVector(-a_max - 1, b, b, 0, 1, align, -1, 1, res_en, mode))
    return out


def pe_operand(rng: np.random.Generator, spec: NestedSpec) -> tuple[int, bool]:
    """(bits, signed) of a random view: width 2..N, signed or unsigned."""
    return int(rng.integers(2, spec.n_bits + 1)), bool(rng.random() < 0.5)


def random_codes(rng: np.random.Generator, shape, signed: bool, spec: NestedSpec) -> np.ndarray:
    """Uniform master codes of a signed or unsigned N-bit tensor."""
    lo, hi = spec.code_range(signed)
    return rng.integers(lo, hi + 1, size=shape, dtype=np.int64)


def random_tile_params(rng: np.random.Generator, acc_aligned: np.ndarray, mode: str, res_en: bool,
                       spec: NestedSpec) -> dict:
    """Per-filter bias, m, m_r, a residual tile and a shift s that spreads the results over the mode's range.

    acc_aligned: (R, C) acc << align of the tile (the golden value), used only to choose s.
    """
    rows, cols = acc_aligned.shape
    bias = np.array([log_uniform(rng, spec.acc_bits - 12) for _ in range(rows)], dtype=np.int64)
    m = rng.integers(1, spec.m_max + 1, size=rows, dtype=np.int64)
    m_r = rng.integers(0, spec.m_max + 1, size=rows, dtype=np.int64)
    if rng.random() < 0.5:
        resid = random_codes(rng, (rows, cols), False, spec)  # identity shortcut: an N-bit activation
    else:
        resid = np.array([[log_uniform(rng, spec.acc_bits - 8) for _ in range(cols)] for _ in range(rows)], dtype=np.int64)
    t = (acc_aligned + bias[:, None]) * m[:, None] + (resid * m_r[:, None] if res_en else 0)
    s = _shift_for(int(np.abs(t).max()), mode, spec, rng)
    return {"bias": bias, "m": m, "m_r": m_r, "resid": resid, "s": s}


def random_tile_job(rng: np.random.Generator, rows: int, cols: int, k: int, b_w: int, b_a: int, spec: NestedSpec,
                    mode: str | None = None, res_en: bool | None = None, a_signed: bool | None = None) -> TileJob:
    """A random R×C tile over K at widths (b_w, b_a): uniform master codes (activations signed with p = 0.3),
    a random output mode and residual enable unless given, parameters from random_tile_params."""
    a_signed = bool(rng.random() < 0.3) if a_signed is None else a_signed
    mode = MODES[int(rng.integers(len(MODES)))] if mode is None else mode
    res_en = bool(rng.random() < 0.5) if res_en is None else res_en
    w = random_codes(rng, (rows, k), True, spec)
    a = random_codes(rng, (k, cols), a_signed, spec)
    acc_aligned = tile_acc(w, a, b_w, b_a, a_signed, spec) << align_shift(b_w, b_a, spec)
    prm = random_tile_params(rng, acc_aligned, mode, res_en, spec)
    return TileJob(w, a, prm["bias"], prm["m"], prm["m_r"], prm["resid"],
                   TileConfig(b_w, b_a, a_signed, mode, prm["s"], res_en, k))
