"""Conv-layer bench: one golden-model layer tiled through DqtTop (im2col and tiling in Python), the assembled
output compared with golden run_layer bit-exactly, every tile's cycles with sim.tile.os_tile_cycles.

The job (operands, parameters, golden output) is prepared outside the simulator (verify.layer_job) and named
by VERIFY_JOB. Weights and per-filter parameters are loaded once per filter block and stay in the buffers
while the pixel tiles of that block stream through.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import cocotb
import numpy as np

from sim.tile import os_fold_cycles, os_tile_cycles

from ..gemm import tile_operands, tiles
from ..layer_job import LayerJob
from ..manifest import DutParams
from ..scoreboard import Scoreboard
from ..tb.clocking import start_clock_and_reset
from ..tb.finish import finish
from ..tb.top import TileConfig, TopDriver, TopMonitor


@cocotb.test()
async def conv_layer_bit_exact(dut):
    t0, p = time.perf_counter(), DutParams.load()
    p.check_ports(dut)
    job = LayerJob.load(Path(os.environ["VERIFY_JOB"]))
    drv, mon = TopDriver(dut, p), TopMonitor(dut, p)
    drv.idle()
    await start_clock_and_reset(dut)
    board, cycles = Scoreboard(f"layer {job.name}"), Scoreboard(f"layer {job.name} cycles")
    (m_rows, k), n_pix = job.weights.shape, job.acts.shape[1]
    got = np.zeros_like(job.expected)
    cfg = TileConfig(job.b_w, job.b_a, job.a_signed, job.mode, job.s, job.res_en, k)
    want_cycles, loaded_m0 = os_tile_cycles(p.rows, p.cols, k), None
    for t in tiles(m_rows, n_pix, p.rows, p.cols):
        w, a = tile_operands(job.weights, job.acts, t, p.rows, p.cols)
        resid = np.zeros((p.rows, p.cols), np.int64)
        resid[:t.rows, :t.cols] = job.resid[t.m0:t.m0 + t.rows, t.n0:t.n0 + t.cols]
        new_block = t.m0 != loaded_m0
        prm = [np.zeros(p.rows, np.int64) for _ in range(3)]
        for dst, src in zip(prm, (job.bias, job.m, job.m_r)):
            dst[:t.rows] = src[t.m0:t.m0 + t.rows]
        await drv.load(w if new_block else None, a, prm if new_block else None, resid if job.res_en else None)
        loaded_m0 = t.m0
        run = await drv.run(cfg, mon, timeout=4 * want_cycles + 64, quiet=os_fold_cycles(p.rows, p.cols, k) - 1)
        got[t.m0:t.m0 + t.rows, t.n0:t.n0 + t.cols] = run.out[:t.rows, :t.cols]
        cycles.check((t.m0, t.n0, "counted"), {"K": k}, want_cycles, run.cycles_counted)
        cycles.check((t.m0, t.n0, "counter"), {"K": k}, want_cycles, run.cycles_reported)
    board.check_array((), {"layer": job.name, "b_w": job.b_w, "b_a": job.b_a, "mode": job.mode}, job.expected, got)
    n_tiles = len(tiles(m_rows, n_pix, p.rows, p.cols))
    finish(cycles, t0, tiles=n_tiles)
    finish(board, t0, tiles=n_tiles, gemm=f"{m_rows}x{k}x{n_pix}")
