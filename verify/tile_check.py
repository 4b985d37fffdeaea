"""One checked tile on DqtTop: load, run, compare every output and the cycle count with golden and sim/tile.py."""
from __future__ import annotations

import numpy as np

from sim.tile import os_tile_cycles

from .scoreboard import Scoreboard
from .tb.top import TileRun, TopDriver, TopMonitor
from .tile_job import TileJob, expected_tile, tile_lanes


async def checked_tile(drv: TopDriver, mon: TopMonitor, board: Scoreboard, cycles: Scoreboard, tile_id,
                       job: TileJob, load: bool = True) -> TileRun:
    """Load `job` (unless load=False: its operands are already in the buffers), run it, and score its outputs,
    clamp flags and cycle count (bench-counted and DUT-reported)."""
    if load:
        await drv.load(drv.words(job))
    run = await drv.run(job.config, mon, timeout=tile_timeout(drv.p, job))
    score_tile(drv.p, board, cycles, tile_id, job, run)
    return run


def tile_timeout(p, job: TileJob) -> int:
    """Cycles after which a tile that has not finished is an error: 4·os_tile_cycles + 64."""
    return 4 * _tile_cycles(p, job) + 64


def _tile_cycles(p, job: TileJob) -> int:
    lanes_w, lanes_a = tile_lanes(job.config.b_w, job.config.b_a, p.fusion_widths)
    return os_tile_cycles(p.rows, p.cols, job.config.k, lanes_w * lanes_a)


def score_tile(p, board: Scoreboard, cycles: Scoreboard, tile_id, job: TileJob, run: TileRun) -> None:
    """Score one finished tile run of `job` on the design of DutParams `p`: outputs, clamp flags (vs
    expected_tile) and its cycle count, bench-counted and DUT-reported (vs os_tile_cycles)."""
    cfg = job.config
    want_cycles = _tile_cycles(p, job)
    want, want_clamped = expected_tile(job, p.spec, p.out_range(cfg.mode))
    inputs = {"b_w": cfg.b_w, "b_a": cfg.b_a, "mode": cfg.mode, "res_en": cfg.res_en, "s": cfg.s, "K": cfg.k}
    board.check_array(tile_id, inputs, want, run.out)
    board.check_array((*tile_id, "clamped"), inputs, want_clamped.astype(np.int64), run.clamped)
    cycles.check((*tile_id, "counted"), inputs, want_cycles, run.cycles_counted)
    cycles.check((*tile_id, "counter"), inputs, want_cycles, run.cycles_reported)
