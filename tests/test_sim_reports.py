"""Reports (summary merge, layers.csv merge, table.tex, COMPUTE_REPORT.csv, cycles.png), dynamic per-image
summaries with the controller, static sessions, and the sweep library."""
import csv
import io
import json

import numpy as np
import pytest

from dist.executor import SERIAL
from golden.controller import controller_network
from golden.plan import parse_plan
from golden.spec import DEFAULT_SPEC
from golden.topologies import topology
from sim.config import ArrayConfig
from sim.report import COMPUTE_REPORT_HEADER, hardware_report, report_files
from sim.session import check_plan_option, make_config, simulate_static, simulate_topology, topology_widths
from sim.topology_csv import read_topology
from sim.simulate import simulate_images, simulate_network, summarize_images
from sim.sweep import SWEEP_COLUMNS, axis_values, expand, run_sweep, split_list, sweep_files
from sim.sweep_figures import pareto_front, swept_axes


def widths(net, plan):
    return parse_plan(plan, net, DEFAULT_SPEC).layer_widths(net, DEFAULT_SPEC)


def test_report_files_join_golden_and_hardware_fields_in_memory():
    net = topology("tiny")
    golden_summary = {"model": "tiny", "macs": 123, "controller": {"macs": 7},
                      "layers": [{"name": layer.name, "clamp_frac": 0.0} for layer in net.layers]}
    golden_rows = [{"name": layer.name, "kind": "conv", "bitops": 5} for layer in net.layers]
    golden = {"files": {"logits.npy": b"golden bytes"}, "summary": golden_summary, "layers": golden_rows}
    sim = simulate_network(net, ArrayConfig(rows=4, cols=4), widths(net, "uniform:4"))
    _, files = report_files(sim, "tiny", golden)
    assert files["logits.npy"] == b"golden bytes"
    summary = json.loads(files["summary.json"])
    assert summary["model"] == "tiny" and summary["macs"] == 123 and summary["controller"] == {"macs": 7}
    for key in ("pe", "dataflow", "total_cycles", "latency_ms", "utilization", "dram_bytes", "sram_bytes", "energy_uj"):
        assert key in summary
    assert summary["pe"] == "4x4" and summary["total_cycles"] == int(sim.backbone.cycles.sum())
    first = summary["layers"][0]
    assert first["clamp_frac"] == 0.0 and first["cycles"] == int(sim.backbone.cycles[0])
    for key in ("cycles", "compute_cycles", "stall_cycles", "utilization", "dram_bytes", "energy_uj"):
        assert key in first
    rows = list(csv.DictReader(io.StringIO(files["layers.csv"].decode())))
    assert rows[0]["kind"] == "conv" and rows[0]["bitops"] == "5"  # golden's columns kept
    assert int(rows[1]["compute_cycles"]) == int(sim.backbone.compute_cycles[1])
    tex = files["table.tex"].decode()
    assert r"\toprule" in tex and r"\bottomrule" in tex and "layer1.0.conv1".replace("_", r"\_") in tex
    report_lines = files["COMPUTE_REPORT.csv"].decode().splitlines()
    assert report_lines[0] == COMPUTE_REPORT_HEADER and len(report_lines) == 1 + len(net.layers)
    cols = [c.strip() for c in report_lines[1].split(",")]
    assert cols[-1] == "" and int(cols[2]) == int(sim.backbone.compute_cycles[0])
    for stem in ("cycles", "energy", "traffic", "breakdown"):
        assert files[f"{stem}.png"][:8] == b"\x89PNG\r\n\x1a\n"
        assert files[f"{stem}.pdf"][:5] == b"%PDF-"
        assert b"<svg" in files[f"{stem}.svg"][:1000]


def test_topology_report_has_only_hardware_fields():
    net = topology("tiny")
    sim = simulate_network(net, ArrayConfig(rows=4, cols=4), widths(net, "uniform:4"))
    _, files = report_files(sim, "tiny")
    summary = json.loads(files["summary.json"])
    assert "model" not in summary and [r["name"] for r in summary["layers"]] == [layer.name for layer in net.layers]
    assert sum(r["cycles"] for r in summary["layers"]) == summary["total_cycles"]


def test_dynamic_images_with_controller():
    net = topology("tiny")
    ctrl = controller_network(net, DEFAULT_SPEC)
    per_image = [widths(net, "uniform:2"), widths(net, "uniform:8"), widths(net, "uniform:4")]
    config = ArrayConfig(rows=4, cols=4, pe_mode="fused")
    sims = simulate_images(net, config, per_image, controller=ctrl)
    totals = [s.totals() for s in sims]
    stats = summarize_images(sims)
    cycles = [t["total_cycles"] for t in totals]
    assert stats["total_cycles"] == {"mean": float(np.mean(cycles)), "min": min(cycles), "max": max(cycles)}
    assert totals[0]["total_cycles"] < totals[1]["total_cycles"]  # fused 2-bit is faster than 8-bit
    alone = simulate_network(net, config, per_image[0]).totals()
    c = totals[0]["controller"]
    assert c["macs"] == sum(layer.macs for layer in ctrl.layers)
    assert totals[0]["total_cycles"] == alone["total_cycles"] + c["total_cycles"]
    assert totals[0]["energy_uj"] == pytest.approx(alone["energy_uj"] + c["energy_uj"], rel=1e-12)
    report = hardware_report(sims)
    assert report["summary"]["per_image"]["energy_uj"]["max"] >= report["summary"]["energy_uj"]
    assert report["controller"][0]["name"] == "fc1"
    assert report["layers"][1]["b_w"] == pytest.approx((2 + 8 + 4) / 3)


def test_static_session_and_topology_csv(tmp_path):
    sim = simulate_static("resnet18", "uniform:4", make_config("8x8", dataflow="is"))
    assert sim.backbone.workload.b_w[1] == 4 and sim.backbone.config.dataflow == "is"
    with pytest.raises(ValueError, match="--plan"):
        check_plan_option("uniform:9", DEFAULT_SPEC)
    with pytest.raises(ValueError, match="--model"):
        simulate_static("resnet99", "uniform:4", make_config())
    path = tmp_path / "t.csv"
    path.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
                    "c, 10, 10, 3, 3, 4, 8, 1,\n")
    topo = read_topology(path, DEFAULT_SPEC)
    csv_sim = simulate_topology(topo, "uniform:4", make_config("8x8"))
    assert csv_sim.backbone.compute_cycles.tolist() == [399]  # SCALE-Sim's (see test_sim_scalesim.py)
    assert csv_sim.backbone.workload.b_a.tolist() == [4]
    assert topology_widths(None, topo, DEFAULT_SPEC) == ([8], [8])


def test_topology_json_plan_by_layer_name(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
                    "a, 10, 10, 3, 3, 4, 8, 1,\na, 10, 10, 3, 3, 8, 8, 1,\nb, 10, 10, 1, 1, 8, 8, 1,\n")
    topo = read_topology(path, DEFAULT_SPEC)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"default": 4, "a_2": [2, 6], "b": 8}))
    assert topology_widths(str(plan), topo, DEFAULT_SPEC) == ([4, 2, 8], [4, 6, 8])
    sim = simulate_topology(topo, str(plan), make_config("8x8", pe_mode="fused"))
    assert sim.backbone.workload.b_w.tolist() == [4, 2, 8]
    for mapping, message in (({"default": 4, "zz": 2}, "unknown layer 'zz'"), ({"a": 4}, "no width for layer a_2"),
                             ({"default": 9}, r"plan: layer a: b_w must be in \[2, 8\], got 9")):
        plan.write_text(json.dumps(mapping))
        with pytest.raises(ValueError, match=message):
            topology_widths(str(plan), topo, DEFAULT_SPEC)
    with pytest.raises(ValueError, match="no such file"):
        topology_widths(str(tmp_path / "nope.json"), topo, DEFAULT_SPEC)


def test_sweep_expand_evaluate_and_files(tmp_path):
    axes = {"pe": ["4x4", "8x8"], "dataflow": ["os", "is"], "plan": ["uniform:8", "uniform:2"], "pe_mode": ["fused"],
            "out_sram_kib": [1, 64], "clock_mhz": [500.0, 1000.0]}
    configs = expand([("model", "tiny")], axes)
    assert len(configs) == 2 * 2 * 2 * 2 * 2
    assert [(c["pe"], c["dataflow"], c["plan"]) for c in configs][:2] == [("4x4", "os", "uniform:8")] * 2
    lines = []
    rows = run_sweep(configs, executor=SERIAL, progress=lambda done, total: lines.append((done, total)))
    assert len(rows) == len(configs) and lines[0] == (0, len(configs)) and lines[-1] == (len(configs),) * 2
    assert rows[0]["model"] == "tiny" and rows[0]["source"] == "model" and set(rows[0]) == set(SWEEP_COLUMNS)
    last = rows[-1]
    direct = simulate_static("tiny", "uniform:2", make_config("8x8", dataflow="is", pe_mode="fused", out_sram_kib=64,
                                                              clock_mhz=1000.0)).totals()
    assert (last["pe"], last["out_sram_kib"], last["clock_mhz"]) == ("8x8", 64, 1000.0)
    assert last["total_cycles"] == direct["total_cycles"] and last["energy_uj"] == direct["energy_uj"]
    assert last["latency_ms"] == direct["latency_ms"]
    assert rows[-2]["latency_ms"] == pytest.approx(2 * last["latency_ms"])  # 500 vs 1000 MHz
    assert last["energy_uj"] == pytest.approx(sum(last[f"energy_{lv}_uj"] for lv in ("mac", "view", "sram", "dram")))
    files = sweep_files(rows, "tiny")
    assert len(list(csv.DictReader(io.StringIO(files["sweep.csv"].decode())))) == len(rows)
    for stem in ("pareto", "axes"):
        assert files[f"{stem}.png"][:4] == b"\x89PNG" and files[f"{stem}.pdf"][:5] == b"%PDF-"
    assert swept_axes(rows) == ["pe", "dataflow", "plan", "out_sram_kib", "clock_mhz"]
    with pytest.raises(ValueError, match="--pe"):
        expand([("model", "tiny")], {**axes, "pe": ["0x4"]})
    with pytest.raises(ValueError, match="--dataflow"):
        split_list(" , ", "--dataflow")
    with pytest.raises(ValueError, match="--dataflow: dataflow must be one of"):
        expand([("model", "tiny")], {**axes, "dataflow": ["rs"]})
    with pytest.raises(ValueError, match="--plan"):
        expand([("model", "tiny")], {**axes, "plan": ["uniform:1"]})
    with pytest.raises(ValueError, match="--weight-sram-kib: expected a comma list of ints"):
        axis_values("weight_sram_kib", "64,big")
    with pytest.raises(ValueError, match="--topology tiny.csv"):
        expand([("model", "tiny.csv")], axes)


def test_table_tex_escapes_every_latex_special(tmp_path):
    """Issue 10: topology CSV names are free text; '# $ ^ ~ {' reached table.tex unescaped (invalid LaTeX)."""
    path = tmp_path / "t.csv"
    path.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
                    "Strides,\n" + r"a#b$c^d~e{f}g_h&i%j\k, 8, 8, 3, 3, 3, 8, 1," + "\n")
    _, files = report_files(simulate_topology(read_topology(path, DEFAULT_SPEC), None, make_config()), "t")
    escaped = r"a\#b\$c\^{}d\textasciitilde{}e\{f\}g\_h\&i\%j\textbackslash{}k & "
    assert any(line.startswith(escaped) for line in files["table.tex"].decode().splitlines())


def test_pareto_front():
    latency = [1.0, 2.0, 3.0, 1.5, 2.0, 4.0]
    energy = [5.0, 3.0, 1.0, 6.0, 3.0, 0.5]
    assert pareto_front(latency, energy).tolist() == [0, 1, 2, 5]


def test_breakdown_sums_and_spill_notes():
    """Energy and traffic by operand and level add up to the totals; the notes name the psum spill of ws and
    the stalls it causes, and stay empty for os (ResNet-50, uniform:4, 16×16)."""
    ws = hardware_report(simulate_static("resnet50", "uniform:4", make_config("16x16", dataflow="ws")))
    s = ws["summary"]
    assert sum(sum(ops.values()) for ops in s["energy_breakdown_uj"].values()) == pytest.approx(s["energy_uj"], rel=1e-12)
    assert sum(s["dram_breakdown_bytes"].values()) == s["dram_bytes"]
    assert sum(s["sram_breakdown_bytes"].values()) == s["sram_bytes"]
    for row in ws["layers"]:
        parts = [row["energy_mac_uj"], row["energy_view_weights_uj"], row["energy_view_inputs_uj"],
                 *(row[f"energy_{lv}_{op}_uj"] for lv in ("sram", "dram")
                   for op in ("weights", "inputs", "outputs", "psums", "residual"))]
        assert sum(parts) == pytest.approx(row["energy_uj"], rel=1e-12)
        assert sum(row[f"dram_{op}_bytes"] for op in ("weights", "inputs", "outputs", "psums", "residual")) == row["dram_bytes"]
        assert row["psum_spill"] == (row["dram_psums_bytes"] > 0)
    spill, stall = s["notes"]
    spilling = sum(r["psum_spill"] for r in ws["layers"])
    assert spill.startswith(f"partial sums spill to DRAM in {spilling} of 54 layers") and "out-sram-kib" in spill
    assert f"{s['dram_breakdown_bytes']['psums'] / 1e6:,.2f} MB" in spill
    assert stall.startswith("DRAM stalls are")
    os_run = hardware_report(simulate_static("resnet50", "uniform:4", make_config("16x16", dataflow="os")))
    assert os_run["summary"]["notes"] == [] and os_run["summary"]["dram_breakdown_bytes"]["psums"] == 0
