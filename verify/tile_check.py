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
    p, cfg = drv.p, job.config
    if load:
        await drv.load(drv.words(job))
    lanes_w, lanes_a = tile_lanes(cfg.b_w, cfg.b_a, p.fusion_widths)
    want_cycles = os_tile_cycles(p.rows, p.cols, cfg.k, lanes_w * lanes_a)
    run = await drv.run(cfg, mon, timeout=4 * want_cycles + 64)
    want, want_clamped = expected_tile(job, p.spec, p.out_range(cfg.mode))
    inputs = {"b_w": cfg.b_w, "b_a": cfg.b_a, "mode": cfg.mode, "res_en": cfg.res_en, "s": cfg.s, "K": cfg.k}
    board.check_array(tile_id, inputs, want, run.out)
    board.check_array((*tile_id, "clamped"), inputs, want_clamped.astype(np.int64), run.clamped)
    cycles.check((*tile_id, "counted"), inputs, want_cycles, run.cycles_counted)
    cycles.check((*tile_id, "counter"), inputs, want_cycles, run.cycles_reported)
    return run
