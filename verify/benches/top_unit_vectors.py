"""The output-unit bench's vectors through DqtTop: every vector, routed as tiles (verify/routed_vectors.py), reaches
each of the top's C output units, so corners the unit bench alone reached (requant shifts above the saturation
ACC+M+1, |q| >= 2^31 before the clamp, m = 0 / max, ties, every mode) are checked on the top's own instances.

Outputs, clamp flags and cycle counts are compared with golden per tile (verify/tile_check.py); the record also
counts the routed vectors with s > ACC+M+1 and with |q| >= 2^31, and the bench fails if either count is 0.
"""
from __future__ import annotations

import time

import cocotb
import numpy as np

from ..manifest import DutParams
from ..routed_vectors import output_unit_vectors, output_vectors_as_tiles, unclamped_q
from ..runner import env_int
from ..scoreboard import Scoreboard
from ..tb.finish import finish
from ..tb.top import start_top
from ..tile_check import checked_tile


@cocotb.test()
async def output_unit_vectors_as_tiles(dut):
    t0, p = time.perf_counter(), DutParams.load()
    drv, mon = await start_top(dut, p)
    rng = np.random.default_rng(env_int("seed", 1))
    vectors = output_unit_vectors(rng, p.spec, env_int("vectors", 200))
    board, cycles = Scoreboard("routed_unit_vectors"), Scoreboard("routed_unit_cycles")
    tiles = output_vectors_as_tiles(rng, vectors, p.rows, p.cols, p.spec)
    for i, (job, _) in enumerate(tiles):
        await checked_tile(drv, mon, board, cycles, (i,), job)
    shift_sat = p.config["requant_shift_max"]
    above_sat = sum(v.s > shift_sat for v in vectors)
    beyond_int32 = sum(abs(unclamped_q(v, p.spec)) >= 1 << 31 for v in vectors if v.mode != "wide")
    finish(cycles, t0, tiles=len(tiles))
    finish(board, t0, routed_vectors=len(vectors), shifts_above_saturation=above_sat, q_beyond_int32=beyond_int32)
    assert above_sat and beyond_int32, f"routed vectors miss a corner: s > {shift_sat}: {above_sat}, " \
                                       f"|q| >= 2^31: {beyond_int32}"
