"""Inputs: SCALE-Sim topology CSVs (errors name row and column), golden IR workloads, ArrayConfig checks,
and the per-fold loop twin agreeing exactly with the closed forms."""
import numpy as np
import pytest

from golden.plan import parse_plan
from golden.spec import DEFAULT_SPEC
from golden.topologies import topology
from sim.config import ArrayConfig, parse_pe
from sim.dataflow import plan_folds
from sim.fold_loop import fold_loop
from sim.simulate import simulate_workload
from sim.topology_csv import read_topology, scalesim_out_size, unique_names
from sim.workload import workload_from_network

HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"


def write(tmp_path, body):
    path = tmp_path / "t.csv"
    path.write_text(HEADER + body)
    return path


def test_csv_layers(tmp_path):
    topo = read_topology(write(tmp_path, "c1, 12, 12, 3, 3, 16, 20, 2,\nfc, 1, 1, 1, 1, 70, 10, 1\n\n"
                                        "dw_DP, 5, 5, 3, 3, 2, 1, 1, 1:1,\n"), DEFAULT_SPEC)
    w = topo.workload
    assert topo.format == "conv" and topo.renamed == ()
    assert w.names == ("c1", "fc", "dw_DPChannel_0", "dw_DPChannel_1")
    assert w.m.tolist() == [20, 10, 1, 1]
    assert w.k.tolist() == [144, 70, 9, 9]
    assert w.n.tolist() == [36, 1, 9, 9]  # SCALE-Sim's ⌈(12 − 3 + 2)/2⌉ = 6, not floor's 5
    assert w.in_elems.tolist() == [16 * 144, 70, 25, 25]
    assert scalesim_out_size(12, 3, 2) == 6 and scalesim_out_size(224, 7, 2) == 110  # floor: 109


@pytest.mark.parametrize("body, where", [
    ("c1, 12, 12, 3, x, 16, 20, 2,\n", "row 2, column 5 (Filter Width)"),
    ("c1, 12, 12, 3, 3, 16, 20, 2,\nc2, 8, 8, 3, 3, 0, 4, 1,\n", "row 3, column 6 (Channels)"),
    ("c1, 12, 12, 3, 3, 16, 20,\n", "row 2: expected 8 columns"),
    ("c1, 2, 12, 3, 3, 16, 20, 1,\n", "row 2, column 4 (Filter Height)"),
    ("c1, 12, 12, 3, 3, 16, 20, 1, 2:4,\n", "row 2, column 9 (sparsity)"),
    (", 12, 12, 3, 3, 16, 20, 1,\n", "row 2, column 1"),
    ("c1, 12, 12, 3, 3, 16, -20, 1,\n", "row 2, column 7 (Num Filter)"),
    ("", "no layers"),
])
def test_csv_errors_name_row_and_column(tmp_path, body, where):
    with pytest.raises(ValueError, match=where.replace("(", r"\(").replace(")", r"\)")):
        read_topology(write(tmp_path, body), DEFAULT_SPEC)


def test_csv_missing_file(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        read_topology(tmp_path / "nope.csv", DEFAULT_SPEC)


def test_gemm_topology_detected_and_mapped_like_scalesim(tmp_path):
    """SCALE-Sim reads a GEMM row (M, N, K) as an M×K IFMAP, a 1×K filter, 1 channel, N filters: M output
    pixels, reduction K, N filters -> our m (filters) = N, k = K, n (pixels) = M, input M·K."""
    path = tmp_path / "g.csv"
    path.write_text("Layer,M,N,K,\nQKT,1024,1024,64,\nLinear1,1024,4800,1600,\n")
    topo = read_topology(path, DEFAULT_SPEC)
    w = topo.workload
    assert topo.format == "gemm" and w.names == ("QKT", "Linear1")
    assert (w.m.tolist(), w.k.tolist(), w.n.tolist()) == ([1024, 4800], [64, 1600], [1024, 1024])
    assert w.in_elems.tolist() == [1024 * 64, 1024 * 1600]
    as_conv = write(tmp_path, "QKT, 1024, 64, 1, 64, 1, 1024, 1,\n")  # the same layer as SCALE-Sim rewrites it
    conv = read_topology(as_conv, DEFAULT_SPEC).workload
    assert (conv.m.tolist(), conv.k.tolist(), conv.n.tolist(), conv.in_elems.tolist()) == ([1024], [64], [1024], [65536])
    with pytest.raises(ValueError, match="row 2: expected 8 columns"):
        read_topology(path, DEFAULT_SPEC, "conv")
    sparse = tmp_path / "s.csv"
    sparse.write_text("Layer Name, M, N, K, Sparsity,\nG, 3, 5, 16, 1:1,\nG, 1, 5, 16, 3:4,\n")
    with pytest.raises(ValueError, match="row 3, column 5 \\(sparsity\\)"):
        read_topology(sparse, DEFAULT_SPEC)
    with pytest.raises(ValueError, match="topology-format"):
        read_topology(path, DEFAULT_SPEC, "onnx")


def test_dw_comment_column_and_duplicate_names(tmp_path):
    """SCALE-Sim ignores the field after the last comma (its MobileNet files put `#dw` there); duplicate
    names are made unique and reported with their row."""
    topo = read_topology(write(tmp_path, "Conv2_dw, 112, 112, 3, 3, 1, 1, 1,#dw\nc, 8, 8, 3, 3, 2, 4, 1,\n"
                                         "c, 8, 8, 3, 3, 4, 4, 1,\nc_2, 8, 8, 1, 1, 4, 4, 1\nc, 8, 8, 1, 1, 4, 4, 1,\n"),
                         DEFAULT_SPEC)
    assert topo.workload.names == ("Conv2_dw", "c", "c_3", "c_2", "c_4")
    assert topo.renamed == ((4, "c", "c_3"), (6, "c", "c_4"))
    assert topo.workload.k.tolist()[:3] == [9, 18, 36]
    assert unique_names(["a", "a", "a"], [2, 3, 4]) == (["a", "a_2", "a_3"], [(3, "a", "a_2"), (4, "a", "a_3")])


def test_network_workload_shapes_and_residuals():
    net = topology("resnet18")
    widths = parse_plan("uniform:4", net, DEFAULT_SPEC).layer_widths(net, DEFAULT_SPEC)
    w = workload_from_network(net, widths, DEFAULT_SPEC)
    i = w.names.index("layer2.0.conv2")
    assert (w.m[i], w.k[i], w.n[i]) == (128, 128 * 9, 16 * 16)
    assert (w.residual_elems[i], w.residual_bits[i]) == (128 * 256, DEFAULT_SPEC.acc_bits)  # downsample's acc'
    j = w.names.index("layer1.0.conv2")
    assert (w.residual_elems[j], w.residual_bits[j]) == (64 * 1024, DEFAULT_SPEC.n_bits)  # identity
    ds = w.names.index("layer2.0.downsample")
    assert w.out_bits[ds] == DEFAULT_SPEC.acc_bits and w.out_bits[w.names.index("fc")] == DEFAULT_SPEC.logit_bits
    assert (w.b_w[0], w.b_w[1]) == (8, 4)  # stem at N, the rest at the plan's width
    with pytest.raises(ValueError, match="layer1.0.conv1"):
        workload_from_network(net, {**widths, "layer1.0.conv1": (9, 9)}, DEFAULT_SPEC)
    with pytest.raises(ValueError, match="no \\(b_w, b_a\\) for layer fc"):
        workload_from_network(net, {k: v for k, v in widths.items() if k != "fc"}, DEFAULT_SPEC)


@pytest.mark.parametrize("kw, field", [
    (dict(rows=0), "rows"), (dict(cols=2000), "cols"), (dict(dataflow="rs"), "dataflow"),
    (dict(pe_mode="bitserial"), "pe_mode"), (dict(layout="tiled"), "layout"),
    (dict(weight_sram_kib=-1), "weight_sram_kib"), (dict(act_sram_kib=0), "act_sram_kib"),
    (dict(dram_bytes_per_cycle=0), "dram_bytes_per_cycle"), (dict(clock_mhz=-5.0), "clock_mhz"),
    (dict(clock_mhz="fast"), "clock_mhz"),
])
def test_array_config_rejects(kw, field):
    with pytest.raises((ValueError, TypeError), match=field):
        ArrayConfig(**kw)


@pytest.mark.parametrize("text", ["0x16", "16", "16x", "ax4", "-4x4"])
def test_parse_pe_rejects(text):
    with pytest.raises(ValueError, match="--pe"):
        parse_pe(text)


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize("pe_mode", ["fixed", "fused"])
@pytest.mark.parametrize("pe", ["8x8", "16x4", "5x7"])
def test_fold_loop_twin_equals_closed_forms(dataflow, pe_mode, pe):
    net = topology("resnet18")
    widths = parse_plan("uniform:2", net, DEFAULT_SPEC).layer_widths(net, DEFAULT_SPEC)
    widths["layer3.0.conv2"] = (4, 6)
    w = workload_from_network(net, widths, DEFAULT_SPEC)
    config = ArrayConfig.from_pe(pe, dataflow=dataflow, pe_mode=pe_mode)
    loop = fold_loop(w, config)
    sim = simulate_workload(w, config)
    folds = plan_folds(w, config)
    assert np.array_equal(loop["busy_cycles"], folds.busy_cycles)
    assert np.array_equal(loop["readout_cycles"], folds.readout_cycles)
    assert np.array_equal(loop["load_cycles"], folds.load_cycles)
    assert np.array_equal(loop["used_pe_folds"], folds.rows_dim * folds.cols_dim)
    assert np.array_equal(loop["weight_reads"], sim.traffic.weight_reads)
    assert np.array_equal(loop["act_reads"], sim.traffic.act_reads)
