"""Conv-layer bench: one golden-model layer tiled through DqtTop (im2col and tiling in Python), the assembled
output compared with golden run_layer bit-exactly, every tile's cycles with sim.tile.os_tile_cycles and the whole
layer's cycles (loads overlapped with compute) with the simulator's cycles for the layer.

The job (operands, parameters, golden output) is prepared outside the simulator (verify.layer_job) and named
by VERIFY_JOB.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import cocotb

from ..layer_flow import run_layer_on_rtl
from ..layer_job import LayerJob
from ..manifest import DutParams
from ..scoreboard import Scoreboard
from ..tb.finish import finish
from ..tb.top import start_top


@cocotb.test()
async def conv_layer_bit_exact(dut):
    t0, p = time.perf_counter(), DutParams.load()
    job = LayerJob.load(Path(os.environ["VERIFY_JOB"]))
    drv, mon = await start_top(dut, p)
    board, cycles = Scoreboard(f"layer {job.name}"), Scoreboard(f"layer {job.name} cycles")
    got, figures = await run_layer_on_rtl(drv, mon, job, cycles)
    board.check_array((), {"layer": job.name, "b_w": job.b_w, "b_a": job.b_a, "mode": job.mode}, job.expected, got)
    finish(cycles, t0, **figures)
    finish(board, t0, **figures, gemm=f"{job.weights.shape[0]}x{job.weights.shape[1]}x{job.acts.shape[1]}")
