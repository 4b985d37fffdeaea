"""The `sim` (hardware options) and `sweep` commands: reports written, bad options rejected naming the option."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli

ROOT = Path(__file__).resolve().parent.parent
CSV = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
       "conv_a, 10, 10, 3, 3, 4, 8,1,\nconv_b, 12, 12, 3, 3, 16, 20,2,\n")


def invoke(*args):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("args, option", [
    (["--pe", "0x16"], "--pe"),
    (["--pe", "16"], "--pe"),
    (["--pe", "2000x16"], "--pe"),  # beyond ArrayConfig's MAX_DIM: named --pe, not the field "rows"
    (["--dataflow", "rs"], "--dataflow"),
    (["--pe-mode", "serial"], "--pe-mode"),
    (["--layout", "tiled"], "--layout"),
    (["--weight-sram-kib", "-1"], "--weight-sram-kib"),
    (["--act-sram-kib", "0"], "--act-sram-kib"),
    (["--out-sram-kib", "-64"], "--out-sram-kib"),
    (["--dram-bytes-per-cycle", "-2"], "--dram-bytes-per-cycle"),
    (["--clock-mhz", "0"], "--clock-mhz"),
    (["--plan", "uniform:9"], "--plan"),
    (["--plan", "uniform:1"], "--plan"),
])
def test_sim_rejects_bad_options(tmp_path, args, option):
    result = invoke("sim", "--model", "tiny", "--out", str(tmp_path / "o"), *args)
    assert result.exit_code != 0
    assert option in result.output
    assert not (tmp_path / "o" / "summary.json").exists()  # rejected before anything ran


def test_sim_bad_energy_file_names_key(tmp_path):
    energy = tmp_path / "e.json"
    energy.write_text(json.dumps({"dram_pj": 1.0}))
    result = invoke("sim", "--model", "tiny", "--energy", str(energy), "--out", str(tmp_path / "o"))
    assert result.exit_code != 0 and "dram_pj" in result.output


def test_sim_subprocess_exit_status(tmp_path):
    proc = subprocess.run([sys.executable, "cli.py", "sim", "--model", "tiny", "--pe", "0x16", "--out",
                           str(tmp_path / "o")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "--pe" in proc.stderr


def test_sim_tiny_writes_hardware_reports(tmp_path):
    out = tmp_path / "o"
    result = invoke("sim", "--model", "tiny", "--plan", "uniform:4", "--backend", "numpy", "--pe", "8x8",
                    "--dataflow", "ws", "--pe-mode", "fused", "--layout", "bitplane", "--out", str(out))
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["plan"] == "uniform:4"  # golden's field kept
    assert (summary["pe"], summary["dataflow"], summary["pe_mode"], summary["layout"]) == ("8x8", "ws", "fused", "bitplane")
    assert summary["total_cycles"] == sum(layer["cycles"] for layer in summary["layers"])
    assert "util%" in result.output and "BitOPs" in result.output
    for name in ("layers.csv", "table.tex", "cycles.png", "COMPUTE_REPORT.csv", "logits.npy"):
        assert (out / name).is_file()


@pytest.mark.parametrize("figures, written", [
    (None, {"layers.png"} | {f"{stem}.png" for stem in ("cycles", "energy", "traffic", "breakdown")}),
    ("all", {"layers.png"} | {f"{stem}.{fmt}" for stem in ("cycles", "energy", "traffic", "breakdown")
                              for fmt in ("pdf", "svg", "png")}),
    ("none", set()),
])
def test_sim_figures_option(tmp_path, figures, written):
    """--figures: PNG only by default, PDF + SVG + PNG with `all`, no figure (nor layers.png) with `none`."""
    out = tmp_path / "o"
    result = invoke("sim", "--model", "tiny", "--backend", "numpy", "--pe", "4x4", "--out", str(out),
                    *(() if figures is None else ("--figures", figures)))
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert {n for n in names if n.endswith((".png", ".pdf", ".svg"))} == written
    assert {"summary.json", "layers.csv", "table.tex", "table.md", "COMPUTE_REPORT.csv", "run.json"} <= names


def test_sim_dynamic_counts_the_controller(tmp_path):
    out = tmp_path / "o"
    result = invoke("sim", "--model", "tiny", "--dynamic", "--batch", "3", "--backend", "numpy", "--pe", "4x4",
                    "--out", str(out))
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["images"] == 3 and set(summary["per_image"]["total_cycles"]) == {"mean", "min", "max"}
    assert summary["controller_hardware"]["total_cycles"] > 0
    assert [r["name"] for r in summary["controller_layers"]] == ["fc1", "fc2"]
    assert "controller.fc2" in result.output


def test_sim_topology_csv(tmp_path):
    topo = tmp_path / "net.csv"
    topo.write_text(CSV)
    out = tmp_path / "o"
    result = invoke("sim", "--topology", str(topo), "--pe", "8x8", "--out", str(out))
    assert result.exit_code == 0, result.output
    lines = (out / "COMPUTE_REPORT.csv").read_text().splitlines()
    assert [int(line.split(",")[2]) for line in lines[1:]] == [399, 2369]  # SCALE-Sim 3.0.0, os 8×8
    bad = tmp_path / "bad.csv"
    bad.write_text(CSV + "conv_c, 8, 8, 3, 3, four, 8, 1,\n")
    result = invoke("sim", "--topology", str(bad), "--out", str(tmp_path / "b"))
    assert result.exit_code != 0 and "row 4, column 6 (Channels)" in result.output


def test_sweep_command(tmp_path):
    topo = tmp_path / "net.csv"
    topo.write_text(CSV)
    result = invoke("sweep", "--model", "tiny", "--topology", str(topo), "--pe", "4x4,8x8", "--dataflow", "os,ws",
                    "--plan", "uniform:8,uniform:4", "--pe-mode", "fixed,fused", "--dram-bytes-per-cycle", "8,16",
                    "--workers", "1", "--out", str(tmp_path / "s"))
    assert result.exit_code == 0, result.output
    for name in ("sweep.csv", "pareto.pdf", "pareto.svg", "pareto.png", "axes.pdf", "axes.svg", "axes.png"):
        assert (tmp_path / "s" / name).is_file()
    lines = (tmp_path / "s" / "sweep.csv").read_text().splitlines()
    assert len(lines) == 1 + 2 * 32 and {line.split(",")[0] for line in lines[1:]} == {"tiny", "net"}
    assert "sweep: 100% 64/64" in result.output and "\r" not in result.output  # plain lines off a terminal
    assert json.loads((tmp_path / "s" / "run.json").read_text())["command"] == "sweep"  # published as a run folder
    assert (tmp_path / ".s.sweep-journal.jsonl").is_file()  # resumable: the journal sits beside the run folder
    bad = invoke("sweep", "--model", "tiny", "--pe", "4x4,0x8", "--out", str(tmp_path / "b"))
    assert bad.exit_code != 0 and "--pe" in bad.output
    assert invoke("sweep", "--pe", "4x4", "--out", str(tmp_path / "c")).exit_code != 0
    hint = invoke("sweep", "--model", str(topo), "--out", str(tmp_path / "d"))
    assert hint.exit_code != 0 and f"--topology {topo}" in hint.output


def test_sim_model_csv_hint_and_gemm_topology(tmp_path):
    topo = tmp_path / "g.csv"
    topo.write_text("Layer,M,N,K,\nQKT,64,64,16,\nQKT,64,16,64,\n")
    hint = invoke("sim", "--model", str(topo), "--out", str(tmp_path / "h"))
    assert hint.exit_code != 0 and "--topology" in hint.output
    out = tmp_path / "o"
    result = invoke("sim", "--topology", str(topo), "--pe", "8x8", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "row 3: duplicate layer name 'QKT' renamed 'QKT_2'" in result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["topology_format"] == "gemm" and summary["model"] == "g"
    assert [layer["name"] for layer in summary["layers"]] == ["QKT", "QKT_2"]
    assert str(tmp_path) not in (out / "table.tex").read_text()  # no folder paths in captions
