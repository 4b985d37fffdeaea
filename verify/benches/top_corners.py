"""DqtTop corner and protocol benches, with the protocol checker (verify/protocol.py) on every cycle and
functional coverage (verify/coverage.py) in the records.

    corner_tiles     every corner tile of verify/corners.py (the proven bounds, every width pair or those of
                     VERIFY_PAIRS, e.g. "8/8,2/2"), scored like every
                     tile (outputs, clamp flags, cycles); each tile's successor loads into the free bank while it
                     runs whenever that load ends before the first output row
    protocol_rules   the configuration registers' reset values (a tile started without a cfg write right after
                     reset runs on RESET_CONFIG), buffer writes plus start and cfg writes during a running tile
                     (writes go to the load bank, start and cfg are ignored: the running tile stays exact and the
                     next one computes on the new operands), a rerun on the previous operands, a start in the cycle
                     after done
"""
from __future__ import annotations

import os
import time

import cocotb
import numpy as np

from sim.tile import os_fold_cycles

from ..corners import design_corner_tiles, parse_pairs
from ..coverage import Coverage, targets
from ..manifest import DutParams
from ..protocol import ProtocolChecker, reset_registers
from ..records import write_record
from ..runner import env_int
from ..scoreboard import Scoreboard
from ..tb.finish import finish
from ..tb.top import start_top
from ..tile_check import score_tile, tile_timeout
from ..tile_job import TileConfig, TileJob, tile_lanes
from ..vectors import random_codes, random_tile_job


async def _setup(dut):
    p = DutParams.load()
    drv, mon = await start_top(dut, p)
    return p, drv, mon, ProtocolChecker(dut, p).start(), Coverage(p.spec)


def _finish_all(p, t0, checker: ProtocolChecker, cov: Coverage, *boards: Scoreboard, **extra) -> None:
    """Record every scoreboard (the protocol one carries the coverage), then fail on any mismatch."""
    checker.stop()
    cov.add_events(checker.events())
    for board in boards:
        write_record(board, time.perf_counter() - t0, **extra)
    finish(checker.board, t0, coverage=cov.counts, coverage_targets=targets(p.spec, p.k_max), **extra)
    for board in boards:
        board.assert_clean()


@cocotb.test()
async def corner_tiles(dut):
    """Every corner tile of the design, each loaded, run, scored; the protocol checker runs throughout."""
    t0 = time.perf_counter()
    p, drv, mon, checker, cov = await _setup(dut)
    board, cycles = Scoreboard("corner_outputs"), Scoreboard("corner_cycles")
    jobs = design_corner_tiles(p, env_int("seed", 17), parse_pairs(os.environ.get("VERIFY_PAIRS", "")))
    await drv.load(drv.words(jobs[0][1]))
    for i, (tile_id, job) in enumerate(jobs):
        await drv.start(job.config, mon)
        after = drv.words(jobs[i + 1][1]) if i + 1 < len(jobs) else None
        # the next tile loads into the free bank while this one computes, if the load ends before the first output
        # row (the monitor samples from then on); otherwise after it
        overlap = after is not None and after.cycles <= os_fold_cycles(p.rows, p.cols, job.config.k)
        if overlap:
            await drv.load(after)
        score_tile(p, board, cycles, tile_id, job, await drv.finish(mon, tile_timeout(p, job)))
        if after is not None and not overlap:
            await drv.load(after)
        cov.sample_tile(job, p.out_range(job.config.mode))
    _finish_all(p, t0, checker, cov, board, cycles, tiles=len(jobs), shape=f"{p.rows}x{p.cols}")


def _reset_config_job(rng, p) -> TileJob:
    """A K = 1 tile at RESET_CONFIG whose result differs under any other register value: activation codes in
    [2^(N-1), 2^N) (negative if read as signed), odd codes (a narrower view rounds them), results spread over
    [-64, 2^N + 64] by the bias (relu clamps both sides, signed and logits would differ), s = 0, a residual that
    res_en = 1 would add."""
    regs = reset_registers(p.spec.n_bits)
    n = p.spec.n_bits
    lanes_w, lanes_a = tile_lanes(regs.cfg_b_w, regs.cfg_b_a, p.fusion_widths)
    rows, cols = p.rows * lanes_w, p.cols * lanes_a
    w = random_codes(rng, (rows, 1), True, p.spec) | 1
    a = rng.integers(1 << (n - 1), 1 << n, size=(1, cols)) | 1
    target = rng.integers(-64, (1 << n) + 64, size=rows)
    bias = (target - w[:, 0] * a[0, 0]).astype(np.int64)
    ones = np.ones(rows, dtype=np.int64)
    resid = rng.integers(1, 1 << n, size=(rows, cols))
    mode = next(name for name, code in p.out_modes.items() if code == regs.cfg_mode)
    cfg = TileConfig(regs.cfg_b_w, regs.cfg_b_a, bool(regs.cfg_a_signed), mode, regs.cfg_s, bool(regs.cfg_res_en),
                     regs.cfg_k)
    return TileJob(w, a.astype(np.int64), bias, ones, ones, resid.astype(np.int64), cfg)


@cocotb.test()
async def protocol_rules(dut):
    """Reset values, writes / start / cfg during a running tile, rerun without new operands, start right after
    done; every tile scored, the protocol checker on every cycle."""
    t0 = time.perf_counter()
    p, drv, mon, checker, cov = await _setup(dut)
    rng = np.random.default_rng(env_int("seed", 17) + 1)
    board, cycles = Scoreboard("protocol_outputs"), Scoreboard("protocol_cycles")

    async def reset_config_tile(tag: str) -> None:
        """P1: after reset, a start without a cfg write runs on the reset values of every register."""
        job0 = _reset_config_job(rng, p)
        await drv.load(drv.words(job0))
        await drv.start(job0.config, mon, write_cfg=False)
        score_tile(p, board, cycles, (tag,), job0, await drv.finish(mon, tile_timeout(p, job0)))
        cov.sample_tile(job0, p.out_range(job0.config.mode))

    await reset_config_tile("reset_config")
    for rep in range(env_int("protocol_repeats", 3)):
        b_w, b_a = (int(b) for b in rng.choice(p.widths, size=2))
        b_w2, b_a2 = (int(b) for b in rng.choice(p.widths, size=2))
        lanes_w, lanes_a = tile_lanes(b_w, b_a, p.fusion_widths)
        lanes_w2, lanes_a2 = tile_lanes(b_w2, b_a2, p.fusion_widths)
        filters = p.rows * max(lanes_w, lanes_w2)
        k = int(rng.integers(min(p.k_max, max(filters, 2)), p.k_max + 1))
        job_a = random_tile_job(rng, p.rows * lanes_w, p.cols * lanes_a, k, b_w, b_a, p.spec)
        job_b = random_tile_job(rng, p.rows * lanes_w2, p.cols * lanes_a2, k, b_w2, b_a2, p.spec)
        await drv.load(drv.words(job_a))
        await drv.start(job_a.config, mon)
        # P10/P2/P3: while tile A runs, load B's operands with start and cfg_we held high on a bogus config
        dut.start.value, dut.cfg_we.value = 1, 1
        dut.cfg_k.value, dut.cfg_b_w.value, dut.cfg_b_a.value = 1, 2, 2
        await drv.load(drv.words(job_b))
        dut.start.value, dut.cfg_we.value = 0, 0
        score_tile(p, board, cycles, (rep, "running"), job_a, await drv.finish(mon, tile_timeout(p, job_a)))
        # the next tile starts in the cycle after done, on the operands written during A
        await drv.start(job_b.config, mon)
        score_tile(p, board, cycles, (rep, "loaded_while_busy"), job_b, await drv.finish(mon, tile_timeout(p, job_b)))
        # no write since the last start: the registers and operands of B again
        await drv.start(job_b.config, mon, write_cfg=False)
        score_tile(p, board, cycles, (rep, "rerun"), job_b, await drv.finish(mon, tile_timeout(p, job_b)))
        for job in (job_a, job_b, job_b):
            cov.sample_tile(job, p.out_range(job.config.mode))
    # a reset during a running tile: every status output and register back to its reset value (P1)
    await drv.start(TileConfig(p.spec.n_bits, 2, False, "wide", 0, False, p.k_max), mon)
    for rst in (0, 0, 1, 1):
        dut.rst.value = rst
        await drv.tick()
    dut.rst.value = 0
    await reset_config_tile("reset_while_busy")
    _finish_all(p, t0, checker, cov, board, cycles, shape=f"{p.rows}x{p.cols}")
