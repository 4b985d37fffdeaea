"""Small drivers around amaranth.sim used by the RTL unit tests (no external simulator needed)."""
from __future__ import annotations

from amaranth.sim import Simulator


def comb_eval(dut, vectors: list[dict], outputs: tuple[str, ...]) -> list[dict]:
    """Apply each dict of input port values to a combinational `dut`; return the settled `outputs` per vector."""
    results: list[dict] = []

    async def bench(ctx):
        for vec in vectors:
            for name, value in vec.items():
                ctx.set(getattr(dut, name), value)
            results.append({name: ctx.get(getattr(dut, name)) for name in outputs})

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    return results


def clocked_eval(dut, steps: list[dict], outputs: tuple[str, ...]) -> list[dict]:
    """Drive a synchronous `dut`: for each step set its inputs, sample `outputs`, then tick one clock.

    The sample of step i is taken after the inputs of step i settle and before the clock edge that ends it.
    """
    results: list[dict] = []

    async def bench(ctx):
        for step in steps:
            for name, value in step.items():
                ctx.set(getattr(dut, name), value)
            results.append({name: ctx.get(getattr(dut, name)) for name in outputs})
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return results
