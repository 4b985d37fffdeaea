"""Fused PEs, bit-plane layout, memory reuse, partial-sum spill, stalls and energy on hand-computed cases."""
import json

import numpy as np
import pytest

from golden.costs import layer_costs
from golden.plan import parse_plan
from golden.spec import DEFAULT_SPEC, NestedSpec
from golden.topologies import topology
from sim.config import ArrayConfig
from sim.dataflow import plan_folds
from sim.energy import DEFAULT_ENERGY, EnergyTable, energy_from_mapping, load_energy
from sim.precision import fused_width, fusion_lanes, fusion_widths, stored_bits
from sim.simulate import simulate_network, simulate_workload
from sim.tile import os_layer_schedule, os_load_cycles, os_readout_cycles, os_tile_cycles
from sim.workload import Workload


def gemm(m, k, n, b_w=8, b_a=8, in_elems=None, out_bits=8):
    return Workload(("l",), [m], [k], [n], [in_elems or k * n], [out_bits], [0], [8], [b_w], [b_a])


def test_fused_widths_round_up():
    assert fusion_widths(DEFAULT_SPEC) == (2, 4, 8)
    assert fused_width([2, 3, 4, 5, 6, 7, 8], DEFAULT_SPEC).tolist() == [2, 4, 4, 8, 8, 8, 8]
    assert fusion_lanes([2, 3, 4, 6, 8], DEFAULT_SPEC).tolist() == [4, 2, 2, 1, 1]
    assert fusion_widths(NestedSpec(n_bits=6, acc_bits=32, candidates=(2, 4, 6))) == (3, 6)


def test_fused_os_by_hand():
    """M=32 filters, K=18, N=64 pixels on 4×4, b_w=4 (2 lanes), b_a=2 (4 lanes): logical 16 pixel rows ×
    8 filter cols -> ⌈64/16⌉·⌈32/8⌉ = 16 folds of 4+4+18−2 = 24 cycles; 8 accumulators per PE to drain."""
    folds = plan_folds(gemm(32, 18, 64, b_w=4, b_a=2), ArrayConfig(rows=4, cols=4, pe_mode="fused"))
    assert folds.folds.tolist() == [16] and folds.fold_cycles.tolist() == [24]
    assert folds.busy_cycles.tolist() == [384] and folds.compute_cycles.tolist() == [383]
    assert folds.readout_cycles.tolist() == [16 * os_readout_cycles(4, 4, 8)] == [16 * (4 * 8 + 1)]
    assert folds.load_cycles.tolist() == [max(18, 4 * 2) + 16]  # first load + one issue cycle per tile, rest hidden
    fixed = plan_folds(gemm(32, 18, 64, b_w=4, b_a=2), ArrayConfig(rows=4, cols=4, pe_mode="fixed"))
    assert fixed.busy_cycles.tolist() == [16 * 8 * 24]  # ⌈64/4⌉·⌈32/4⌉ folds, width ignored


@pytest.mark.parametrize("dataflow", ["ws", "is"])
def test_fused_ws_is_by_hand(dataflow):
    """ws: ⌈18/4⌉ = 5 row folds × ⌈32/(4·2)⌉ = 4 col folds, T = ⌈64/4⌉ = 16 -> 20 folds of 2·4+4+16−2 = 26.
    is: 5 row folds × ⌈64/(4·4)⌉ = 4 col folds, T = ⌈32/2⌉ = 16 -> 20 folds of 26."""
    folds = plan_folds(gemm(32, 18, 64, b_w=4, b_a=2), ArrayConfig(rows=4, cols=4, dataflow=dataflow,
                                                                    pe_mode="fused"))
    assert folds.folds.tolist() == [20] and folds.fold_cycles.tolist() == [26]
    assert folds.busy_cycles.tolist() == [520] and folds.readout_cycles.tolist() == [0]
    assert folds.load_cycles.tolist() == [0]


def test_fused_six_bits_runs_as_eight():
    config = ArrayConfig(rows=4, cols=4, pe_mode="fused")
    six = plan_folds(gemm(32, 18, 64, b_w=6, b_a=6), config)
    eight = plan_folds(gemm(32, 18, 64, b_w=8, b_a=8), config)
    assert np.array_equal(six.busy_cycles, eight.busy_cycles)
    sim6 = simulate_workload(gemm(32, 18, 64, b_w=6, b_a=6), config)
    sim8 = simulate_workload(gemm(32, 18, 64, b_w=8, b_a=8), config)
    assert np.array_equal(sim6.energy_parts_pj["mac"], sim8.energy_parts_pj["mac"])


def test_bitplane_fetches_b_plus_one_planes():
    assert stored_bits([2, 4, 6, 7, 8], "bitplane", DEFAULT_SPEC).tolist() == [3, 5, 7, 8, 8]
    assert stored_bits([2, 4, 8], "packed", DEFAULT_SPEC).tolist() == [8, 8, 8]
    big = dict(weight_sram_kib=64, act_sram_kib=64, out_sram_kib=64)
    layer = gemm(4, 9, 16, b_w=4, b_a=2, in_elems=36)
    packed = simulate_workload(layer, ArrayConfig(rows=4, cols=4, layout="packed", **big)).traffic
    planes = simulate_workload(layer, ArrayConfig(rows=4, cols=4, layout="bitplane", **big)).traffic
    # weights 36 elements, activations 36 elements, outputs 4·16 at 8 bits = 64 bytes
    assert (packed.dram["weights"][0], packed.dram["inputs"][0], packed.dram["outputs"][0]) == (36, 36, 64)
    assert (planes.dram["weights"][0], planes.dram["inputs"][0]) == (23, 14)  # ⌈36·5/8⌉, ⌈36·3/8⌉
    assert planes.dram_bytes[0] == 23 + 14 + 64


def test_dram_reuse_picks_the_cheaper_blocking():
    """1 KiB buffers: cap = 4096 bits. W = 64·64·8 = 32768 bits (8 caps), I = 2048·8 = 16384 bits (4 caps).
    weights outer: W + 8·I = 163840; inputs outer: I + 4·W = 147456 -> inputs outer."""
    config = ArrayConfig(rows=4, cols=4, weight_sram_kib=1, act_sram_kib=1, out_sram_kib=1)
    t = simulate_workload(gemm(64, 64, 32, in_elems=2048), config).traffic
    assert (t.dram["weights"][0], t.dram["inputs"][0]) == (4 * 32768 // 8, 16384 // 8)
    roomy = simulate_workload(gemm(64, 64, 32, in_elems=2048), ArrayConfig(rows=4, cols=4)).traffic
    assert (roomy.dram["weights"][0], roomy.dram["inputs"][0]) == (4096, 2048)


def test_psum_spill_ws_by_hand():
    """ws on 4×4, K = 64 -> 16 row folds; one column fold holds min(64, 4)·64 pixels · 32 bits = 8192 bits
    > 4096 (half of 1 KiB): spill 2·15·(64·64)·32 bits = 491520 bytes. os never spills."""
    config = dict(rows=4, cols=4, out_sram_kib=1)
    ws = simulate_workload(gemm(64, 64, 64), ArrayConfig(dataflow="ws", **config)).traffic
    assert ws.dram["psums"].tolist() == [491520]
    assert simulate_workload(gemm(64, 64, 32), ArrayConfig(dataflow="ws", rows=4, cols=4, out_sram_kib=1)
                             ).traffic.dram["psums"].tolist() == [0]  # 4·32·32 = 4096 fits
    assert simulate_workload(gemm(64, 64, 64), ArrayConfig(dataflow="os", **config)).traffic.dram["psums"][0] == 0


def test_stalls_when_dram_outlasts_compute():
    layer = gemm(16, 16, 16)
    fast = simulate_workload(layer, ArrayConfig(rows=16, cols=16, dram_bytes_per_cycle=64))
    slow = simulate_workload(layer, ArrayConfig(rows=16, cols=16, dram_bytes_per_cycle=1))
    dram = 16 * 16 + 16 * 16 + 16 * 16  # weights, input, output bytes
    busy = 16 + 16 + 16 - 2
    assert fast.traffic.dram_bytes[0] == slow.traffic.dram_bytes[0] == dram
    assert fast.traffic.stall_cycles[0] == 0
    load = os_load_cycles(16, 16) + 1  # one tile: its load (nothing to hide behind) and its issue cycle
    assert slow.traffic.stall_cycles[0] == dram - busy - os_readout_cycles(16, 16) - load
    assert slow.cycles[0] == dram


def test_energy_by_hand():
    layer = gemm(2, 3, 4, b_w=4, b_a=2)
    sim = simulate_workload(layer, ArrayConfig(rows=4, cols=4))
    e = DEFAULT_ENERGY
    macs = 2 * 3 * 4
    assert sim.energy_parts_pj["mac"][0] == pytest.approx(macs * (e.mult_pj_8x8 * 4 * 2 / 64 + e.add_pj), rel=1e-12)
    assert sim.energy_parts_pj["dram"][0] == pytest.approx(sim.traffic.dram_bytes[0] * e.dram_pj_per_byte)
    # view units: every weight / activation element read into the array below N bits
    assert sim.traffic.view_ops[0] == sim.traffic.weight_reads[0] + sim.traffic.act_reads[0]
    assert sim.energy_uj[0] == pytest.approx(sum(v[0] for v in sim.energy_parts_pj.values()) / 1e6)


def test_energy_json_override_and_errors(tmp_path):
    good = tmp_path / "e.json"
    good.write_text(json.dumps({"dram_pj_per_byte": 100.0}))
    table = load_energy(good)
    assert table.dram_pj_per_byte == 100.0 and table.mult_pj_8x8 == DEFAULT_ENERGY.mult_pj_8x8
    with pytest.raises(ValueError, match="dram_pj_per_bite"):
        energy_from_mapping({"dram_pj_per_bite": 1})
    with pytest.raises(ValueError, match="sram_pj_per_byte"):
        energy_from_mapping({"sram_pj_per_byte": -1})
    with pytest.raises(TypeError, match="add_pj"):
        energy_from_mapping({"add_pj": "cheap"})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="invalid JSON"):
        load_energy(bad)
    with pytest.raises(TypeError):
        EnergyTable(view_shift_pj=float("nan"))


def test_bitops_and_transitions_equal_golden_costs():
    net = topology("resnet18")
    plan = {**parse_plan("uniform:4", net, DEFAULT_SPEC).layer_widths(net, DEFAULT_SPEC), "layer3.0.conv1": (6, 2)}
    sim = simulate_network(net, ArrayConfig(), plan).backbone
    costs = layer_costs(net, plan, DEFAULT_SPEC)
    assert sim.workload.bitops.tolist() == [c.bitops for c in costs]
    assert sim.transition_shifts.tolist() == [c.transition_shifts for c in costs]


def test_os_layer_schedule_by_hand():
    """3 tiles, R=4, C=2, K=10: F = 14, T = 14 + 5 = 19, L = 10: 10 + 3·(1 + 19) = 70 cycles."""
    s = os_layer_schedule(4, 2, 10, 3)
    assert (s.busy, s.readout, s.load, s.total) == (42, 15, 13, 70)
    arrays = os_layer_schedule(4, 2, np.array([10, 3]), np.array([3, 1]))
    assert arrays.total.tolist() == [70, 4 + (4 + 2 + 3 - 2) + 5 + 1]


@pytest.mark.parametrize("rows,cols,k", [(1, 1, 1), (64, 1, 1), (1, 64, 4608), (16, 16, 9), (3, 5, 100)])
def test_every_later_load_hides_behind_the_tile_before_it(rows, cols, k):
    """The schedule's premise: a tile's load L = max(K, R) is shorter than a tile T (rtl/top.py)."""
    assert os_load_cycles(rows, k) < os_tile_cycles(rows, cols, k)
