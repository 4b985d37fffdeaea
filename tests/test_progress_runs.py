"""Progress bars of the long runs (golden.progress): make verify's bench runs, golden inference of a large
batch (sim), and the training loops. Off a terminal each bar writes plain lines, the last at 100%."""
import io
from types import SimpleNamespace

import pytest

from golden.inference import infer, inference_macs
from golden.progress import LogProgress
from golden.session import BAR_MIN_IMAGES, resolve_model, run_golden
from golden.synthetic import synthetic_images
from verify.suite import run_suite
from verify.toolchain import SimulatorMissing


class _FakeRun:
    """A BenchRun's interface (name, fault, runs_on, run, verdict) without a simulator."""

    def __init__(self, name: str, missing_on: str | None = None, simulators=("icarus", "verilator")):
        self.name, self.fault, self.missing_on, self.simulators = name, None, missing_on, simulators

    def runs_on(self, sim: str) -> bool:
        return sim in self.simulators

    def run(self, sim: str):
        if sim == self.missing_on:
            raise SimulatorMissing(f"{sim} not installed")
        return SimpleNamespace(records=[{"bench": self.name, "vectors": 5, "mismatches": 0}])

    def verdict(self, result):
        return None


def test_suite_bar_counts_every_run_even_past_a_missing_simulator():
    lines, out = [], io.StringIO()
    records, failures = run_suite([_FakeRun("a", missing_on="icarus"), _FakeRun("b")], ("verilator", "icarus"),
                                  progress=lines.append, file=out)
    assert len(lines) == 2 and lines[0].startswith("[verilator] a") and "ok" in lines[0]
    assert len(records) == 2 and failures == ["icarus: icarus not installed"]
    bar = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and len(bar) == 1  # one run's wait < 30 s: only the closing line
    assert bar[0].startswith("verify: 100%") and "4/4" in bar[0] and "run/s" in bar[0]


def test_suite_runs_a_bench_only_on_its_simulators():
    lines, out = [], io.StringIO()
    records, failures = run_suite([_FakeRun("a"), _FakeRun("big", simulators=("icarus",))], ("verilator", "icarus"),
                                  progress=lines.append, file=out)
    assert [(line[1:10].strip(), line[12:34].strip()) for line in lines] == [("verilator", "a"), ("icarus", "a"),
                                                                              ("icarus", "big")]
    assert len(lines) == 3 and not failures and len(records) == 3
    assert "3/3" in out.getvalue().splitlines()[-1]


@pytest.mark.parametrize("dynamic", [False, True])
def test_inference_bar_reaches_the_batch_macs(dynamic):
    model = resolve_model("tiny", 0)
    images = synthetic_images(model.network, 5, 0, model.spec)
    total = inference_macs(model, 5, dynamic)
    assert total == 5 * (model.network.macs + (model.controller.network.macs if dynamic else 0))
    out, lines = io.StringIO(), []
    bar = LogProgress(total, "golden", "MAC", out, interval_s=0)
    infer(model, images, dynamic=dynamic, progress=lines.append, bar=bar)
    bar.close()
    assert bar.n == total and lines and out.getvalue().splitlines()[-1].startswith("golden: 100%")


def test_run_golden_shows_a_bar_only_for_large_batches(capsys):
    lines = []
    run_golden("tiny", batch=BAR_MIN_IMAGES, progress=lines.append)
    err = capsys.readouterr().err
    assert "golden: 100%" in err and "MAC/s" in err and "\r" not in err
    assert any("[" in line and "/" in line for line in lines)  # the per-op lines are kept
    run_golden("tiny", batch=BAR_MIN_IMAGES - 1, progress=lines.append)
    assert "golden:" not in capsys.readouterr().err
