"""Drivers around amaranth.sim used by the RTL tests (no external simulator needed): combinational and clocked
units, and DqtTop tiles (the load/run protocol of rtl/top.py with the words of verify/tile_job.py)."""
from __future__ import annotations

import numpy as np
from amaranth.sim import Simulator

from rtl.params import OUT_MODES

from .tile_job import TileJob, load_words, tile_lanes, unpack_lanes


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


LOAD_SCHEDULES = ("serial", "overlap", "once")


def run_tiles(top, cfg, jobs: list[TileJob], loads: str = "serial", max_cycles: int = 100_000) -> list[dict]:
    """Load each TileJob into one DqtTop simulation through its write ports, start it, collect the output rows.

    Tiles run back to back in the same simulation (no reset in between). loads: "serial" loads each tile before
    its start; "overlap" loads tile i+1 while tile i runs (the double-buffered schedule of rtl/top.py); "once"
    loads only the first tile, every later one runs on its operands (with its own config). Per job
    returns {"y": (R', C') int64, "clamped": (R', C') int64 (R' = R·lanes_w, C' = C·lanes_a; tile_lanes),
    "cycles": counter after done, "busy_cycles": cycles observed with busy = 1, "row_order": (out_row, out_alane)
    in output order, "done": done flag, "edges": clock edges from the first load's first write to this tile's end}.
    """
    if loads not in LOAD_SCHEDULES:
        raise ValueError(f"loads must be one of {', '.join(LOAD_SCHEDULES)}, got {loads!r}")
    rows, cols = cfg.rows, cfg.cols
    results = []
    edges = 0
    tile = {}  # the running tile's observations

    async def tick(ctx):
        nonlocal edges
        if tile and ctx.get(top.busy):
            tile["busy"] += 1
            if ctx.get(top.out_valid):
                row = (ctx.get(top.out_row), ctx.get(top.out_alane) if cfg.pe_mode == "fused" else 0)
                tile["order"].append(row)
                tile["rows"][row] = (unpack_lanes(ctx.get(top.out_data), cols, cfg.out_bits),
                                     unpack_lanes(ctx.get(top.out_clamped), cols, 1, signed=False))
        await ctx.tick()
        edges += 1

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
            await tick(ctx)
        for port in (top.w_we, top.a_we, top.p_we, top.r_we):
            ctx.set(port, 0)

    async def start(ctx, job):
        c = job.config
        for name, value in (("cfg_we", 1), ("cfg_b_w", c.b_w), ("cfg_b_a", c.b_a), ("cfg_a_signed", int(c.a_signed)),
                            ("cfg_mode", OUT_MODES[c.mode]), ("cfg_s", c.s), ("cfg_res_en", int(c.res_en)),
                            ("cfg_k", c.k), ("start", 1)):
            ctx.set(getattr(top, name), value)
        await tick(ctx)
        ctx.set(top.cfg_we, 0)
        ctx.set(top.start, 0)
        tile.update(busy=0, rows={}, order=[], lanes=tile_lanes(c.b_w, c.b_a, cfg.fusion_widths))

    async def finish(ctx):
        while ctx.get(top.busy) and tile["busy"] < max_cycles:
            await tick(ctx)
        lanes_w, lanes_a = tile["lanes"]
        y = np.zeros((rows * lanes_w, cols * lanes_a), dtype=np.int64)
        clamped = np.zeros_like(y)
        for (f, q), (values, flags) in tile["rows"].items():
            if f < rows * lanes_w and q < lanes_a:
                y[f, q * cols:(q + 1) * cols], clamped[f, q * cols:(q + 1) * cols] = values, flags
        results.append({"y": y, "clamped": clamped, "cycles": ctx.get(top.cycles), "busy_cycles": tile["busy"],
                        "row_order": tile["order"], "done": ctx.get(top.done), "edges": edges})
        tile.clear()

    async def bench(ctx):
        for i, job in enumerate(jobs):
            if i == 0 or loads == "serial":
                await load(ctx, job)
            await start(ctx, job)
            if loads == "overlap" and i + 1 < len(jobs):
                await load(ctx, jobs[i + 1])
            await finish(ctx)

    sim = Simulator(top)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return results


def run_tile(top, cfg, job: TileJob, max_cycles: int = 100_000) -> dict:
    """One tile from reset: run_tiles(top, cfg, [job])[0]."""
    return run_tiles(top, cfg, [job], max_cycles=max_cycles)[0]
