"""One checked tile on DqtTop: load, run, compare every output and the cycle count with golden and sim/tile.py."""
from __future__ import annotations

import numpy as np

from golden.primitives import align_shift
from sim.tile import os_tile_cycles

from .models import expected_output, expected_tile
from .scoreboard import Scoreboard
from .tb.top import TileConfig, TileRun, TopDriver, TopMonitor


def expected_tile_outputs(w, a, prm: dict, cfg: TileConfig, spec) -> tuple[np.ndarray, np.ndarray]:
    acc = expected_tile(w, a, cfg.b_w, cfg.b_a, cfg.a_signed, spec)
    return expected_output(acc, cfg.b_w, cfg.b_a, prm["bias"][:, None], prm["m"][:, None], cfg.s, prm["resid"],
                           prm["m_r"][:, None], cfg.res_en, cfg.mode, spec)


def aligned_acc(w, a, b_w, b_a, a_signed, spec) -> np.ndarray:
    return expected_tile(w, a, b_w, b_a, a_signed, spec) << align_shift(b_w, b_a, spec)


async def checked_tile(drv: TopDriver, mon: TopMonitor, board: Scoreboard, cycles: Scoreboard, tile_id,
                       w: np.ndarray, a: np.ndarray, prm: dict, cfg: TileConfig, load: bool = True) -> TileRun:
    """Load W, A, params and residual (unless load=False: they are already in the buffers), run one tile,
    and score its outputs, clamp flags and cycle count (bench-counted and DUT-reported)."""
    p = drv.p
    if load:
        await drv.load(w, a, (prm["bias"], prm["m"], prm["m_r"]), prm["resid"])
    want_cycles = os_tile_cycles(p.rows, p.cols, cfg.k)
    run = await drv.run(cfg, mon, timeout=4 * want_cycles + 64)
    want, want_clamped = expected_tile_outputs(w, a, prm, cfg, p.spec)
    inputs = {"b_w": cfg.b_w, "b_a": cfg.b_a, "mode": cfg.mode, "res_en": cfg.res_en, "s": cfg.s, "K": cfg.k}
    board.check_array(tile_id, inputs, want, run.out)
    board.check_array((*tile_id, "clamped"), inputs, want_clamped.astype(np.int64), run.clamped)
    cycles.check((*tile_id, "counted"), inputs, want_cycles, run.cycles_counted)
    cycles.check((*tile_id, "counter"), inputs, want_cycles, run.cycles_reported)
    return run
