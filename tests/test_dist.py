"""The execution layer (dist/): serial and Dask paths give the same results in the same order, the journal
makes sweeps resumable, a killed worker loses and double-counts nothing, and `eval` sharded equals serial and
aggregates hardware exactly as `sim --dynamic`. Dask tests share one LocalCluster of 2 worker processes."""
import hashlib
import json
import operator
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import sim.sweep
from cli import cli
from dist.evaluate import evaluate_images, load_images
from dist.executor import SERIAL, ExecutorOptions, default_chunk_size, map_items, serial_chunk_size
from dist.journal import Journal, stable_key
from golden.session import resolve_model, run_golden
from sim.report import hardware_report
from sim.session import make_config, simulate_golden_run
from sim.sweep import expand, run_sweep, sweep_files

PES, DATAFLOWS, PLANS = ["4x4", "8x8", "16x4"], ["os", "ws", "is"], ["uniform:8", "uniform:4", "uniform:2"]


def configs(model, pes=PES, dataflows=DATAFLOWS, plans=PLANS, **axes):
    """The sweep configurations of one model (sim.sweep.expand)."""
    return expand([("model", model)], {"pe": pes, "dataflow": dataflows, "plan": plans,
                                       **{k: [v] for k, v in axes.items()}})


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=50) as local:
        yield local


def on(cluster, chunk_size=None) -> ExecutorOptions:
    return ExecutorOptions(scheduler=cluster.scheduler_address, chunk_size=chunk_size)


def test_options_and_chunking():
    assert SERIAL.serial and not ExecutorOptions().serial and not ExecutorOptions(workers=2).serial
    for bad, option in [(dict(workers=0), "--workers"), (dict(workers=True), "--workers"),
                        (dict(chunk_size=0), "--chunk-size"), (dict(scheduler=" "), "--scheduler"),
                        (dict(workers=2, scheduler="tcp://h:1"), "--scheduler")]:
        with pytest.raises(ValueError, match=option):
            ExecutorOptions(**bad)
    assert default_chunk_size(100_000, 2) == 256 and default_chunk_size(18, 2) == 3 and default_chunk_size(1, 64) == 1
    assert serial_chunk_size(125) == 2 and serial_chunk_size(102_900) == 256 and serial_chunk_size(3) == 1
    with pytest.raises(TypeError, match="ExecutorOptions"):
        map_items(operator.add, [1], options=2)


def test_journal_needs_one_key_per_item(tmp_path):
    with pytest.raises(ValueError, match="one key per item"):
        map_items(operator.add, [1, 2], context=0, journal=Journal(tmp_path / "j"), keys=["a"])


def test_stable_key_and_torn_journal(tmp_path):
    text = json.dumps([["resnet50", {"a": 1}], ["8x8", "os"]], separators=(",", ":"))
    assert stable_key(["resnet50", {"a": 1}], ("8x8", "os")) == hashlib.sha256(text.encode()).hexdigest()
    assert stable_key({"b": 1, "a": 2}) == stable_key({"a": 2, "b": 1}) != stable_key({"a": 1, "b": 2})
    with pytest.raises(TypeError, match="JSON"):
        stable_key(object())
    journal = Journal(tmp_path / "j.jsonl")
    journal.append([("k1", {"x": 0.1 + 0.2}), ("k2", [1, 2])])
    with open(journal.path, "a") as f:
        f.write('{"key": "k3", "res')  # a crash in the middle of a line
    assert journal.load() == {"k1": {"x": 0.1 + 0.2}, "k2": [1, 2]}
    journal.append([("k3", 3)])
    assert journal.load() == {"k1": {"x": 0.30000000000000004}, "k2": [1, 2], "k3": 3}
    journal.path.write_text('oops\n{"key": "k", "result": 1}\n')
    with pytest.raises(ValueError, match="line 1"):
        journal.load()


def test_map_items_same_order_serial_and_dask(cluster):
    items = list(range(103))
    want = [3 * i for i in items]
    assert map_items(operator.mul, items, context=3, options=SERIAL) == want
    for chunk_size in (None, 1, 10, 500):
        seen = []
        got = map_items(operator.mul, items, context=3, options=on(cluster, chunk_size),
                        progress=lambda done, total: seen.append(done))
        assert got == want and seen[0] == 0 and seen[-1] == 103 and seen == sorted(seen)
    with pytest.raises(ZeroDivisionError):  # a worker's exception reaches the caller with its type
        map_items(operator.floordiv, [1, 0, 2], context=1, options=on(cluster, 1))


def test_sweep_dask_csv_identical_and_resumable(cluster, tmp_path, monkeypatch):
    serial = run_sweep(configs("resnet18"), executor=SERIAL)
    journal = tmp_path / "sweep.journal.jsonl"
    sharded = run_sweep(configs("resnet18"), executor=on(cluster, 4), journal=journal)
    assert sweep_files(serial, "t")["sweep.csv"] == sweep_files(sharded, "t")["sweep.csv"]
    assert len(journal.read_text().splitlines()) == len(serial) == 27

    lines = journal.read_text().splitlines(keepends=True)
    journal.write_text("".join(lines[:10]))  # as if the run had stopped after 10 configurations
    evaluated = []
    real = sim.sweep.evaluate
    monkeypatch.setattr(sim.sweep, "evaluate", lambda config: evaluated.append(config) or real(config))
    resumed = run_sweep(configs("resnet18"), executor=SERIAL, journal=journal)
    assert len(evaluated) == 17 and resumed == serial
    evaluated.clear()
    assert run_sweep(configs("resnet18"), executor=SERIAL, journal=journal) == serial
    assert evaluated == []
    other = run_sweep(configs("resnet18", PES[:1], DATAFLOWS[:1], PLANS[:1], clock_mhz=250.0), executor=SERIAL,
                      journal=journal)
    assert len(evaluated) == 1 and other[0]["latency_ms"] == 2 * serial[0]["latency_ms"]  # new options, new key


def test_killed_worker_loses_and_double_counts_nothing(cluster, tmp_path):
    from dask.distributed import Client

    pes = [f"{r}x{c}" for r in (4, 8, 16, 32) for c in (4, 8, 16)]
    serial = run_sweep(configs("resnet50", pes), executor=SERIAL)
    journal = tmp_path / "sweep.journal.jsonl"
    killed = []
    with Client(cluster.scheduler_address) as probe:
        pids = probe.run(os.getpid)

        def kill_a_busy_worker(done, total):
            if killed or done == 0:
                return
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                busy = [addr for addr, keys in probe.processing().items() if keys and addr in pids]
                if busy:
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed.append(busy[0])
                    return
                time.sleep(0.01)

        rows = run_sweep(configs("resnet50", pes), executor=on(cluster, 3), journal=journal,
                         progress=kill_a_busy_worker)
        assert killed, "no worker was busy when the first chunk finished"
        probe.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker
        assert killed[0] not in probe.run(os.getpid)
    assert rows == serial
    keys = [json.loads(line)["key"] for line in journal.read_text().splitlines()]
    assert len(keys) == len(set(keys)) == len(serial)


def test_eval_sharded_equals_serial_and_sim_dynamic(cluster, tmp_path):
    model = resolve_model("tiny", 0)
    images, _ = load_images("synthetic:24", model, seed=0)
    labels = np.arange(24) % 10
    config = make_config("8x8", "ws")
    serial = evaluate_images("tiny", model, images, labels, dynamic=True, config=config, batch=5, executor=SERIAL)
    sharded = evaluate_images("tiny", model, images, labels, dynamic=True, config=config, batch=5,
                              executor=on(cluster, 1))
    assert np.array_equal(serial.logits, sharded.logits) and serial.widths == sharded.widths
    assert serial.summary == sharded.summary and serial.image_rows == sharded.image_rows
    run = run_golden("tiny", dynamic=True, batch=24, seed=0)
    assert np.array_equal(run.result.logits, serial.logits)
    assert serial.summary["hardware"] == hardware_report(simulate_golden_run(run, config))["summary"]
    assert serial.summary["accuracy"] == float(np.mean(run.result.predictions == labels))
    assert serial.summary["bitops_per_image"]["mean"] == pytest.approx(run.result.bitops, rel=1e-12)
    assert serial.summary["width_sets"] > 1
    static = evaluate_images("tiny", model, images, plan="uniform:4", config=config, batch=7, executor=SERIAL)
    run = run_golden("tiny", plan="uniform:4", batch=24, seed=0)
    assert np.array_equal(static.logits, run.result.logits) and static.summary["width_sets"] == 1
    assert static.summary["hardware"] == hardware_report(simulate_golden_run(run, config))["summary"]
    assert static.summary["accuracy"] is None and static.summary["controller_macs_per_image"] == 0


def test_eval_command_files_identical(cluster, tmp_path):
    model = resolve_model("tiny", 0)
    images, _ = load_images("synthetic:12", model, seed=3)
    np.savez(tmp_path / "set.npz", images=images, labels=np.arange(12) % 10)
    outs = []
    for name, executor in (("serial", ["--workers", "1"]), ("dask", ["--scheduler", cluster.scheduler_address])):
        out = tmp_path / name
        result = CliRunner().invoke(cli, ["eval", "--model", "tiny", "--images", str(tmp_path / "set.npz"),
                                          "--dynamic", "--batch", "4", *executor, "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "top-1" in result.output and "eval: 100% 3/3" in result.output
        outs.append(out)
    for name in ("summary.json", "images.csv", "logits.npy"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    assert (outs[0] / "eval.png").read_bytes()[:4] == b"\x89PNG" and (outs[0] / "run.json").is_file()
    for args, option in [(["--images", "synthetic:0", "--workers", "1"], "--images"),
                         (["--images", str(tmp_path / "nope.npy"), "--workers", "1"], "--images"),
                         (["--images", "synthetic:4", "--plan", "uniform:4", "--dynamic", "--workers", "1"], "--plan"),
                         (["--images", "synthetic:4", "--workers", "2", "--scheduler", "tcp://x:1"], "--scheduler")]:
        bad = CliRunner().invoke(cli, ["eval", "--model", "tiny", *args, "--out", str(tmp_path / "b")])
        assert bad.exit_code != 0 and option in bad.output and "Traceback" not in bad.output, bad.output


def test_dask_is_imported_only_when_a_cluster_runs(tmp_path):
    import subprocess
    import sys

    code = ("import sys, cli, sim.sweep, dist.evaluate\n"
            "from dist.executor import SERIAL, map_items\n"
            "import operator\n"
            "assert map_items(operator.add, [1, 2], context=1, options=SERIAL) == [2, 3]\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
