"""Reports (summary merge, layers.csv merge, table.tex, COMPUTE_REPORT.csv, cycles.png), dynamic per-image
summaries with the controller, static sessions, and the sweep library."""
import csv
import json

import numpy as np
import pytest

from dist.executor import SERIAL
from golden.controller import controller_network
from golden.plan import parse_plan
from golden.spec import DEFAULT_SPEC
from golden.topologies import topology
from sim.config import ArrayConfig
from sim.report import COMPUTE_REPORT_HEADER, hardware_report, write_hardware_reports
from sim.session import check_plan_option, make_config, simulate_static, simulate_topology_csv
from sim.simulate import simulate_images, simulate_network, summarize_images
from sim.sweep import run_sweep, split_list, write_sweep


def widths(net, plan):
    return parse_plan(plan, net, DEFAULT_SPEC).layer_widths(net, DEFAULT_SPEC)


def test_reports_merge_into_golden_files(tmp_path):
    net = topology("tiny")
    (tmp_path / "summary.json").write_text(json.dumps(
        {"model": "tiny", "macs": 123, "controller": {"macs": 7},
         "layers": [{"name": layer.name, "clamp_frac": 0.0} for layer in net.layers]}))
    (tmp_path / "layers.csv").write_text("name,kind,bitops\n" + "".join(f"{layer.name},conv,5\n" for layer in net.layers))
    sim = simulate_network(net, ArrayConfig(rows=4, cols=4), widths(net, "uniform:4"))
    write_hardware_reports(tmp_path, sim, "tiny")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["model"] == "tiny" and summary["macs"] == 123 and summary["controller"] == {"macs": 7}
    for key in ("pe", "dataflow", "total_cycles", "latency_ms", "utilization", "dram_bytes", "sram_bytes", "energy_uj"):
        assert key in summary
    assert summary["pe"] == "4x4" and summary["total_cycles"] == int(sim.backbone.cycles.sum())
    first = summary["layers"][0]
    assert first["clamp_frac"] == 0.0 and first["cycles"] == int(sim.backbone.cycles[0])
    for key in ("cycles", "compute_cycles", "stall_cycles", "utilization", "dram_bytes", "energy_uj"):
        assert key in first
    with (tmp_path / "layers.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["kind"] == "conv" and rows[0]["bitops"] == "5"  # golden's columns kept
    assert int(rows[1]["compute_cycles"]) == int(sim.backbone.compute_cycles[1])
    tex = (tmp_path / "table.tex").read_text()
    assert r"\toprule" in tex and r"\bottomrule" in tex and "layer1.0.conv1".replace("_", r"\_") in tex
    report_lines = (tmp_path / "COMPUTE_REPORT.csv").read_text().splitlines()
    assert report_lines[0] == COMPUTE_REPORT_HEADER and len(report_lines) == 1 + len(net.layers)
    cols = [c.strip() for c in report_lines[1].split(",")]
    assert cols[-1] == "" and int(cols[2]) == int(sim.backbone.compute_cycles[0])
    assert (tmp_path / "cycles.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


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
    csv_sim = simulate_topology_csv(path, "uniform:4", make_config("8x8"))
    assert csv_sim.backbone.compute_cycles.tolist() == [399]  # SCALE-Sim's (see test_sim_scalesim.py)
    assert csv_sim.backbone.workload.b_a.tolist() == [4]
    with pytest.raises(ValueError, match="only uniform"):
        simulate_topology_csv(path, str(tmp_path / "plan.json"), make_config())


def test_sweep_rows_and_files(tmp_path):
    lines = []
    rows = run_sweep("tiny", ["4x4", "8x8"], ["os", "is"], ["uniform:8", "uniform:2"], executor=SERIAL,
                     progress=lambda done, total: lines.append((done, total)), pe_mode="fused")
    assert [(r["pe"], r["dataflow"], r["plan"]) for r in rows][:3] == [
        ("4x4", "os", "uniform:8"), ("4x4", "os", "uniform:2"), ("4x4", "is", "uniform:8")]
    assert len(rows) == 8 and lines[0] == (0, 8) and lines[-1] == (8, 8)
    direct = simulate_static("tiny", "uniform:2", make_config("8x8", dataflow="is", pe_mode="fused")).totals()
    assert rows[-1]["total_cycles"] == direct["total_cycles"] and rows[-1]["energy_uj"] == direct["energy_uj"]
    paths = write_sweep(tmp_path, rows, "tiny")
    with paths[0].open() as f:
        assert len(list(csv.DictReader(f))) == 8
    assert paths[1].read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="--pe"):
        run_sweep("tiny", ["0x4"], ["os"], ["uniform:8"])
    with pytest.raises(ValueError, match="--dataflow"):
        split_list(" , ", "--dataflow")
    with pytest.raises(ValueError, match="--dataflow: dataflow must be one of"):
        run_sweep("tiny", ["4x4"], ["rs"], ["uniform:8"])
    with pytest.raises(ValueError, match="--plan"):
        run_sweep("tiny", ["4x4"], ["os"], ["uniform:1"])
