"""DqtTop tile benches: random tiles at every (b_w, b_a) pair, and a width-switching sequence without reset.

Every tile's outputs and clamp flags are compared with golden; every tile's cycle count (counted by the bench
and reported by the DUT's counter) with sim.tile.os_tile_cycles.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import replace

import cocotb
import numpy as np

from sim.tile import os_tile_cycles

from ..manifest import DutParams
from ..runner import env_int
from ..scoreboard import Scoreboard
from ..tb.finish import finish
from ..tb.top import start_top
from ..tile_check import checked_tile
from ..tile_job import TileJob, tile_lanes
from ..vectors import random_tile_job


async def _setup(dut):
    p = DutParams.load()
    return (p, *await start_top(dut, p))


def _random_tile(rng, p, b_w, b_a, k_cap, lanes: tuple[int, int] | None = None) -> TileJob:
    """A random tile at (b_w, b_a) covering the logical tile of `lanes` (default: of these widths)."""
    k = int(rng.integers(1, min(p.k_max, k_cap) + 1))
    lanes_w, lanes_a = lanes or tile_lanes(b_w, b_a, p.fusion_widths)
    return random_tile_job(rng, p.rows * lanes_w, p.cols * lanes_a, k, b_w, b_a, p.spec)


def _sub_tile(job: TileJob, b_w: int, b_a: int, p) -> TileJob:
    """`job` run at (b_w, b_a): the leading R·lanes_w filters and C·lanes_a pixels of its operands."""
    lanes_w, lanes_a = tile_lanes(b_w, b_a, p.fusion_widths)
    f, g = p.rows * lanes_w, p.cols * lanes_a
    return TileJob(job.weights[:f], job.acts[:, :g], job.bias[:f], job.m[:f], job.m_r[:f], job.resid[:f, :g],
                   replace(job.config, b_w=b_w, b_a=b_a))


@cocotb.test()
async def tiles_every_width_pair(dut):
    """VERIFY_REPEATS random tiles for every (b_w, b_a) in [2, N]² (VERIFY_PAIRS > 0: that many of them, drawn at
    random, for the largest arrays), random K, mode, residual, signedness."""
    t0 = time.perf_counter()
    p, drv, mon = await _setup(dut)
    rng = np.random.default_rng(env_int("seed", 1))
    board, cycles = Scoreboard("tile_outputs"), Scoreboard("tile_cycles")
    pairs = list(itertools.product(p.widths, p.widths))
    if 0 < env_int("pairs", 0) < len(pairs):
        pairs = [pairs[i] for i in sorted(rng.choice(len(pairs), env_int("pairs", 0), replace=False))]
    for rep in range(env_int("repeats", 1)):
        for b_w, b_a in pairs:
            job = _random_tile(rng, p, b_w, b_a, env_int("k_cap", 48))
            await checked_tile(drv, mon, board, cycles, (rep, b_w, b_a), job)
    shape = f"{p.rows}x{p.cols}"
    finish(cycles, t0, tiles=len(pairs) * env_int("repeats", 1), shape=shape)
    finish(board, t0, shape=shape)


@cocotb.test()
async def width_switching_sequence(dut):
    """Consecutive tiles at changing widths, no reset, operands loaded once (for the widest logical tile): each
    exact, each tile exactly os_tile_cycles, and the only cycle between two tiles is the start cycle that also
    writes the new widths."""
    t0 = time.perf_counter()
    p, drv, mon = await _setup(dut)
    rng = np.random.default_rng(env_int("seed", 1) + 7)
    board, cycles = Scoreboard("switch_outputs"), Scoreboard("switch_cycles")
    job0 = _random_tile(rng, p, p.spec.n_bits, p.spec.n_bits, env_int("k_cap", 48), (p.max_lanes, p.max_lanes))
    await drv.load(drv.words(job0))
    sequence = [(p.spec.n_bits, p.spec.n_bits)]
    while len(sequence) < env_int("switches", 24):  # every tile at widths different from the one before
        pair = (int(rng.choice(p.widths)), int(rng.choice(p.widths)))
        if pair != sequence[-1]:
            sequence.append(pair)
    first_edge, expected_edges = drv.edges, 0
    for i, (b_w, b_a) in enumerate(sequence):
        # operands stay in the buffers: nothing is loaded, the new widths are written with start
        await checked_tile(drv, mon, board, cycles, (i, b_w, b_a), _sub_tile(job0, b_w, b_a, p), load=False)
        lanes_w, lanes_a = tile_lanes(b_w, b_a, p.fusion_widths)
        expected_edges += 1 + os_tile_cycles(p.rows, p.cols, job0.config.k, lanes_w * lanes_a)  # start + the tile
    cycles.check(("sequence", "total_edges"), {"tiles": len(sequence)}, expected_edges, drv.edges - first_edge)
    finish(cycles, t0, tiles=len(sequence), switch_overhead_cycles=drv.edges - first_edge - expected_edges)
    finish(board, t0)
