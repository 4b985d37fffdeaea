"""Width-dependent hardware factors: Bit Fusion PE throughput and bit-plane memory footprint.

Both are closed formulas over numpy arrays of widths (one entry per layer), so a whole network is
evaluated at once.

Fused PE (Bit Fusion, Sharma et al. ISCA 2018). A PE is built from bricks that fuse into one N×N
multiplier (N = spec.n_bits, 8 by default) or split into smaller ones. The supported brick widths are
N, N/2, N/4, ... down to 2 (for N = 8: {8, 4, 2}). A b-bit view runs at the smallest supported width
w ≥ b, so 6 and 5 bits run as 8, 3 bits as 4:

    fused_width(b) = min{w ∈ {N/2^j ≥ 2} : w ≥ b}

At widths (b_w, b_a) the PE forms the outer product of N/w_w weights and N/w_a activations per cycle,
(N/w_w)·(N/w_a) products; the weight and activation ports stay N bits wide (N/w operands per port per
cycle), so the speed-up costs no extra operand bandwidth.

Bit-plane layout. The master code is stored as N one-bit planes, MSB first. A b-bit view with rounding
needs the b MSB planes plus the first dropped bit (the rounding bit ε of docs/spec.md §1):

    planes(b) = b + 1  if b < N,   N  if b = N

The packed layout always fetches the whole N-bit code.
"""
from __future__ import annotations

import numpy as np

from golden.spec import NestedSpec


def fusion_widths(spec: NestedSpec) -> tuple[int, ...]:
    """Brick widths a fused PE supports: N, N/2, N/4, ... while the width is an integer >= 2, ascending."""
    widths, w = [], spec.n_bits
    while w >= 2:
        widths.append(w)
        if w % 2:
            break
        w //= 2
    return tuple(sorted(widths))


def fused_width(bits, spec: NestedSpec) -> np.ndarray:
    """Width a fused PE runs a b-bit view at: the smallest supported brick width >= b (b=6 -> 8 at N=8)."""
    supported = np.asarray(fusion_widths(spec), dtype=np.int64)
    b = np.asarray(bits, dtype=np.int64)
    return supported[np.searchsorted(supported, b, side="left")]


def fusion_lanes(bits, spec: NestedSpec) -> np.ndarray:
    """Operands of width b one N-bit fused port carries per cycle: N // fused_width(b)."""
    return spec.n_bits // fused_width(bits, spec)


def stored_bits(bits, layout: str, spec: NestedSpec) -> np.ndarray:
    """Bits fetched per element for a b-bit view: packed N; bitplane b + 1 planes (b < N) or N (b = N)."""
    b = np.asarray(bits, dtype=np.int64)
    if layout == "packed":
        return np.full_like(b, spec.n_bits)
    if layout == "bitplane":
        return np.where(b < spec.n_bits, b + 1, spec.n_bits)
    raise ValueError(f"layout must be 'packed' or 'bitplane', got {layout!r}")
