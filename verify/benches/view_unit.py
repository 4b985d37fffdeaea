"""ViewUnit bench: every master code × every width 2..N × signed/unsigned, against golden view()."""
from __future__ import annotations

import time

import cocotb
import numpy as np

from ..manifest import DutParams
from ..models import expected_view
from ..scoreboard import Scoreboard
from ..tb.finish import finish
from ..tb.view_unit import ViewUnitDriver, ViewUnitMonitor


@cocotb.test()
async def view_unit_exhaustive(dut):
    t0, p = time.perf_counter(), DutParams.load()
    p.check_ports(dut)
    drv, mon, board = ViewUnitDriver(dut, p), ViewUnitMonitor(dut, p), Scoreboard("view_unit")
    for signed in (True, False):
        lo, hi = p.spec.code_range(signed)
        codes = np.arange(lo, hi + 1)
        for bits in p.widths:
            for q, want in zip(codes, expected_view(codes, bits, signed, p.spec)):
                await drv.apply(int(q), signed, bits)
                board.check((signed, bits, int(q)), {"q": int(q), "b": bits, "signed": signed}, want, mon.sample())
    finish(board, t0)
