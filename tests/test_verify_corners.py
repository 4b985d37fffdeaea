"""Corner tiles at the proven bounds (verify/corners.py), the protocol model (verify/protocol.py) against the RTL in
amaranth.sim, and the coverage bins (verify/coverage.py) — without a Verilog simulator."""
from __future__ import annotations

import numpy as np
import pytest

from golden.primitives import align_shift
from rtl.params import RtlConfig
from rtl.top import DqtTop
from sim.config import ArrayConfig
from sim.tile import os_tile_cycles
from verify.amaranth_sim import clocked_eval, run_tile
from verify.corners import corner_tiles, design_corner_tiles, snake_pairs
from verify.coverage import Coverage, format_coverage, merge, missing_targets, targets
from verify.protocol import CFG_PORTS, EdgeInputs, ProtocolModel, Registers, reset_registers
from verify.tile_job import expected_tile, tile_acc


class _Params:
    """The DutParams fields design_corner_tiles reads, from an RtlConfig (no manifest needed)."""

    def __init__(self, cfg: RtlConfig):
        self.rows, self.cols, self.k_max, self.spec = cfg.rows, cfg.cols, cfg.k_max, cfg.spec
        self.fusion_widths, self.widths, self.out_range = cfg.fusion_widths, range(2, cfg.spec.n_bits + 1), cfg.out_range


@pytest.fixture(scope="module")
def corner_jobs():
    cfg = RtlConfig(array=ArrayConfig(rows=3, cols=5), k_max=64)
    return cfg, design_corner_tiles(_Params(cfg))


def test_corners_reach_the_proven_bounds(corner_jobs):
    """|acc| reaches 2^(N-1)·(2^N-1)·K_MAX exactly, x = acc' + bias both ACC limits, every pair is covered."""
    cfg, jobs = corner_jobs
    spec = cfg.spec
    bound = (1 << 7) * 255 * 64
    acc_min = min(int(tile_acc(j.weights, j.acts, j.config.b_w, j.config.b_a, j.config.a_signed, spec).min())
                  for _, j in jobs)
    assert acc_min == -bound and (bound - 1).bit_length() + 1 == cfg.pe_acc_bound_bits
    xs = [(tile_acc(j.weights, j.acts, j.config.b_w, j.config.b_a, j.config.a_signed, spec)
           << align_shift(j.config.b_w, j.config.b_a, spec)) + j.bias[:, None] for _, j in jobs]
    lo, hi = spec.acc_range
    assert any((x == lo).any() for x in xs) and any((x == hi).any() for x in xs)
    assert {(j.config.b_w, j.config.b_a) for _, j in jobs} == {(a, b) for a in range(2, 9) for b in range(2, 9)}
    assert {j.config.mode for _, j in jobs} == {"relu", "signed", "logits", "wide"}


def test_corner_tie_tiles_are_exact_ties():
    cfg = RtlConfig(array=ArrayConfig(rows=4, cols=2), k_max=16)
    for index in range(6):
        kind, job = corner_tiles(5, 3, index, 4, 2, 16, cfg.spec, cfg.out_range, np.random.default_rng(index))[-1]
        c = job.config
        x = (tile_acc(job.weights, job.acts, 5, 3, False, cfg.spec) << align_shift(5, 3, cfg.spec)) + job.bias[:, None]
        t = x * job.m[:, None] + (job.resid * job.m_r[:, None] if c.res_en else 0)
        assert kind == "tie" and c.s > 0 and np.all((t & ((1 << c.s) - 1)) == 1 << (c.s - 1))
        assert (t > 0).any() and (t < 0).any()


def test_snake_pairs_switch_one_width_at_a_time():
    pairs = snake_pairs(range(2, 6))
    assert sorted(pairs) == [(a, b) for a in range(2, 6) for b in range(2, 6)]
    assert all((p[0] == q[0]) != (p[1] == q[1]) for p, q in zip(pairs, pairs[1:]))


def test_corner_tile_in_amaranth_sim_matches_golden(corner_jobs):
    """The first wide and requant corner tiles of (2, 2) through the RTL (amaranth.sim): exact."""
    cfg, jobs = corner_jobs
    for _, job in jobs[:2]:
        res = run_tile(DqtTop(cfg), cfg, job)
        want, clamped = expected_tile(job, cfg.spec, cfg.out_range(job.config.mode))
        assert np.array_equal(res["y"], want) and np.array_equal(res["clamped"], clamped.astype(np.int64))


STATUS = ("busy", "done", "cycles", "out_valid", "out_row")


def _steps(cfg: RtlConfig) -> list[dict]:
    """Inputs per cycle: a start with K = 3, start/cfg writes/buffer writes while busy, a start in the cycle after
    done on the registers (no cfg write), idle cycles."""
    regs = {"cfg_b_w": 8, "cfg_b_a": 8, "cfg_a_signed": 0, "cfg_mode": 3, "cfg_s": 0, "cfg_res_en": 0, "cfg_k": 3}
    idle = {"start": 0, "cfg_we": 0, "w_we": 0, **{k: 0 for k in regs}}
    t1 = os_tile_cycles(cfg.rows, cfg.cols, 3)
    steps = [dict(idle) for _ in range(2)]
    steps.append({**idle, "start": 1, "cfg_we": 1, **regs})
    steps += [{**idle, "start": 1, "cfg_we": 1, "w_we": 1, "cfg_k": 1} for _ in range(2)]  # ignored while busy
    steps += [dict(idle) for _ in range(t1 - 2)]
    steps.append({**idle, "start": 1})  # the cycle after done: on the registers
    steps += [dict(idle) for _ in range(t1 + 3)]
    return steps


def _model_trace(cfg: RtlConfig, steps: list[dict]) -> list[tuple]:
    model = ProtocolModel(cfg.rows, cfg.cols, cfg.spec.n_bits, cfg.fusion_widths)
    trace = [model.expected()]
    for step in steps:
        regs = Registers(*(step[name] for name in CFG_PORTS)) if step["cfg_we"] else None
        model.edge(EdgeInputs(0, step["start"], step["cfg_we"], regs, bool(step["w_we"])))
        trace.append(model.expected())
    return [(s.busy, s.done, s.cycles, s.out_valid, s.out_row[0] if s.out_row else None) for s in trace], model


@pytest.mark.parametrize("fault", [None, "busy_stuck_0", "busy_stuck_1"])
def test_protocol_model_agrees_with_the_rtl(fault):
    """Every status output of DqtTop (amaranth.sim) equals ProtocolModel's prediction on every cycle; a stuck busy
    is a disagreement on every cycle it differs."""
    cfg = RtlConfig(array=ArrayConfig(rows=2, cols=3), k_max=8, fault=fault)
    steps = _steps(cfg)
    got = clocked_eval(DqtTop(cfg), steps + [{}], STATUS)
    want, model = _model_trace(cfg, steps)
    rows = [(g["busy"], g["done"], g["cycles"], g["out_valid"], g["out_row"] if g["out_valid"] else None) for g in got]
    bad = sum(w != g for w, g in zip(want, rows))
    if fault is None:
        assert bad == 0, [(i, w, g) for i, (w, g) in enumerate(zip(want, rows)) if w != g]
        assert model.events["start while busy (ignored)"] == 2 and model.events["start in the cycle after done"] == 1
        assert model.events["start on the previous operands"] == 1
    else:  # exactly the cycles whose busy differs from the stuck value, nothing else
        assert bad == sum(w[0] != int(fault[-1]) for w in want) >= 8


def test_reset_registers_match_the_rtl_inits():
    """RESET_CONFIG of rule P1 is what the tile after reset runs on: widths N, K = 1."""
    regs = reset_registers(8)
    assert (regs.cfg_b_w, regs.cfg_b_a, regs.cfg_k, regs.cfg_mode, regs.cfg_s, regs.cfg_res_en) == (8, 8, 1, 0, 0, 0)


def test_coverage_bins_and_targets(corner_jobs):
    cfg, jobs = corner_jobs
    cov = Coverage(cfg.spec)
    for _, job in jobs:
        cov.sample_tile(job, cfg.out_range(job.config.mode))
    wanted = set(targets(cfg.spec, cfg.k_max))
    empty = missing_targets(cov.counts, wanted)
    assert all(b.startswith("protocol") for b in empty) and empty  # only the protocol bench's events remain
    counts, merged_targets = merge([{"coverage": cov.counts, "coverage_targets": sorted(wanted)}] * 2)
    assert merged_targets == wanted and counts["output mode: wide"] == 2 * cov.counts["output mode: wide"]
    table = format_coverage(counts, merged_targets)
    assert "|acc| bits" in table and "protocol" in table and "total" in table
    with pytest.raises(KeyError):
        cov.hit("output mode", "bogus")


def test_parse_pairs():
    from verify.corners import parse_pairs

    assert parse_pairs("") is None and parse_pairs("8/8, 2/4") == {(8, 8), (2, 4)}
    with pytest.raises(ValueError, match="VERIFY_PAIRS"):
        parse_pairs("8x8")


@pytest.mark.parametrize("fault", ["acc_one_short", "align_one_short"])
def test_width_faults_fail_the_first_corner_tile(fault):
    """The (2, 2) wide corner tile (acc' + bias at the ACC limits, align 12) in amaranth.sim: wrong under each fault."""
    cfg = RtlConfig(array=ArrayConfig(rows=3, cols=5), k_max=64, fault=fault)
    _, job = design_corner_tiles(_Params(cfg), pairs={(2, 2)})[0]
    res = run_tile(DqtTop(cfg), cfg, job)
    assert (res["y"] != expected_tile(job, cfg.spec, None)[0]).sum() >= 5


def test_write_run_bank_fault_breaks_overlapped_loads():
    """Loads overlapped with the running tile (the double-buffered schedule): exact, and wrong under write_run_bank."""
    from verify.amaranth_sim import run_tiles

    outcomes = []
    for fault in (None, "write_run_bank"):
        cfg = RtlConfig(array=ArrayConfig(rows=2, cols=3), k_max=8, fault=fault)
        jobs = [j for _, j in design_corner_tiles(_Params(cfg), pairs={(8, 8), (4, 6)})][:3]
        results = run_tiles(DqtTop(cfg), cfg, jobs, loads="overlap")
        outcomes.append(all(np.array_equal(r["y"], expected_tile(j, cfg.spec, cfg.out_range(j.config.mode))[0])
                            for j, r in zip(jobs, results)))
    assert outcomes == [True, False]
