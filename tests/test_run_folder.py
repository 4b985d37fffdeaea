"""Run folders (golden.run_folder): whole-run publication with a manifest, refusal of foreign folders, the lock,
cleanup of what a killed run left, and the `sim` / `export-model` commands on top (issue 10 cases)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import cli
from cli_checks import one_line_error
from golden.run_folder import MANIFEST, RunFolder, RunFolderError, file_sha256, publish_file, read_manifest

ROOT = Path(__file__).resolve().parents[1]
CSV_HEAD = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _ours(parent: Path, name: str) -> list[str]:
    """Dot-files of the run-folder machinery next to `name`."""
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


def test_publish_writes_files_then_manifest(tmp_path):
    source = tmp_path / "in.bin"
    source.write_bytes(b"input")
    out = tmp_path / "run"
    with RunFolder(out, "demo") as folder:
        paths = folder.publish({"a.txt": b"A", "sub/b.bin": lambda: b"B"}, {"--in": source}, argv=["x", "y"])
    assert [p.name for p in paths] == ["a.txt", "b.bin", MANIFEST]
    assert (out / "a.txt").read_bytes() == b"A" and (out / "sub" / "b.bin").read_bytes() == b"B"
    m = read_manifest(out)
    assert m["complete"] is True and m["command"] == "demo" and m["argv"] == ["x", "y"]
    assert m["inputs"]["--in"]["sha256"] == file_sha256(source) and m["files"]["a.txt"]["bytes"] == 1
    assert set(m) >= {"version", "git_commit", "git_dirty", "finished_utc"}
    assert _ours(tmp_path, "run") == []  # no staging folder, no lock file left


def test_foreign_folder_refused_unless_force_and_same_command_replaced(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(RunFolderError, match="not empty and holds no previous 'demo' run"):
        RunFolder(out, "demo").__enter__()
    assert (out / "notes.txt").read_text() == "mine"
    with RunFolder(out, "demo", force=True) as folder:
        folder.publish({"a.txt": b"1", "old.txt": b"x"})
    assert not (out / "notes.txt").exists()
    with RunFolder(out, "demo") as folder:  # a previous complete run of the same command: replaced whole
        folder.publish({"a.txt": b"2"})
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", MANIFEST]
    with pytest.raises(RunFolderError, match="no previous 'other' run"):
        RunFolder(out, "other").__enter__()


def test_failed_render_keeps_the_previous_run_and_leaves_nothing(tmp_path):
    out = tmp_path / "run"
    with RunFolder(out, "demo") as folder:
        folder.publish({"a.txt": b"old"})

    def broken():
        raise ValueError("render failed")
    with pytest.raises(ValueError, match="render failed"), RunFolder(out, "demo") as folder:
        folder.publish({"a.txt": b"new", "b.png": broken})
    assert (out / "a.txt").read_bytes() == b"old" and read_manifest(out)["complete"] is True
    assert _ours(tmp_path, "run") == []


def test_second_run_into_a_locked_folder_is_refused(tmp_path):
    out = tmp_path / "run"
    with RunFolder(out, "demo"):
        with pytest.raises(RunFolderError, match="another run is writing there now"):
            RunFolder(out, "demo").__enter__()
    with RunFolder(out, "demo") as folder:  # released: usable again
        folder.publish({"a.txt": b"1"})


@pytest.mark.parametrize("bad, message", [
    ("file", "exists and is not a folder"),
    ("under-file", "or a folder above it is a file"),
    ("proc", "cannot create folder"),
])
def test_unusable_out_paths(tmp_path, bad, message):
    (tmp_path / "f").write_text("x")
    out = {"file": tmp_path / "f", "under-file": tmp_path / "f" / "x" / "y", "proc": Path("/proc/dqt-none/x")}[bad]
    with pytest.raises(RunFolderError, match=message):
        RunFolder(out, "demo").__enter__()


KILLED_PUBLISH = """
import sys, time
from pathlib import Path
from golden.run_folder import RunFolder
out, marker = sys.argv[1], Path(sys.argv[2])
def slow():
    marker.write_text("rendering")
    time.sleep(60)
    return b"never"
with RunFolder(out, "demo") as folder:
    folder.publish({"a.txt": b"new", "b.png": slow})
"""


def _killed_mid_publish(tmp_path, out):
    marker = tmp_path / "marker"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_PUBLISH, str(out), str(marker)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "helper process died early"
        time.sleep(0.05)
    return proc


def test_kill_9_mid_publish_leaves_the_old_run_and_the_next_run_cleans_up(tmp_path):
    out = tmp_path / "run"
    with RunFolder(out, "demo") as folder:
        folder.publish({"a.txt": b"old"})
    proc = _killed_mid_publish(tmp_path, out)
    with pytest.raises(RunFolderError, match="another run is writing there now"):  # the concurrent run
        RunFolder(out, "demo").__enter__()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (out / "a.txt").read_bytes() == b"old" and read_manifest(out)["files"].keys() == {"a.txt"}
    assert any(".staging-" in name for name in _ours(tmp_path, "run"))  # what the killed run left
    with RunFolder(out, "demo") as folder:
        folder.publish({"a.txt": b"next"})
    assert _ours(tmp_path, "run") == [] and (out / "a.txt").read_bytes() == b"next"


def test_concurrent_sim_into_the_same_out_is_refused(tmp_path):
    out = tmp_path / "run"
    proc = _killed_mid_publish(tmp_path, out)
    try:
        csv = tmp_path / "t.csv"
        csv.write_text(CSV_HEAD + "c1, 8, 8, 3, 3, 3, 8, 1,\n")
        one_line_error(_run("sim", "--topology", csv, "--out", out), "--out", "another run is writing there now")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_sim_replaces_the_whole_folder_never_merges(tmp_path):
    """Issue 10: a --topology run into the folder of a --model run kept the old model's name, plan and rows."""
    out = tmp_path / "o"
    assert _run("sim", "--model", "tiny", "--out", out).exit_code == 0
    csv = tmp_path / "t.csv"
    csv.write_text(CSV_HEAD + "c1, 8, 8, 3, 3, 3, 8, 1,\n")
    res = _run("sim", "--topology", csv, "--out", out)
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["model"], summary["plan"], len(summary["layers"])) == ("t", "uniform:8", 1)  # the CSV's, not tiny's
    assert summary["total_cycles"] == sum(r["cycles"] for r in summary["layers"])
    assert not (out / "logits.npy").exists() and not (out / "layers.png").exists()
    manifest = read_manifest(out)
    assert manifest["inputs"]["--topology"]["sha256"] == file_sha256(csv)
    assert set(manifest["files"]) == {p.name for p in out.iterdir()} - {MANIFEST}
    assert _ours(tmp_path, "o") == []


@pytest.mark.parametrize("content", ["list", "dir", "stray-column"])
def test_sim_into_a_foreign_folder_is_refused_then_forced(tmp_path, content):
    """Issue 10: summary.json holding a JSON list or being a folder gave tracebacks; a stray layers.csv field
    became a column named ''."""
    out = tmp_path / "o"
    out.mkdir()
    if content == "list":
        (out / "summary.json").write_text("[1, 2]")
    elif content == "dir":
        (out / "summary.json").mkdir()
    else:
        (out / "layers.csv").write_text("name,kind\nconv1,conv,extra\n")
    csv = tmp_path / "t.csv"
    csv.write_text(CSV_HEAD + "c1, 8, 8, 3, 3, 3, 8, 1,\n")
    one_line_error(_run("sim", "--topology", csv, "--out", out), "--out", "--force")
    res = _run("sim", "--topology", csv, "--out", out, "--force")
    assert res.exit_code == 0, res.output
    assert "" not in (out / "layers.csv").read_text().splitlines()[0].split(",")
    assert json.loads((out / "summary.json").read_text())["layers"][0]["name"] == "c1"


def test_export_model_checks_its_folder_first_and_cleans_leftovers(tmp_path, monkeypatch):
    import commands.golden_cmds as golden_cmds

    def never(*a, **k):
        raise AssertionError("calibration ran before the output path was checked")
    with monkeypatch.context() as m:
        m.setattr(golden_cmds, "build_synthetic", never)
        one_line_error(_run("export-model", "--model", "tiny", "-o", tmp_path / "missing" / "m.dqt"),
                        "-o", "does not exist")
        one_line_error(_run("export-model", "--model", "tiny", "-o", tmp_path), "-o", "is a directory")
    (tmp_path / ".m.dqt.killed.tmp").write_bytes(b"\0" * 1000)  # what export-model killed mid-write left
    res = _run("export-model", "--model", "tiny", "-o", tmp_path / "m.dqt")
    assert res.exit_code == 0, res.output
    assert _ours(tmp_path, "m.dqt") == [] and (tmp_path / "m.dqt").stat().st_size > 0


def test_publish_file_failure_leaves_no_temp_file(tmp_path):
    def broken(tmp):
        tmp.write_bytes(b"half")
        raise OSError("disk full")
    with pytest.raises(OSError, match="disk full"):
        publish_file(tmp_path / "m.dqt", broken)
    assert list(tmp_path.iterdir()) == []
