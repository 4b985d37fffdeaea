"""DqtTop tile benches: random tiles at every (b_w, b_a) pair, and a width-switching sequence without reset.

Every tile's outputs and clamp flags are compared with golden; every tile's cycle count (counted by the bench
and reported by the DUT's counter) with sim.tile.os_tile_cycles.
"""
from __future__ import annotations

import itertools
import time

import cocotb
import numpy as np

from sim.tile import os_tile_cycles

from ..manifest import DutParams
from ..runner import env_int
from ..scoreboard import Scoreboard
from ..tb.clocking import start_clock_and_reset
from ..tb.finish import finish
from ..tb.top import TileConfig, TopDriver, TopMonitor
from ..tile_check import aligned_acc, checked_tile
from ..vectors import MODES, random_codes, random_tile_params


async def _setup(dut):
    p = DutParams.load()
    p.check_ports(dut)
    drv = TopDriver(dut, p)
    drv.idle()
    await start_clock_and_reset(dut)
    return p, drv, TopMonitor(dut, p)


def _random_tile(rng, p, b_w, b_a, k_cap):
    k = int(rng.integers(1, min(p.k_max, k_cap) + 1))
    a_signed, mode, res_en = bool(rng.random() < 0.3), MODES[int(rng.integers(len(MODES)))], bool(rng.random() < 0.5)
    w = random_codes(rng, (p.rows, k), True, p.spec)
    a = random_codes(rng, (k, p.cols), a_signed, p.spec)
    prm = random_tile_params(rng, aligned_acc(w, a, b_w, b_a, a_signed, p.spec), mode, res_en, p.spec)
    return w, a, prm, TileConfig(b_w, b_a, a_signed, mode, prm["s"], res_en, k)


@cocotb.test()
async def tiles_every_width_pair(dut):
    """VERIFY_REPEATS random tiles for every (b_w, b_a) in [2, N]², random K, mode, residual, signedness."""
    t0 = time.perf_counter()
    p, drv, mon = await _setup(dut)
    rng = np.random.default_rng(env_int("seed", 1))
    board, cycles = Scoreboard("tile_outputs"), Scoreboard("tile_cycles")
    pairs = list(itertools.product(p.widths, p.widths))
    for rep in range(env_int("repeats", 1)):
        for b_w, b_a in pairs:
            w, a, prm, cfg = _random_tile(rng, p, b_w, b_a, env_int("k_cap", 48))
            await checked_tile(drv, mon, board, cycles, (rep, b_w, b_a), w, a, prm, cfg)
    shape = f"{p.rows}x{p.cols}"
    finish(cycles, t0, tiles=len(pairs) * env_int("repeats", 1), shape=shape)
    finish(board, t0, shape=shape)


@cocotb.test()
async def width_switching_sequence(dut):
    """Consecutive tiles at changing widths, no reset, operands loaded once: each exact, each tile exactly
    os_tile_cycles, and the only cycle between two tiles is the start cycle that also writes the new widths."""
    t0 = time.perf_counter()
    p, drv, mon = await _setup(dut)
    rng = np.random.default_rng(env_int("seed", 1) + 7)
    board, cycles = Scoreboard("switch_outputs"), Scoreboard("switch_cycles")
    w, a, prm, cfg0 = _random_tile(rng, p, p.spec.n_bits, p.spec.n_bits, env_int("k_cap", 48))
    await drv.load(w, a, (prm["bias"], prm["m"], prm["m_r"]), prm["resid"])
    sequence = [(p.spec.n_bits, p.spec.n_bits)]
    while len(sequence) < env_int("switches", 24):  # every tile at widths different from the one before
        pair = (int(rng.choice(p.widths)), int(rng.choice(p.widths)))
        if pair != sequence[-1]:
            sequence.append(pair)
    first_edge, expected_edges = drv.edges, 0
    for i, (b_w, b_a) in enumerate(sequence):
        cfg = TileConfig(b_w, b_a, cfg0.a_signed, cfg0.mode, cfg0.s, cfg0.res_en, cfg0.k)
        # operands stay in the buffers: nothing is loaded, the new widths are written with start
        await checked_tile(drv, mon, board, cycles, (i, b_w, b_a), w, a, prm, cfg, load=False)
        expected_edges += 1 + os_tile_cycles(p.rows, p.cols, cfg.k)  # start cycle + the tile
    cycles.check(("sequence", "total_edges"), {"tiles": len(sequence)}, expected_edges, drv.edges - first_edge)
    finish(cycles, t0, tiles=len(sequence), switch_overhead_cycles=drv.edges - first_edge - expected_edges)
    finish(board, t0)
