"""Array tiles through DqtTop in amaranth.sim vs golden views + numpy matmul + requant, and the tile cycle count."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from golden.spec import NestedSpec
from rtl.params import RtlConfig
from rtl.top import DqtTop
from sim.config import ArrayConfig
from sim.tile import os_layer_schedule, os_load_cycles, os_tile_cycles
from verify.amaranth_sim import run_tile, run_tiles
from verify.tile_job import TileJob, drain_order, expected_tile, tile_lanes
from verify.vectors import random_tile_job


def random_job(cfg: RtlConfig, k_len: int, seed: int, mode: str, b_w: int, b_a: int, res_en: bool,
               a_signed: bool = False) -> TileJob:
    """random_tile_job of the whole (logical) tile at these widths, with the largest master codes in W[0, 0] and
    A[0, 0] (saturating round-up in the views)."""
    lanes_w, lanes_a = tile_lanes(b_w, b_a, cfg.fusion_widths)
    job = random_tile_job(np.random.default_rng(seed), cfg.rows * lanes_w, cfg.cols * lanes_a, k_len, b_w, b_a,
                          cfg.spec, mode, res_en, a_signed)
    job.weights[0, 0], job.acts[0, 0] = cfg.spec.code_range(True)[1], cfg.spec.code_range(a_signed)[1]
    return job


def check_tile(cfg: RtlConfig, job: TileJob, res: dict | None = None) -> dict:
    res = res or run_tile(DqtTop(cfg), cfg, job)
    expected, clamped = expected_tile(job, cfg.spec, cfg.out_range(job.config.mode))
    assert np.array_equal(res["y"], expected)
    assert np.array_equal(res["clamped"], clamped.astype(np.int64))
    lanes_w, lanes_a = tile_lanes(job.config.b_w, job.config.b_a, cfg.fusion_widths)
    assert res["cycles"] == res["busy_cycles"] == os_tile_cycles(cfg.rows, cfg.cols, job.config.k, lanes_w * lanes_a)
    assert res["done"] == 1
    assert res["row_order"] == drain_order(cfg.rows, lanes_w, lanes_a)
    return res


@pytest.mark.parametrize("rows,cols,k_len,mode,b_w,b_a,res_en,a_signed", [
    (3, 5, 7, "relu", 4, 6, True, False),
    (4, 2, 9, "signed", 8, 8, False, True),
    (2, 3, 5, "logits", 2, 8, False, False),
    (1, 1, 1, "wide", 6, 2, False, False),
    (1, 4, 6, "relu", 3, 5, False, False),
])
def test_tile_matches_golden(rows, cols, k_len, mode, b_w, b_a, res_en, a_signed):
    cfg = RtlConfig(array=ArrayConfig(rows=rows, cols=cols), k_max=16)
    job = random_job(cfg, k_len, seed=rows * 100 + cols, mode=mode, b_w=b_w, b_a=b_a, res_en=res_en, a_signed=a_signed)
    check_tile(cfg, job)  # clamped flags included: exactly the outputs whose requant lay outside the range


def test_tile_n6_narrow_acc_spec():
    spec = NestedSpec(n_bits=6, acc_bits=20, m_bits=10, candidates=(2, 4, 6))
    cfg = RtlConfig(array=ArrayConfig(rows=3, cols=2, spec=spec), k_max=8)
    check_tile(cfg, random_job(cfg, 8, seed=7, mode="relu", b_w=3, b_a=5, res_en=True))


def test_back_to_back_tiles_keep_count_and_results():
    """Tiles run one after another without reset: accumulators clear, the skew chains flush, the count restarts;
    a short K right after a long K must not see leftovers of the long one."""
    cfg = RtlConfig(array=ArrayConfig(rows=3, cols=2), k_max=12)
    jobs = [random_job(cfg, k_len, seed=k_len, mode="signed", b_w=8, b_a=4, res_en=False) for k_len in (12, 1, 5)]
    for job, res in zip(jobs, run_tiles(DqtTop(cfg), cfg, jobs)):
        check_tile(cfg, job, res)


@pytest.mark.parametrize("rows,cols,k_len", [(3, 2, 12), (4, 3, 2), (1, 1, 1)])
def test_overlapped_loads_follow_the_layer_schedule(rows, cols, k_len):
    """Double-buffered operands: tile i+1 loads while tile i runs; every tile exact, each tile T cycles, and
    the whole sequence takes sim.tile.os_layer_schedule(...).total edges from the first write to the last done."""
    cfg = RtlConfig(array=ArrayConfig(rows=rows, cols=cols), k_max=16)
    jobs = [random_job(cfg, k_len, seed=i, mode="relu", b_w=b, b_a=10 - b, res_en=i % 2 == 1)
            for i, b in enumerate((8, 2, 4, 6))]
    results = run_tiles(DqtTop(cfg), cfg, jobs, loads="overlap")
    for job, res in zip(jobs, results):
        check_tile(cfg, job, res)
    schedule = os_layer_schedule(rows, cols, k_len, len(jobs))
    assert results[-1]["edges"] == schedule.total
    assert schedule.load == os_load_cycles(rows, k_len) + len(jobs)  # every later load hides behind a tile


@pytest.mark.parametrize("rows,cols", [(1, 3), (2, 1), (1, 1)])
def test_one_deep_buffers_overlap_loads_and_rerun(rows, cols):
    """K_MAX = 1 (1-deep weight / activation banks) and R = 1 (1-deep bias/m/m_r and residual banks) have a
    constant row address (rtl/buffer.py ram_address): overlapped loads still follow the layer schedule, and a start
    without writes reruns the operands of the tile before."""
    cfg = RtlConfig(array=ArrayConfig(rows=rows, cols=cols), k_max=1)
    jobs = [random_job(cfg, 1, seed=i, mode="signed", b_w=b, b_a=10 - b, res_en=i % 2 == 0)
            for i, b in enumerate((8, 2, 5))]
    results = run_tiles(DqtTop(cfg), cfg, jobs, loads="overlap")
    for job, res in zip(jobs, results):
        check_tile(cfg, job, res)
    assert results[-1]["edges"] == os_layer_schedule(rows, cols, 1, len(jobs)).total
    rerun = [jobs[0], replace(jobs[0], config=replace(jobs[0].config, b_w=3, b_a=4))]
    for job, res in zip(rerun, run_tiles(DqtTop(cfg), cfg, rerun, loads="once")):
        check_tile(cfg, job, res)


def test_start_without_new_writes_reruns_the_same_operands():
    """No buffer write between two starts: no bank swap, the later tiles compute on the first one's operands
    (at other widths); a swap would read the other, never written bank."""
    cfg = RtlConfig(array=ArrayConfig(rows=2, cols=3), k_max=8)
    first = random_job(cfg, 5, seed=3, mode="wide", b_w=8, b_a=8, res_en=False)
    jobs = [first, *(replace(first, config=replace(first.config, b_w=b_w, b_a=b_a)) for b_w, b_a in ((4, 2), (8, 8)))]
    for job, res in zip(jobs, run_tiles(DqtTop(cfg), cfg, jobs, loads="once")):
        check_tile(cfg, job, res)


@pytest.mark.parametrize("fault,b_w,b_a", [("drop_round_bit", 4, 4), ("narrow_acc", 8, 8), ("no_align", 4, 4)])
def test_tile_faults_are_caught(fault, b_w, b_a):
    cfg = RtlConfig(array=ArrayConfig(rows=2, cols=3), k_max=16, fault=fault)
    job = random_job(cfg, 16, seed=5, mode="wide", b_w=b_w, b_a=b_a, res_en=False)
    res = run_tile(DqtTop(cfg), cfg, job)
    assert not np.array_equal(res["y"], expected_tile(job, cfg.spec, None)[0])


@pytest.mark.parametrize("rows,cols,k_len,mode,b_w,b_a,res_en,n_bits", [
    (3, 4, 10, "relu", 4, 6, True, 8), (2, 2, 5, "signed", 6, 3, False, 6)])
def test_generated_verilog_tile_in_icarus(tmp_path, rows, cols, k_len, mode, b_w, b_a, res_en, n_bits):
    """The emitted Verilog (not the Amaranth model) in Icarus: same golden results and cycle count."""
    from verify.verilog_sim import run_tile_iverilog

    spec = NestedSpec(n_bits=n_bits, acc_bits=4 * n_bits, candidates=(n_bits,))
    cfg = RtlConfig(array=ArrayConfig(rows=rows, cols=cols, spec=spec), k_max=16)
    job = random_job(cfg, k_len, seed=11, mode=mode, b_w=b_w, b_a=b_a, res_en=res_en)
    check_tile(cfg, job, run_tile_iverilog(cfg, job, tmp_path))


FUSED_WIDTH_PAIRS = [(b_w, b_a) for b_w in (2, 3, 4, 5, 8) for b_a in (2, 4, 7, 8)]


@pytest.mark.parametrize("b_w,b_a", FUSED_WIDTH_PAIRS)
def test_fused_tile_matches_golden(b_w, b_a):
    """Fused PE, every supported width pair and rounded-up widths (3 -> 4, 5 / 7 -> 8): the (R·lanes_w) × (C·lanes_a)
    logical tile equals golden, drains in R·lanes_w·lanes_a + 1 cycles, rows in drain_order."""
    cfg = RtlConfig(array=ArrayConfig(rows=2, cols=3, pe_mode="fused"), k_max=8)
    check_tile(cfg, random_job(cfg, 6, seed=b_w * 10 + b_a, mode="relu", b_w=b_w, b_a=b_a, res_en=True,
                               a_signed=b_w == 3))


def test_fused_width_switching_and_overlapped_loads():
    """Back-to-back fused tiles at changing widths, each loaded while the one before runs: exact, and the sequence
    takes Σ (1 + T_i) + L_0 edges."""
    cfg = RtlConfig(array=ArrayConfig(rows=2, cols=2, pe_mode="fused"), k_max=8)
    pairs = [(8, 8), (2, 2), (4, 8), (2, 4), (8, 2), (3, 6)]
    jobs = [random_job(cfg, 5, seed=i, mode="signed", b_w=b_w, b_a=b_a, res_en=False) for i, (b_w, b_a) in enumerate(pairs)]
    results = run_tiles(DqtTop(cfg), cfg, jobs, loads="overlap")
    for job, res in zip(jobs, results):
        check_tile(cfg, job, res)
    lanes = [tile_lanes(b_w, b_a, cfg.fusion_widths) for b_w, b_a in pairs]
    first_load = os_load_cycles(cfg.rows * lanes[0][0], 5)
    assert results[-1]["edges"] == first_load + sum(1 + os_tile_cycles(2, 2, 5, lw * la) for lw, la in lanes)


def test_fused_lane_swap_fault_is_caught():
    cfg = RtlConfig(array=ArrayConfig(rows=2, cols=2, pe_mode="fused"), k_max=8, fault="lane_swap")
    job = random_job(cfg, 4, seed=1, mode="wide", b_w=4, b_a=8, res_en=False)
    res = run_tile(DqtTop(cfg), cfg, job)
    assert not np.array_equal(res["y"], expected_tile(job, cfg.spec, None)[0])


def extreme_job(cfg: RtlConfig, b_w: int, b_a: int, seed: int) -> TileJob:
    """A fused tile at K = K_MAX whose every product has the largest magnitude its lane widths allow: weights at
    the most negative code (view -2^(b_w-1)), unsigned activations at the largest (view 2^b_a - 1), bias 0, wide
    output (acc' itself)."""
    job = random_job(cfg, cfg.k_max, seed=seed, mode="wide", b_w=b_w, b_a=b_a, res_en=False)
    job.weights[:] = cfg.spec.code_range(True)[0]
    job.acts[:] = cfg.spec.code_range(False)[1]
    job.bias[:] = 0
    return job


EXTREME_WIDTH_PAIRS = [(2, 2), (4, 4), (4, 8), (8, 4), (2, 8), (8, 2), (4, 2), (2, 4)]  # every lane pair's widest


def test_fused_lane_accumulators_hold_their_extreme_sums():
    """Lane pairs other than (0, 0) have accumulators sized to their bound (rtl.fused_pe.lane_pair_acc_bits): at
    K = K_MAX with every product at its extreme, each lane pair's sum equals golden (no wrap), at every lane mode."""
    cfg = RtlConfig(array=ArrayConfig(rows=2, cols=2, pe_mode="fused"), k_max=8)
    jobs = [extreme_job(cfg, b_w, b_a, seed=i) for i, (b_w, b_a) in enumerate(EXTREME_WIDTH_PAIRS)]
    for job, res in zip(jobs, run_tiles(DqtTop(cfg), cfg, jobs)):
        check_tile(cfg, job, res)

