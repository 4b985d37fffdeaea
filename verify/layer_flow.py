"""A whole conv / linear layer on DqtTop: output tiles (R·lanes_w filters × C·lanes_a pixels, tile_lanes) in
row-major order, each tile's operands, per-filter
parameters and residual rows loaded into the free bank of the double-buffered operand buffers while the tile
before it runs (rtl/top.py). Every tile's cycles are checked against sim.tile.os_tile_cycles, and the whole
layer's counted cycles against the simulator's cycles for the same layer (sim_layer_cycles)."""
from __future__ import annotations

import numpy as np

from sim.config import ArrayConfig
from sim.dataflow import plan_folds
from sim.tile import os_fold_cycles, os_tile_cycles
from sim.workload import Workload

from .gemm import tiles
from .layer_job import LayerJob
from .manifest import DutParams
from .scoreboard import Scoreboard
from .tb.top import TopDriver, TopMonitor
from .tile_job import LoadWords, tile_lanes


def sim_layer_cycles(job: LayerJob, p: DutParams) -> dict:
    """The simulator's cycles for `job`'s GEMM on the DUT's array, DRAM stalls excluded (the RTL has no DRAM):
    {busy, readout, load, total} from sim.dataflow.plan_folds, the same code `cli.py sim` runs. The RTL's R×C
    (filters on rows) is the simulator's C×R (docs/sim.md, os orientation)."""
    (m, k), n = job.weights.shape, job.acts.shape[1]
    workload = Workload((job.name,), [m], [k], [n], [k * n], [p.spec.n_bits], [0], [p.spec.n_bits], [job.b_w],
                        [job.b_a])
    folds = plan_folds(workload, ArrayConfig(rows=p.cols, cols=p.rows, spec=p.spec, pe_mode=p.pe_mode))
    parts = {"busy": int(folds.busy_cycles[0]), "readout": int(folds.readout_cycles[0]),
             "load": int(folds.load_cycles[0])}
    return {**parts, "total": sum(parts.values())}


async def run_layer_on_rtl(drv: TopDriver, mon: TopMonitor, job: LayerJob, cycles: Scoreboard) -> tuple[np.ndarray, dict]:
    """The RTL's (M, N) output of `job` and figures {tiles, rtl_cycles (first write to last done), sim_cycles,
    sim_busy, sim_readout, sim_load}; `cycles` scores every tile's count and the layer's against sim."""
    p = drv.p
    (m_rows, k), n_pix = job.weights.shape, job.acts.shape[1]
    if k > p.k_max:
        raise ValueError(f"layer {job.name}: K = {k} exceeds the design's buffer depth k_max = {p.k_max}")
    got = np.zeros_like(job.expected)
    cfg = job.config
    lanes_w, lanes_a = tile_lanes(job.b_w, job.b_a, p.fusion_widths)
    want_cycles = os_tile_cycles(p.rows, p.cols, k, lanes_w * lanes_a)
    quiet = os_fold_cycles(p.rows, p.cols, k) - 1
    filters, pixels = p.rows * lanes_w, p.cols * lanes_a  # the logical tile (fused: lanes per N-bit port)
    all_tiles = tiles(m_rows, n_pix, filters, pixels)

    def words(t) -> LoadWords:
        full = drv.words(job.tile(t, filters, pixels))
        return full if job.res_en else LoadWords(full.weights, full.acts, full.params, [])

    start_edges = drv.edges
    await drv.load(words(all_tiles[0]))
    for i, t in enumerate(all_tiles):
        await drv.start(cfg, mon)
        if i + 1 < len(all_tiles):
            await drv.load(words(all_tiles[i + 1]), mon, quiet)  # into the other bank while tile i runs
        run = await drv.finish(mon, timeout=4 * want_cycles + 64, quiet=quiet)
        got[t.m0:t.m0 + t.rows, t.n0:t.n0 + t.cols] = run.out[:t.rows, :t.cols]
        cycles.check((job.name, t.m0, t.n0, "counted"), {"K": k}, want_cycles, run.cycles_counted)
        cycles.check((job.name, t.m0, t.n0, "counter"), {"K": k}, want_cycles, run.cycles_reported)
    rtl_cycles = drv.edges - start_edges
    sim = sim_layer_cycles(job, p)
    cycles.check((job.name, "layer"), {"K": k, "tiles": len(all_tiles)}, sim["total"], rtl_cycles)
    return got, {"tiles": len(all_tiles), "rtl_cycles": rtl_cycles, "sim_cycles": sim["total"],
                 "sim_busy": sim["busy"], "sim_readout": sim["readout"], "sim_load": sim["load"]}
