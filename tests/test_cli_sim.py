"""The sim and export-model commands end to end (click's CliRunner, and one real process for the exit code)."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from cli import cli

ROOT = Path(__file__).resolve().parents[1]


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_pinned_resnet18_uniform4_through_cli(tmp_path):
    res = _run("sim", "--model", "resnet18", "--plan", "uniform:4", "--batch", 2, "--seed", 0, "--out", tmp_path)
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["bitops"] == 8_971_943_936
    assert summary["macs"] == 555_422_720
    assert summary["batch"] == 2 and summary["plan"] == "uniform:4" and len(summary["predictions"]) == 2
    assert summary["transition_float_ops"] == 2 * summary["transition_shifts"]
    rows = list(csv.DictReader((tmp_path / "layers.csv").open()))
    assert len(rows) == 21 and rows[0]["name"] == "conv1" and rows[0]["b_w"] == "8"
    assert sum(int(r["bitops"]) for r in rows) == 8_971_943_936
    assert np.load(tmp_path / "logits.npy").shape == (2, 10)
    assert (tmp_path / "layers.png").read_bytes()[:4] == b"\x89PNG"
    assert "layer4.1.conv2" in res.output and "[ 22/22] fc" in res.output  # table and progress lines


def test_export_then_sim_file_equals_sim_by_name_dynamic(tmp_path):
    model_file = tmp_path / "tiny.dqt"
    res = _run("export-model", "--model", "tiny", "--seed", 3, "-o", model_file)
    assert res.exit_code == 0, res.output
    assert "layer2.0.conv2" in res.output
    a = _run("sim", "--model", "tiny", "--seed", 3, "--dynamic", "--batch", 5, "--out", tmp_path / "a")
    b = _run("sim", "--model", model_file, "--seed", 3, "--dynamic", "--batch", 5, "--out", tmp_path / "b")
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    assert np.array_equal(np.load(tmp_path / "a" / "logits.npy"), np.load(tmp_path / "b" / "logits.npy"))
    sa, sb = (json.loads((tmp_path / d / "summary.json").read_text()) for d in "ab")
    assert sa["widths"] == sb["widths"] and sa["controller"]["macs"] > 0


def test_input_npy(tmp_path):
    from golden.synthetic import synthetic_images
    from golden.topologies import tiny_resnet
    images = synthetic_images(tiny_resnet(), 3, 9)
    np.save(tmp_path / "in.npy", images)
    res = _run("sim", "--model", "tiny", "--input", tmp_path / "in.npy", "--out", tmp_path / "o")
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["batch"] == 3
    np.save(tmp_path / "bad.npy", images[:, :2])
    res = _run("sim", "--model", "tiny", "--input", tmp_path / "bad.npy", "--out", tmp_path / "o")
    assert res.exit_code != 0 and "images must have shape" in res.output


def test_tampered_model_file_exits_nonzero(tmp_path):
    model_file = tmp_path / "tiny.dqt"
    assert _run("export-model", "--model", "tiny", "-o", model_file).exit_code == 0
    data = bytearray(model_file.read_bytes())
    data[-3] ^= 0x40
    model_file.write_bytes(bytes(data))
    proc = subprocess.run([sys.executable, "cli.py", "sim", "--model", str(model_file), "--out", str(tmp_path / "o")],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "sha256 mismatch" in proc.stderr
    model_file.write_bytes(bytes(data[: len(data) // 3]))
    res = _run("sim", "--model", model_file, "--out", tmp_path / "o")
    assert res.exit_code != 0 and "not a readable safetensors file" in res.output
    assert not (tmp_path / "o").exists()


def test_bad_plan_and_model_names(tmp_path):
    res = _run("sim", "--model", "tiny", "--plan", "uniform:9", "--out", tmp_path)
    assert res.exit_code != 0 and "uniform:9" in res.output and "[2, 8]" in res.output
    res = _run("sim", "--model", "resnet99", "--out", tmp_path)
    assert res.exit_code != 0 and "resnet99" in res.output
