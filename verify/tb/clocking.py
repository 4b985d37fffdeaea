"""Shared cocotb plumbing for clocked DUTs: clock, reset, and the falling-edge drive/sample convention.

Inputs are written and outputs sampled at the falling edge, so every value seen was settled by the rising
edge before it; this behaves the same on Icarus and Verilator.
"""
from __future__ import annotations

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

CLOCK_PERIOD_NS = 10


async def start_clock_and_reset(dut, cycles: int = 2) -> None:
    """Start `dut.clk`, hold `dut.rst` high for `cycles` rising edges, release it at a falling edge."""
    cocotb.start_soon(Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns").start(start_high=False))
    dut.rst.value = 1
    for _ in range(cycles):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
