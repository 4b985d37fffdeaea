"""The tile contract of DqtTop, in one place: the tile job, its expected value, and the lane packing.

    TileConfig   what `start` writes: widths b_w, b_a, activation signedness, output mode, requant shift s,
                 residual enable, reduction length K
    TileJob      a TileConfig plus the operands (master codes) W (R, K), A (K, C), per-filter bias / m / m_r
                 (R,), residual rows (R, C)
    expected_tile     Y = output_unit(view_bw(W) @ view_ba(A)) with per-row bias[i], m[i], m_r[i]
                      (verify/models.py expected_output; golden.primitives view / align_shift / requant)
    load_words        the buffer words one load writes (lane 0 = least significant bits)

The load/run protocol these words follow is described once, in rtl/top.py (module docstring). Its three drivers
are verify/amaranth_sim.py (amaranth.sim), verify/verilog_sim.py (Icarus, self-contained testbench) and
verify/tb/top.py (cocotb on Icarus and Verilator).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from golden.primitives import view
from golden.spec import NestedSpec

from .models import expected_output


@dataclass(frozen=True)
class TileConfig:
    """The configuration one `start` writes (docs/rtl.md, cfg_* ports)."""

    b_w: int
    b_a: int
    a_signed: bool
    mode: str
    s: int
    res_en: bool
    k: int


@dataclass(frozen=True)
class TileJob:
    """One tile: master-code operands and per-row parameters of an R'×C' output block over K, and its config.

    Lane layout in the buffer words: weight lane f = filter f (= p·R + i: weight lane p of array row i), activation
    lane g = pixel g (= q·C + j), residual lane g of row f."""

    weights: np.ndarray   # (R', K) signed weight master codes, R' = R·lanes_w filters (tile_lanes; R when fixed)
    acts: np.ndarray      # (K, C') activation master codes (signed iff config.a_signed), C' = C·lanes_a pixels
    bias: np.ndarray      # (R',)
    m: np.ndarray         # (R',)
    m_r: np.ndarray       # (R',)
    resid: np.ndarray     # (R', C')
    config: TileConfig


def tile_lanes(b_w: int, b_a: int, widths) -> tuple[int, int]:
    """(lanes_w, lanes_a) of a tile at widths (b_w, b_a) on a PE that runs the ascending `widths` (the manifest's
    fusion_widths; (N,) for a fixed PE): lanes = N / w, w the smallest of `widths` >= b. A tile then covers
    R·lanes_w filters × C·lanes_a pixels."""
    n = widths[-1]
    return n // min(w for w in widths if w >= b_w), n // min(w for w in widths if w >= b_a)


def drain_order(rows: int, lanes_w: int, lanes_a: int) -> list[tuple[int, int]]:
    """The (filter row f, activation lane q) order in which a tile's output rows leave the array (rtl/top.py):
    lane pairs q, then p; rows R-1 down to 0 of each; f = p·R + i."""
    return [(p * rows + i, q) for q in range(lanes_a) for p in range(lanes_w) for i in range(rows - 1, -1, -1)]


def tile_acc(weights: np.ndarray, acts: np.ndarray, b_w: int, b_a: int, a_signed: bool,
             spec: NestedSpec) -> np.ndarray:
    """Tile accumulators acc[i, j] = Σ_k view_bw(W)[i, k] · view_ba(A)[k, j] (weights signed), exact int64."""
    return view(weights, b_w, True, spec) @ view(acts, b_a, a_signed, spec)


def expected_tile(job: TileJob, spec: NestedSpec, out_range: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray]:
    """(Y, clamped) of a tile: Y[i, j] = requant((acc[i, j] << align) + bias[i], m[i], s, r[i, j]·res_en, m_r[i])
    clamped to `out_range` (the mode's range, read from the design's manifest), or Y = acc' + bias for mode wide
    (out_range None); clamped[i, j] = 1 where the requant result lay outside the range."""
    c = job.config
    acc = tile_acc(job.weights, job.acts, c.b_w, c.b_a, c.a_signed, spec)
    return expected_output(acc, c.b_w, c.b_a, job.bias[:, None], job.m[:, None], c.s, job.resid, job.m_r[:, None],
                           c.res_en, out_range, spec)


def pack_lanes(matrix: np.ndarray, bits: int) -> list[int]:
    """Each row of `matrix` as one word of len(row) two's complement lanes of `bits` (lane 0 least significant):
    word = Σ_j (row[j] mod 2^bits) · 2^(j·bits)."""
    matrix = np.atleast_2d(np.asarray(matrix, dtype=np.int64))
    if bits in (8, 16, 32, 64):
        raw = (matrix & ((1 << bits) - 1)).astype(f"<u{bits // 8}") if bits < 64 else matrix.astype("<i8")
        return [int.from_bytes(r.tobytes(), "little") for r in np.ascontiguousarray(raw)]
    mask = (1 << bits) - 1
    return [sum((int(v) & mask) << (i * bits) for i, v in enumerate(row)) for row in matrix]


def unpack_lanes(word: int, lanes: int, bits: int, signed: bool = True) -> np.ndarray:
    """The `lanes` lanes of `word` (inverse of pack_lanes for one row); signed lanes are two's complement."""
    vals = np.array([(int(word) >> (i * bits)) & ((1 << bits) - 1) for i in range(lanes)], dtype=np.int64)
    return np.where(vals >= 1 << (bits - 1), vals - (1 << bits), vals) if signed else vals


@dataclass(frozen=True)
class LoadWords:
    """The words one tile load writes: write cycle t writes entry t of every list that has one."""

    weights: list[int]                    # K words of R lanes: W[:, k]
    acts: list[int]                       # K words of C lanes: A[k, :]
    params: list[tuple[int, int, int]]    # R rows (bias, m, m_r)
    resid: list[int]                      # R words of C wide lanes: r[i, :]

    @property
    def cycles(self) -> int:
        """Cycles of the load: the longest list (the four write ports write in parallel)."""
        return max(len(self.weights), len(self.acts), len(self.params), len(self.resid))


def load_words(job: TileJob, code_bits: int, wide_bits: int) -> LoadWords:
    """Pack `job`'s operands into buffer words: weights and activations `code_bits` per lane, residual `wide_bits`."""
    return LoadWords(weights=pack_lanes(np.asarray(job.weights).T, code_bits), acts=pack_lanes(job.acts, code_bits),
                     params=[(int(b), int(m), int(mr)) for b, m, mr in zip(job.bias, job.m, job.m_r)],
                     resid=pack_lanes(job.resid, wide_bits))
