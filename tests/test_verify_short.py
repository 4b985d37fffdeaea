"""make test's share of RTL verification: short benches on Icarus and Verilator (built once per session).

A missing simulator fails these tests (SimulatorMissing), it never skips them. The fault-injection case
generates RTL with a deliberate bug and asserts the bench reports mismatches.
"""
from __future__ import annotations

import pytest

from verify.plan import short_suite
from verify.toolchain import SIMULATORS

RUNS = {run.name: run for run in short_suite()}


@pytest.mark.parametrize("sim", SIMULATORS)
@pytest.mark.parametrize("name", [n for n in RUNS if not RUNS[n].fault])
def test_bench_passes(sim, name):
    run = RUNS[name]
    result = run.run(sim)
    assert run.verdict(result) is None, result.log_tail(40)
    assert result.records and all(r["vectors"] > 0 and r["mismatches"] == 0 for r in result.records)


@pytest.mark.parametrize("sim", SIMULATORS)
@pytest.mark.parametrize("name", [n for n in RUNS if RUNS[n].fault])
def test_fault_is_detected(sim, name):
    run = RUNS[name]
    result = run.run(sim)
    assert run.verdict(result) is None, result.log_tail(40)
    assert not result.ok and sum(r["mismatches"] for r in result.records) > 0
    first = [m for r in result.records for m in r["first"]]
    assert first and "expected" in first[0] and "got" in first[0]  # the report names indices, expected, got
