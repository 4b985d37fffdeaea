"""Directed corner tiles at the proven bounds: the operands that drive acc, acc', acc' + bias and the requant sum
of docs/spec.md §1 to their extremes on one design (its shape, lanes and buffer depth K_MAX).

Per width pair (b_w, b_a) and design:

    weight rows     all codes -2^(N-1) (view -2^(b_w-1)), all 2^(N-1)-1 (view 2^(b_w-1)-1, saturated for b_w < N),
                    uniform random codes
    activation cols all largest codes (view 2^b_a - 1 unsigned / 2^(b_a-1) - 1 signed, saturated for b_a < N),
                    all smallest codes (0 unsigned / -2^(N-1) signed), uniform random codes
    |acc| <= 2^(N-1)·(2^N - 1)·K_MAX is reached exactly (RtlConfig.pe_acc_bound_bits) by row -2^(N-1) × col 2^N - 1.

    tile "wide"     K = K_MAX (the deepest tile the buffers hold), mode wide, unsigned activations: y = x = acc' + bias
                    is observed directly; bias per row puts the row's largest x at 2^(ACC-1) - 1 or its smallest at
                    -2^(ACC-1) (rows alternate; which side also alternates by pair); a row whose acc' reaches 0 on
                    that side (weights -2^(N-1) against activation 0) gets bias exactly at the ACC_BITS limit
    tile "requant"  K = min(K_MAX, 8), signed activations, mode relu / signed / logits by pair, residual on: x at
                    the ACC limits as above, m = m_r = 2^M - 1, residual at the ACC limits, so |x·m + r·m_r| reaches
                    ~2^(ACC+M); the shift s puts the largest result just above the mode's range (top bits visible,
                    both clamps hit)
    tile "tie"      K <= 4, identical activation columns: every row's requant sum is an exact tie ±(j·2^s + 2^(s-1))
                    (half-up rounding), residual on for odd pairs (the tie split between x·m and r·m_r)

A design whose tile has fewer rows or columns than patterns gets several tiles per pair (every pattern pair
is covered). Every job is checked to lie inside the contract (acc, acc', x in ACC_BITS; requant sum in 64 bits).
The expected values come from verify/tile_job.py expected_tile, like every other tile bench.
"""
from __future__ import annotations

import itertools

import numpy as np

from golden.primitives import align_shift
from golden.spec import NestedSpec

from .tile_job import TileConfig, TileJob, tile_acc, tile_lanes

REQUANT_MODES = ("relu", "signed", "logits")
REQUANT_K = 8  # the requant tile's extremes come from bias and residual, not from K
TIE_K = 4


def weight_patterns(rng: np.random.Generator, k: int, spec: NestedSpec) -> np.ndarray:
    """(3, K) weight master-code rows: minimum, maximum, random."""
    lo, hi = spec.code_range(True)
    return np.stack([np.full(k, lo), np.full(k, hi), rng.integers(lo, hi + 1, size=k)]).astype(np.int64)


def act_patterns(rng: np.random.Generator, k: int, signed: bool, spec: NestedSpec) -> np.ndarray:
    """(K, 3) activation master-code columns: maximum, minimum, random."""
    lo, hi = spec.code_range(signed)
    return np.stack([np.full(k, hi), np.full(k, lo), rng.integers(lo, hi + 1, size=k)], axis=1).astype(np.int64)


def _tilings(patterns: int, size: int) -> list[np.ndarray]:
    """Index vectors of length `size` that together cover every one of `patterns` patterns (cycling)."""
    count = -(-patterns // size)
    return [np.arange(t * size, (t + 1) * size) % patterns for t in range(count)]


def bias_to_limits(acc_aligned: np.ndarray, flip: int, spec: NestedSpec) -> np.ndarray:
    """Per-row bias that puts the row's largest acc' + bias at 2^(ACC-1) - 1 (rows i with i + flip even) or its
    smallest at -2^(ACC-1) (the others), clipped to the ACC range (a zero row then gets bias exactly at a limit)."""
    lo, hi = spec.acc_range
    top = hi - acc_aligned.max(axis=1)
    bottom = lo - acc_aligned.min(axis=1)
    rows = np.arange(acc_aligned.shape[0])
    return np.clip(np.where((rows + flip) % 2 == 0, top, bottom), lo, hi).astype(np.int64)


def check_contract(job: TileJob, spec: NestedSpec) -> None:
    """ValueError unless acc, acc', acc' + bias fit ACC_BITS and the requant sum fits 64 bits (docs/spec.md §1)."""
    c = job.config
    acc = tile_acc(job.weights, job.acts, c.b_w, c.b_a, c.a_signed, spec)
    x = (acc << align_shift(c.b_w, c.b_a, spec)) + job.bias[:, None]
    lo, hi = spec.acc_range
    for what, v in (("bias", job.bias), ("residual", job.resid), ("acc", acc), ("acc'", acc << align_shift(c.b_w, c.b_a, spec)), ("acc' + bias", x)):
        if v.min() < lo or v.max() > hi:
            raise ValueError(f"corner tile at {c}: {what} range [{v.min()}, {v.max()}] exceeds ACC [{lo}, {hi}]")
    total = np.abs(x).astype(object) * job.m[:, None].astype(object) \
        + (np.abs(job.resid).astype(object) * job.m_r[:, None].astype(object) if c.res_en else 0)
    if np.max(total) >= 1 << 63:
        raise ValueError(f"corner tile at {c}: requant sum {np.max(total)} exceeds 64 bits")


def _shift_above(t_max: int, mode_hi: int) -> int:
    """The requant shift that puts |t| = t_max one bit above the mode's range top (so the top bits are seen)."""
    return max(0, t_max.bit_length() - mode_hi.bit_length() - 1)


def corner_tiles(b_w: int, b_a: int, pair_index: int, rows: int, cols: int, k_max: int, spec: NestedSpec,
                 out_range, rng: np.random.Generator) -> list[tuple[str, TileJob]]:
    """The named corner TileJobs of one width pair on a tile of `rows` × `cols` outputs (R·lanes_w × C·lanes_a)."""
    lo, hi = spec.acc_range
    jobs = []
    w_pat = weight_patterns(rng, k_max, spec)
    for kind, a_signed, k in (("wide", False, k_max), ("requant", True, min(k_max, REQUANT_K))):
        a_pat = act_patterns(rng, k, a_signed, spec)
        mode = "wide" if kind == "wide" else REQUANT_MODES[pair_index % len(REQUANT_MODES)]
        for ri, ci in itertools.product(_tilings(len(w_pat), rows), _tilings(a_pat.shape[1], cols)):
            w, a = w_pat[ri, :k], a_pat[:, ci]
            acc_al = tile_acc(w, a, b_w, b_a, a_signed, spec) << align_shift(b_w, b_a, spec)
            bias = bias_to_limits(acc_al, pair_index, spec)  # 1-row tiles: the side alternates by pair
            m_max = np.full(rows, spec.m_max, dtype=np.int64)
            resid = np.where((np.arange(rows)[:, None] + np.arange(cols)) % 2 == 0, hi, lo).astype(np.int64)
            s = 0
            if mode != "wide":
                t_max = int(np.max(np.abs((acc_al + bias[:, None]) * spec.m_max + resid * spec.m_max)))
                s = _shift_above(t_max, out_range(mode)[1])
            cfg = TileConfig(b_w, b_a, a_signed, mode, s, mode != "wide", k)
            jobs.append((kind, TileJob(w, a, bias, m_max, m_max, resid, cfg)))
    # exact requant ties: x·m + r·m_r = ±(j·2^s + 2^(s-1)) in every output of a row
    k = min(k_max, TIE_K)
    s = min(1 + pair_index % 28, spec.acc_bits - 4)  # |tie| <= 1.5·2^s: inside ACC_BITS (check_contract below)
    w = rng.integers(*spec.code_range(True), size=(rows, k), endpoint=True).astype(np.int64)
    a = np.repeat(rng.integers(*spec.code_range(False), size=(k, 1), endpoint=True), cols, axis=1).astype(np.int64)
    acc_al = tile_acc(w, a, b_w, b_a, False, spec)[:, 0] << align_shift(b_w, b_a, spec)
    j = np.arange(rows) % 4 - 2                                      # -2, -1, 0, 1: ties on both signs
    tie = j * (1 << s) + (1 << (s - 1))
    res_en = pair_index % 2 == 1
    r_part = tie // 2 if res_en else np.zeros(rows, dtype=np.int64)  # the residual carries half of the tie
    bias = (tie - r_part) - acc_al
    ones = np.ones(rows, dtype=np.int64)
    cfg = TileConfig(b_w, b_a, False, "signed", s, res_en, k)
    jobs.append(("tie", TileJob(w, a, bias.astype(np.int64), ones, ones, np.repeat(r_part[:, None], cols, axis=1), cfg)))
    for _, job in jobs:
        check_contract(job, spec)
    return jobs


def parse_pairs(text: str) -> set[tuple[int, int]] | None:
    """Width pairs from "b_w/b_a,b_w/b_a,..." (VERIFY_PAIRS); None for an empty text (every pair)."""
    if not text.strip():
        return None
    try:
        return {tuple(int(b) for b in item.split("/")) for item in text.split(",")}
    except ValueError:
        raise ValueError(f"VERIFY_PAIRS must look like 8/8,2/4, got {text!r}") from None


def snake_pairs(widths) -> list[tuple[int, int]]:
    """Every (b_w, b_a) pair, b_a ascending for even b_w indices and descending for odd ones: consecutive pairs
    differ in b_a only, or (at a row change) in b_w only."""
    widths = list(widths)
    return [(b_w, b_a) for i, b_w in enumerate(widths) for b_a in (widths if i % 2 == 0 else widths[::-1])]


def design_corner_tiles(p, seed: int = 17, pairs: set[tuple[int, int]] | None = None) -> list[tuple[tuple, TileJob]]:
    """Every corner tile of the design described by DutParams `p` (only the width pairs in `pairs` if given), in run
    order, with its (kind, b_w, b_a, n) id: the wide and requant tiles of every pair in snake order, then the tie
    tiles in plain order (both widths switch at every row change)."""
    rng = np.random.default_rng(seed)
    out = []
    ties = []
    for index, (b_w, b_a) in enumerate(snake_pairs(p.widths)):
        if pairs is not None and (b_w, b_a) not in pairs:
            continue
        lanes_w, lanes_a = tile_lanes(b_w, b_a, p.fusion_widths)
        for n, (kind, job) in enumerate(corner_tiles(b_w, b_a, index, p.rows * lanes_w, p.cols * lanes_a, p.k_max,
                                                     p.spec, p.out_range, rng)):
            (ties if kind == "tie" else out).append(((kind, b_w, b_a, n), job))
    return out + sorted(ties, key=lambda item: item[0][1:])
