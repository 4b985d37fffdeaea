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


def pack_lanes(values, bits: int) -> int:
    """Pack integers (two's complement, `bits` each) into one word, lane 0 in the least significant bits."""
    mask = (1 << bits) - 1
    word = 0
    for lane, value in enumerate(values):
        word |= (int(value) & mask) << (lane * bits)
    return word


def unpack_lanes(word: int, count: int, bits: int, signed: bool = True) -> list[int]:
    """Inverse of pack_lanes."""
    mask = (1 << bits) - 1
    lanes = [(word >> (lane * bits)) & mask for lane in range(count)]
    return [v - (1 << bits) if signed and v >> (bits - 1) else v for v in lanes]


def run_tiles(top, cfg, jobs, max_cycles: int = 100_000) -> list[dict]:
    """Load each TileJob into one DqtTop simulation through its write ports, start it, collect the output rows.

    Tiles run back to back in the same simulation (no reset in between). Per job returns {"y": (R, C) int64,
    "clamped": (R, C) int64, "cycles": counter after done, "busy_cycles": cycles observed with busy = 1,
    "row_order": output row order, "done": done flag}.
    """
    import numpy as np

    from .tile_model import mode_code

    rows, cols, n = cfg.rows, cfg.cols, cfg.code_bits
    results = []

    async def load(ctx, job):
        k_len = job.weights.shape[1]
        for name, value in (("cfg_we", 1), ("cfg_b_w", job.b_w), ("cfg_b_a", job.b_a), ("cfg_a_signed", int(job.a_signed)),
                            ("cfg_mode", mode_code(job.mode)), ("cfg_s", job.s), ("cfg_res_en", int(job.res_en)),
                            ("cfg_k", k_len)):
            ctx.set(getattr(top, name), value)
        await ctx.tick()
        ctx.set(top.cfg_we, 0)
        ctx.set(top.w_we, 1)
        ctx.set(top.a_we, 1)
        for k in range(k_len):
            ctx.set(top.w_addr, k)
            ctx.set(top.a_addr, k)
            ctx.set(top.w_data, pack_lanes(job.weights[:, k], n))
            ctx.set(top.a_data, pack_lanes(job.acts[k, :], n))
            await ctx.tick()
        ctx.set(top.w_we, 0)
        ctx.set(top.a_we, 0)
        ctx.set(top.p_we, 1)
        ctx.set(top.r_we, 1)
        for i in range(rows):
            for name, value in (("p_row", i), ("p_bias", int(job.bias[i])), ("p_m", int(job.m[i])),
                                ("p_m_r", int(job.m_r[i])), ("r_row", i),
                                ("r_data", pack_lanes(job.resid[i, :], cfg.wide_bits))):
                ctx.set(getattr(top, name), value)
            await ctx.tick()
        ctx.set(top.p_we, 0)
        ctx.set(top.r_we, 0)

    async def run(ctx):
        ctx.set(top.start, 1)
        await ctx.tick()
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
        y = np.array([out_rows.get(i, ([0] * cols, None))[0] for i in range(rows)], dtype=np.int64)
        clamped = np.array([out_rows.get(i, (None, [0] * cols))[1] for i in range(rows)], dtype=np.int64)
        results.append({"y": y, "clamped": clamped, "cycles": ctx.get(top.cycles), "busy_cycles": busy,
                        "row_order": order, "done": ctx.get(top.done)})

    async def bench(ctx):
        for job in jobs:
            await load(ctx, job)
            await run(ctx)

    sim = Simulator(top)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return results


def run_tile(top, cfg, job, max_cycles: int = 100_000) -> dict:
    """One tile from reset: run_tiles(top, cfg, [job])[0]."""
    return run_tiles(top, cfg, [job], max_cycles)[0]
