"""PE bench: random dot products of golden views with stalls, clears and drain shifts; acc checked every cycle.

Priorities (rtl/pe.py, docs/rtl.md PE ports): clear over shift over en. Every dot product starts with a clear step;
on every other dot that step also asserts shift (with a nonzero acc_in) and en (with nonzero operands), so the
bench asserts acc = 0 with all three high.
"""
from __future__ import annotations

import time

import cocotb
import numpy as np

from ..manifest import DutParams
from ..models import expected_view
from ..runner import env_int
from ..scoreboard import Scoreboard
from ..tb.clocking import start_clock_and_reset
from ..tb.finish import finish
from ..tb.pe import PeDriver, PeMonitor, PeStep
from ..vectors import log_uniform, pe_operand, random_codes


def dot_program(rng, spec, k: int, clear_with_shift: bool = False) -> tuple[list[PeStep], list[int]]:
    """Steps of one dot product (clear, K accumulating steps with random stalls, one drain shift) and the
    expected acc after each step; the operands are golden views of random master codes. `clear_with_shift`: the
    clear step also asserts shift (acc_in != 0) and en (operands != 0); clear wins, acc = 0."""
    (b_w, _), (b_a, a_signed) = pe_operand(rng, spec), pe_operand(rng, spec)
    wv = expected_view(random_codes(rng, k, True, spec), b_w, True, spec)
    av = expected_view(random_codes(rng, k, a_signed, spec), b_a, a_signed, spec)
    if clear_with_shift:
        clear = PeStep(5, -3, en=True, clear=True, shift=True, acc_in=log_uniform(rng, spec.acc_bits - 1) | 1)
    else:
        clear = PeStep(0, 0, en=bool(rng.random() < 0.5), clear=True)
    steps, want, acc = [clear], [0], 0
    for wi, ai in zip(wv, av):
        while rng.random() < 0.2:  # stall: garbage operands, en low
            steps.append(PeStep(int(rng.integers(-99, 99)), int(rng.integers(-99, 99)), en=False))
            want.append(acc)
        acc += int(wi) * int(ai)
        steps.append(PeStep(int(wi), int(ai)))
        want.append(acc)
    acc_in = log_uniform(rng, spec.acc_bits - 1)
    steps.append(PeStep(3, 3, en=True, shift=True, acc_in=acc_in))  # drain has priority over en
    want.append(acc_in)
    return steps, want


@cocotb.test()
async def pe_random_dot_products(dut):
    t0, p = time.perf_counter(), DutParams.load()
    p.check_ports(dut)
    rng = np.random.default_rng(env_int("seed", 1))
    drv, mon, board = PeDriver(dut, p), PeMonitor(dut, p), Scoreboard("pe")
    await start_clock_and_reset(dut)
    for dot in range(env_int("dots", 60)):
        steps, want = dot_program(rng, p.spec, int(rng.integers(1, 80)), clear_with_shift=dot % 2 == 0)
        for i, (step, acc) in enumerate(zip(steps, want)):
            await drv.step(step)
            got_acc, got_w, got_a = mon.sample()
            ins = {"w_in": step.w, "a_in": step.a, "en": step.en, "clear": step.clear, "shift": step.shift}
            board.check((dot, i, "acc"), ins, acc, got_acc)
            board.check((dot, i, "w_out"), ins, step.w, got_w)
            board.check((dot, i, "a_out"), ins, step.a, got_a)
    finish(board, t0)
