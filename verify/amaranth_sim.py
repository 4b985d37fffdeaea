"""Drivers around amaranth.sim used by the RTL tests (no external simulator needed): combinational and clocked
units, and DqtTop tiles (the load/run protocol of rtl/top.py with the words of verify/tile_job.py)."""
from __future__ import annotations

import numpy as np
from amaranth.sim import Simulator

from rtl.params import OUT_MODES

from .tile_job import TileJob, load_words, unpack_lanes


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


def run_tiles(top, cfg, jobs: list[TileJob], max_cycles: int = 100_000) -> list[dict]:
    """Load each TileJob into one DqtTop simulation through its write ports, start it, collect the output rows.

    Tiles run back to back in the same simulation (no reset in between). Per job returns {"y": (R, C) int64,
    "clamped": (R, C) int64, "cycles": counter after done, "busy_cycles": cycles observed with busy = 1,
    "row_order": output row order, "done": done flag}.
    """
    rows, cols = cfg.rows, cfg.cols
    results = []

    async def load(ctx, job):
        words = load_words(job, cfg.code_bits, cfg.wide_bits)
        for t in range(words.cycles):
            for port, addr, data, rows_of in ((top.w_we, top.w_addr, top.w_data, words.weights),
                                              (top.a_we, top.a_addr, top.a_data, words.acts),
                                              (top.r_we, top.r_row, top.r_data, words.resid)):
                ctx.set(port, int(t < len(rows_of)))
                if t < len(rows_of):
                    ctx.set(addr, t)
                    ctx.set(data, rows_of[t])
            ctx.set(top.p_we, int(t < len(words.params)))
            if t < len(words.params):
                for name, value in zip(("p_bias", "p_m", "p_m_r"), words.params[t]):
                    ctx.set(getattr(top, name), value)
                ctx.set(top.p_row, t)
            await ctx.tick()
        for port in (top.w_we, top.a_we, top.p_we, top.r_we):
            ctx.set(port, 0)

    async def run(ctx, job):
        c = job.config
        for name, value in (("cfg_we", 1), ("cfg_b_w", c.b_w), ("cfg_b_a", c.b_a), ("cfg_a_signed", int(c.a_signed)),
                            ("cfg_mode", OUT_MODES[c.mode]), ("cfg_s", c.s), ("cfg_res_en", int(c.res_en)),
                            ("cfg_k", c.k), ("start", 1)):
            ctx.set(getattr(top, name), value)
        await ctx.tick()
        ctx.set(top.cfg_we, 0)
        ctx.set(top.start, 0)
        busy, out_rows, order = 0, {}, []
        while ctx.get(top.busy) and busy < max_cycles:
            busy += 1
            if ctx.get(top.out_valid):
                row = ctx.get(top.out_row)
                order.append(row)
                out_rows[row] = (unpack_lanes(ctx.get(top.out_data), cols, cfg.out_bits),
                                 unpack_lanes(ctx.get(top.out_clamped), cols, 1, signed=False))
            await ctx.tick()
        y = np.array([out_rows[i][0] if i in out_rows else [0] * cols for i in range(rows)], dtype=np.int64)
        clamped = np.array([out_rows[i][1] if i in out_rows else [0] * cols for i in range(rows)], dtype=np.int64)
        results.append({"y": y, "clamped": clamped, "cycles": ctx.get(top.cycles), "busy_cycles": busy,
                        "row_order": order, "done": ctx.get(top.done)})

    async def bench(ctx):
        for job in jobs:
            await load(ctx, job)
            await run(ctx, job)

    sim = Simulator(top)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return results


def run_tile(top, cfg, job: TileJob, max_cycles: int = 100_000) -> dict:
    """One tile from reset: run_tiles(top, cfg, [job])[0]."""
    return run_tiles(top, cfg, [job], max_cycles)[0]
