"""Output-unit vectors routed through DqtTop as tiles, so the top's own output units see the unit bench's corners.

The unit bench (verify/benches/output_unit.py) drives a separately emitted output_unit.v; this routes the same
OutputVectors (corner_output_vectors: ties, saturation, s = 0 / 62, m = 0 / max, every mode, residual on/off; plus
random ones with requant shifts above ACC+M+1 and |q| >= 2^31) into the C output units of a generated top.

One vector per tile row, copied into every column: a tile shares (b_w, b_a, s, mode, res_en) over its rows, and a
row shares bias, m and m_r over its columns. With K = 1 the row's accumulator is acc_t = view_bw(w)·view_ba(a)
(one unsigned activation code per tile, w of the sign of the vector's x); the row's bias carries the rest of
the vector's x = (acc << align) + bias:

    bias_row = x - (acc_t << align)     so that   (acc_t << align) + bias_row = x

x, m, s, r, m_r, res_en and the mode are the vector's, so requant and clamp (docs/spec.md §1 steps 3-4) see
exactly the vector; only the split of x between accumulator and bias differs. bias_row fits ACC_BITS (checked):
x does, and acc_t << align has the sign of x.
"""
from __future__ import annotations

import numpy as np

from golden.primitives import align_shift, requant, view
from golden.spec import NestedSpec

from .tb.output_unit import OutputVector
from .tile_job import TileConfig, TileJob
from .vectors import corner_output_vectors, random_output_vector


def routed_x(v: OutputVector, spec: NestedSpec) -> int:
    """The vector's x = (acc << align) + bias, the output unit's requant input."""
    return (v.acc << align_shift(v.b_w, v.b_a, spec)) + v.bias


def unclamped_q(v: OutputVector, spec: NestedSpec) -> int:
    """The vector's requant result before the clamp: q = (x·m + r·m_r·res_en + 2^(s-1)) >> s (docs/spec.md §1)."""
    t = routed_x(v, spec) * v.m + (v.r * v.m_r if v.res_en else 0)
    return int(requant(np.array([t], dtype=np.int64), 1, v.s, *NestedSpec.int_range(64, True))[0])


def _tile(rng: np.random.Generator, chunk: list[OutputVector], cols: int, spec: NestedSpec) -> TileJob:
    """The K = 1 tile whose row i carries chunk[i] in every column (module docstring); the chunk shares one
    (b_w, b_a, s, mode, res_en)."""
    v0 = chunk[0]
    align = align_shift(v0.b_w, v0.b_a, spec)
    a_max, w_max = spec.code_range(False)[1], spec.code_range(True)[1]
    a = int(rng.integers(a_max // 4, a_max + 1))  # one unsigned activation code for every column: view >= 0
    x = np.array([routed_x(v, spec) for v in chunk], dtype=np.int64)
    weights = np.sign(x) * rng.integers(w_max // 2, w_max + 1, size=len(chunk))  # the sign of x (0 for x = 0)
    acc_t = view(weights, v0.b_w, True, spec) * int(view(np.array([a]), v0.b_a, False, spec)[0])
    bias = x - (acc_t << align)
    lo, hi = NestedSpec.int_range(spec.acc_bits, True)
    if (bias < lo).any() or (bias > hi).any():
        raise ValueError(f"a vector's x lies outside the ACC_BITS contract: x = {x.tolist()}")
    return TileJob(weights=weights[:, None], acts=np.full((1, cols), a, dtype=np.int64), bias=bias,
                   m=np.array([v.m for v in chunk], dtype=np.int64),
                   m_r=np.array([v.m_r for v in chunk], dtype=np.int64),
                   resid=np.array([[v.r] * cols for v in chunk], dtype=np.int64),
                   config=TileConfig(v0.b_w, v0.b_a, False, v0.mode, v0.s, v0.res_en, 1))


def output_vectors_as_tiles(rng: np.random.Generator, vectors: list[OutputVector], rows: int, cols: int,
                            spec: NestedSpec) -> list[tuple[TileJob, list[OutputVector]]]:
    """Tiles (K = 1) of an R×C array carrying `vectors`, one per row, each with the vectors of its rows. Vectors
    sharing (b_w, b_a, s, mode, res_en) share tiles, in the order of each configuration's first vector; the last
    tile of a configuration repeats its first vector in the rows left over."""
    groups: dict[tuple, list[OutputVector]] = {}
    for v in vectors:
        groups.setdefault((v.b_w, v.b_a, v.s, v.mode, v.res_en), []).append(v)
    tiles = []
    for group in groups.values():
        for start in range(0, len(group), rows):
            chunk = group[start:start + rows]
            chunk += [chunk[0]] * (rows - len(chunk))
            tiles.append((_tile(rng, chunk, cols, spec), chunk))
    return tiles


def output_unit_vectors(rng: np.random.Generator, spec: NestedSpec, count: int) -> list[OutputVector]:
    """The output-unit bench's vectors: corner_output_vectors, then `count` random_output_vectors."""
    return corner_output_vectors(rng, spec) + [random_output_vector(rng, spec) for _ in range(count)]
