"""Model adapters: what each DUT must produce, computed only with golden/ (the normative arithmetic).

    view unit    v = view(q, b, σ)                                           golden.primitives.view
    PE           acc = Σ_t w_t·a_t over the cycles since the last clear       (operands are views)
    output unit  x = (acc << align) + bias;  y = requant(x, m, s, r·res_en, m_r) clamped to the mode's range,
                 or y = x in mode "wide"                                      golden.primitives.requant
    tile         Y = output_unit(view_bw(W) @ view_ba(A))                    verify/tile_job.py expected_tile
    layer        golden.inference.run_layer
"""
from __future__ import annotations

import numpy as np

from golden.primitives import align_shift, requant, view
from golden.spec import NestedSpec

INT64 = NestedSpec.int_range(64, True)


def expected_view(q: np.ndarray, bits: int, signed: bool, spec: NestedSpec) -> np.ndarray:
    return view(q, bits, signed, spec)


def expected_output(acc, b_w: int, b_a: int, bias, m, s: int, r, m_r, res_en: bool, out_range: tuple[int, int] | None,
                    spec: NestedSpec) -> tuple[np.ndarray, np.ndarray]:
    """(y, clamped) of the output unit; arrays broadcast (acc per element, bias/m/m_r per row).

    out_range: the output mode's clamp range (the design's manifest, config.out_modes), None for mode wide."""
    x = (np.asarray(acc, dtype=np.int64) << align_shift(b_w, b_a, spec)) + np.asarray(bias, dtype=np.int64)
    rng = out_range
    if rng is None:
        return x, np.zeros(x.shape, dtype=bool)
    r_term = np.asarray(r, dtype=np.int64) if res_en else np.int64(0)
    m_r_term = np.asarray(m_r, dtype=np.int64) if res_en else np.int64(0)
    # requant's m_r is a scalar: fold the (per-row) residual product into x·m's sum, one rounding as in §1
    t = x * np.asarray(m, dtype=np.int64) + r_term * m_r_term
    unclamped = requant(t, 1, s, *INT64)
    y = requant(t, 1, s, *rng)
    return y, unclamped != y
