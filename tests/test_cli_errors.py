"""Every CLI error path of issue 10 is one line naming the option or file, exit != 0, no traceback; legal
inputs from the same list give the right result."""
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from golden.model_file import METADATA_KEY, header_digest, model_header, save_model
from golden.synthetic import synthetic_model
from cli_checks import one_line_error

CSV_HEAD = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "tiny.dqt"
    save_model(synthetic_model("tiny", 0, backend="numpy"), path)
    return path


@pytest.fixture
def csv(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(CSV_HEAD + "c1, 8, 8, 3, 3, 3, 8, 1,\n")
    return path


def _raw_header(path, text):
    from safetensors.numpy import save_file
    _, tensors = model_header(synthetic_model("tiny", 0, backend="numpy"))
    save_file(tensors, str(path), metadata={METADATA_KEY: text})


@pytest.mark.parametrize("args, needles", [
    (["--out", "{tmp}/file/x"], ["--out", "is a file"]),
    (["--out", "/proc/dqt-none/x"], ["--out", "cannot create folder"]),
    (["--weight-sram-kib", 10 ** 20], ["--weight-sram-kib", "[1, 1073741824]"]),
    (["--dram-bytes-per-cycle", 2 ** 62], ["--dram-bytes-per-cycle"]),
    (["--clock-mhz", "1e-300"], ["--clock-mhz"]),
    (["--limit", "max_layers=0"], ["--limit"]),
    (["--limit", "bogus=3"], ["--limit", "max_layers"]),
    (["--pe", "99999x1"], ["--pe"]),
])
def test_topology_option_errors(tmp_path, csv, args, needles):
    (tmp_path / "file").write_text("x")
    args = [a.format(tmp=tmp_path) if isinstance(a, str) else a for a in args]
    out = [] if "--out" in args else ["--out", tmp_path / "o"]
    one_line_error(_run("sim", "--topology", csv, *out, *args), *needles)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("rows, needles", [
    ("DPc, 8, 8, 3, 3, 10000000, 1, 1,\n", ["row 2, column 6 (Channels)", "max_channels"]),
    ("c, 8, 8, 3, 3, 3, " + "9" * 5000 + ", 1,\n", ["row 2, column 7 (Num Filter)"]),
    ("c, 8, 8, 3, 3, ³, 8, 1,\n", ["row 2, column 6 (Channels)"]),
    ("c, 60000, 60000, 3, 3, 3, 8, 1,\n", ["max_tensor_elems"]),
    ("DPc, 16, 16, 3, 3, 5000, 1, 1,\n", ["layer count: 5,000 exceeds the limit max_layers"]),
])
def test_topology_csv_limits(tmp_path, rows, needles):
    """Issue 10: a depthwise row with 10 M channels expanded to 10 M layers (GBs, no end)."""
    path = tmp_path / "big.csv"
    path.write_text(CSV_HEAD + rows)
    one_line_error(_run("sim", "--topology", path, "--out", tmp_path / "o"), "topology", *needles)


def test_topology_csv_not_utf8(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes(CSV_HEAD.encode() + b"c\xff, 8, 8, 3, 3, 3, 8, 1,\n")
    one_line_error(_run("sim", "--topology", path, "--out", tmp_path / "o"), "not UTF-8")


def test_huge_topology_runs_with_raised_limit_and_grouped_plot(tmp_path):
    """Issue 10: 4,974 layers spent minutes drawing cycles.png; the plot now groups layers and says so."""
    path = tmp_path / "big.csv"
    path.write_text(CSV_HEAD + "DPc, 16, 16, 3, 3, 4974, 1, 1,\n")
    res = _run("sim", "--topology", path, "--out", tmp_path / "o", "--limit", "max_layers=5000", "--figures", "all")
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert len(summary["layers"]) == 4974
    assert (tmp_path / "o" / "cycles.png").read_bytes()[:4] == b"\x89PNG"
    assert b"depthwise channels summed" in (tmp_path / "o" / "cycles.svg").read_bytes()


def test_batch_and_input_limits(tmp_path):
    """Issue 10: --batch 1000000000000 was a MemoryError traceback."""
    one_line_error(_run("sim", "--model", "tiny", "--batch", 10 ** 12, "--out", tmp_path / "o"),
                   "--batch 1000000000000", "max_batch_elems")
    import numpy as np
    np.savez(tmp_path / "x.npz", a=np.zeros(3))
    one_line_error(_run("sim", "--model", "tiny", "--input", tmp_path / "x.npz", "--out", tmp_path / "o"),
                   "--input", "not a .npy array")
    assert not (tmp_path / "o").exists()


def test_crafted_headers_through_the_cli(tmp_path):
    """Issue 10: a header nested thousands deep (RecursionError) and 2^70 integers (OverflowError)."""
    _raw_header(tmp_path / "deep.dqt", '{"format": ' + "[" * 5000 + "]" * 5000 + "}")
    one_line_error(_run("sim", "--model", tmp_path / "deep.dqt", "--out", tmp_path / "o"), "deep.dqt",
                   "max_json_depth")
    header, tensors = model_header(synthetic_model("tiny", 0, backend="numpy"))
    header["model"]["layers"]["conv1"]["m"] = [2 ** 70] * 8
    header["digest"] = header_digest(header)
    _raw_header(tmp_path / "big.dqt", json.dumps(header))
    one_line_error(_run("sim", "--model", tmp_path / "big.dqt", "--out", tmp_path / "o"), "big.dqt", "int64")


def test_non_utf8_model_path(tmp_path, tiny_file):
    """Issue 10: a model path with a non-UTF-8 byte gave a traceback when the plot title was drawn."""
    name = os.fsdecode(os.fsencode(str(tmp_path)) + b"/\xff.dqt")
    Path(name).write_bytes(tiny_file.read_bytes())
    res = _run("sim", "--model", name, "--out", tmp_path / "o")
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["model"].endswith("\\xff.dqt")
    one_line_error(_run("sim", "--model", name + "x", "--out", tmp_path / "o2"), "neither a topology")


def test_negative_seed_names_the_option(tmp_path):
    one_line_error(_run("sim", "--model", "tiny", "--seed", -1, "--out", tmp_path / "o"), "--seed")
    one_line_error(_run("export-model", "--model", "tiny", "--seed", -1, "-o", tmp_path / "m.dqt"), "--seed")


def test_plan_file_missing(tmp_path):
    one_line_error(_run("sim", "--model", "tiny", "--plan", tmp_path / "none.json", "--out", tmp_path / "o"), "plan")


def test_rtl_stats_when_yosys_fails(tmp_path, monkeypatch):
    import rtl.stats
    monkeypatch.setattr(rtl.stats, "yosys_command", lambda: ["false"])
    one_line_error(_run("rtl-stats", "--pe", "2x2", "--out", tmp_path / "s"), "yosys failed")
