"""A whole conv / linear layer on DqtTop: output tiles in row-major order, weights and per-filter parameters
loaded once per filter block (they stay in the buffers while that block's pixel tiles stream through),
activations and residual rows per tile, every tile's cycle count checked against sim.tile.os_tile_cycles."""
from __future__ import annotations

import numpy as np

from sim.tile import os_fold_cycles, os_tile_cycles

from .gemm import tiles
from .layer_job import LayerJob
from .scoreboard import Scoreboard
from .tb.top import TopDriver, TopMonitor
from .tile_job import LoadWords


async def run_layer_on_rtl(drv: TopDriver, mon: TopMonitor, job: LayerJob, cycles: Scoreboard) -> tuple[np.ndarray, dict]:
    """The RTL's (M, N) output of `job` and figures {tiles, tile_cycles, load_cycles}."""
    p = drv.p
    (m_rows, k), n_pix = job.weights.shape, job.acts.shape[1]
    if k > p.k_max:
        raise ValueError(f"layer {job.name}: K = {k} exceeds the design's buffer depth k_max = {p.k_max}")
    got = np.zeros_like(job.expected)
    cfg = job.config
    want_cycles, quiet = os_tile_cycles(p.rows, p.cols, k), os_fold_cycles(p.rows, p.cols, k) - 1
    loaded_m0, start_edges, tile_cycles = None, drv.edges, 0
    all_tiles = tiles(m_rows, n_pix, p.rows, p.cols)
    for t in all_tiles:
        words = drv.words(job.tile(t, p.rows, p.cols))
        new_block = t.m0 != loaded_m0
        await drv.load(LoadWords(words.weights if new_block else [], words.acts, words.params if new_block else [],
                                 words.resid if job.res_en else []))
        loaded_m0 = t.m0
        run = await drv.run(cfg, mon, timeout=4 * want_cycles + 64, quiet=quiet)
        got[t.m0:t.m0 + t.rows, t.n0:t.n0 + t.cols] = run.out[:t.rows, :t.cols]
        cycles.check((job.name, t.m0, t.n0, "counted"), {"K": k}, want_cycles, run.cycles_counted)
        cycles.check((job.name, t.m0, t.n0, "counter"), {"K": k}, want_cycles, run.cycles_reported)
        tile_cycles += run.cycles_counted
    total = drv.edges - start_edges
    return got, {"tiles": len(all_tiles), "tile_cycles": tile_cycles, "load_cycles": total - tile_cycles}
