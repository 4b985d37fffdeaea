"""OutputUnit bench: corner vectors (ties, saturation, s/m extremes, every mode, residual on/off) + random."""
from __future__ import annotations

import time

import cocotb
import numpy as np

from ..manifest import DutParams
from ..models import expected_output
from ..routed_vectors import output_unit_vectors
from ..runner import env_int
from ..scoreboard import Scoreboard
from ..tb.finish import finish
from ..tb.output_unit import OutputUnitDriver, OutputUnitMonitor


@cocotb.test()
async def output_unit_corners_and_random(dut):
    t0, p = time.perf_counter(), DutParams.load()
    p.check_ports(dut)
    rng = np.random.default_rng(env_int("seed", 1))
    vectors = output_unit_vectors(rng, p.spec, env_int("vectors", 4000))
    drv, mon, board = OutputUnitDriver(dut, p), OutputUnitMonitor(dut, p), Scoreboard("output_unit")
    for i, v in enumerate(vectors):
        await drv.apply(v)
        y, clamped = expected_output(v.acc, v.b_w, v.b_a, v.bias, v.m, v.s, v.r, v.m_r, v.res_en,
                                       p.out_range(v.mode), p.spec)
        got_y, got_clamped = mon.sample()
        board.check((i, "y"), v.inputs(), int(y), got_y)
        board.check((i, "clamped"), v.inputs(), int(clamped), got_clamped)
    finish(board, t0, corners=len(vectors) - env_int("vectors", 4000))
