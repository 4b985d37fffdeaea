"""The full `make verify` suite as pytest cases (slow: excluded from `make test`; the make target runs the same
BenchRuns through verify.suite). Each design is built once per session on each simulator."""
from __future__ import annotations

import pytest

from verify.plan import default_suite
from verify.toolchain import SIMULATORS

RUNS = {run.name: run for run in default_suite()}


@pytest.mark.slow
@pytest.mark.parametrize("sim,name", [(sim, name) for name, run in RUNS.items() for sim in SIMULATORS
                                      if run.runs_on(sim)])
def test_default_suite(sim, name):
    run = RUNS[name]
    result = run.run(sim)
    assert run.verdict(result) is None, result.log_tail(40)
