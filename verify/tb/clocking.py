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


def signed_value(handle) -> int:
    return handle.value.to_signed()


def lanes(word: int, count: int, bits: int, signed: bool) -> list[int]:
    """Split an unsigned word into `count` lanes of `bits` (lane 0 least significant)."""
    mask, half = (1 << bits) - 1, 1 << (bits - 1)
    out = []
    for i in range(count):
        v = (word >> (i * bits)) & mask
        out.append(v - (1 << bits) if signed and v >= half else v)
    return out


def pack(values, bits: int) -> int:
    """Pack integers into one word, `bits` each, lane 0 least significant (two's complement lanes)."""
    mask, word = (1 << bits) - 1, 0
    for i, v in enumerate(values):
        word |= (int(v) & mask) << (i * bits)
    return word
