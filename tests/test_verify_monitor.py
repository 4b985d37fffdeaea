"""The DqtTop tile monitor (verify/tb/top.py) on scripted port values, and the suite's verdict on empty benches.

The monitor reads cocotb values: a 1-bit port comes back as a `Logic`, a wider one as a `LogicArray`. The fake DUT
below hands it exactly those types, cycle by cycle, as the documented tile timing (docs/rtl.md) would.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from cocotb.types import Logic, LogicArray

from rtl.emit import port_table
from verify.designs import rtl_config
from verify.manifest import DutParams, Port
from verify.plan import BenchRun
from verify.runner import Design, RunResult
from verify.tb.top import TopMonitor
from verify.tile_job import pack_lanes


def dut_params(rows: int, cols: int) -> DutParams:
    """The DutParams an R×C design's manifest would give (config and ports from the generator's own tables)."""
    cfg = rtl_config(rows, cols, k_max=4)
    ports = {p["name"]: Port(p["name"], p["direction"], p["width"], p["signed"]) for p in port_table(cfg)}
    return DutParams(config=cfg.to_dict(), spec=cfg.spec, ports=ports, top="dqt_top")


def cocotb_value(value: int | str, width: int):
    """What cocotb 2 returns for a port of `width` bits: a Logic for 1 bit, else a LogicArray."""
    if width == 1:
        return Logic(value if isinstance(value, str) else int(value))
    return LogicArray(value, width) if isinstance(value, int) else LogicArray(value)


class FakeTop:
    """Output ports of a DqtTop as handles with a `.value`, set per cycle by `show`."""

    def __init__(self, p: DutParams):
        self.p = p
        self.show(valid=0, row=0, data=0, clamped=0)

    def show(self, valid: int, row: int, data: int, clamped: int | str) -> None:
        for name, value in (("out_valid", valid), ("out_row", row), ("out_data", data), ("out_clamped", clamped)):
            setattr(self, name, SimpleNamespace(value=cocotb_value(value, self.p.ports[name].width)))


def play(rows: int, cols: int, valid_cycles: list[int], done_cycle: int, clamped: np.ndarray,
         data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Show rows R-1 .. 0 of (data, clamped) in `valid_cycles`, sample every cycle 1 .. done_cycle as
    TopDriver.finish does, and return the monitor's result."""
    p = dut_params(rows, cols)
    dut, mon = FakeTop(p), TopMonitor(None, p)
    mon.dut = dut
    mon.begin()
    out_bits = p.config["out_bits"]
    rows_left = list(range(rows - 1, -1, -1))
    for cycle in range(1, done_cycle + 1):
        if cycle in valid_cycles:
            row = rows_left.pop(0)
            bits = sum(int(b) << j for j, b in enumerate(clamped[row]))
            dut.show(1, row, pack_lanes(data[row], out_bits)[0], bits)
        else:
            dut.show(0, 0, 0, 0)
        mon.sample(cycle)
    return mon.result(done_cycle)


@pytest.mark.parametrize("rows,cols", [(3, 1), (1, 1), (1, 16), (2, 5)])
def test_monitor_reads_ports_of_any_width(rows, cols):
    """R×1 arrays have a 1-bit out_clamped (and R = 1 a 1-bit out_row): every flag and value comes back."""
    rng = np.random.default_rng(rows * 100 + cols)
    data = rng.integers(-(1 << 31), 1 << 31, size=(rows, cols))
    clamped = rng.integers(0, 2, size=(rows, cols))
    clamped[0, 0], clamped[-1, -1] = 1, 0
    done = 10 + rows
    out, got_clamped = play(rows, cols, list(range(done - rows, done)), done, clamped, data)
    assert np.array_equal(out, data)
    assert np.array_equal(got_clamped, clamped)


@pytest.mark.parametrize("rows,cols", [(1, 16), (1, 1), (4, 1), (3, 5)])
@pytest.mark.parametrize("shift", [1, -1])
def test_monitor_fails_out_valid_one_cycle_off(rows, cols, shift):
    """out_valid one cycle late (also high in the cycle `done` rises) or one cycle early fails, at any R (on 1×C
    the data of the only row is the same in both cycles, so only the cycle check can see it)."""
    data, clamped = np.ones((rows, cols), dtype=np.int64), np.zeros((rows, cols), dtype=np.int64)
    done = 10 + rows
    with pytest.raises(AssertionError, match="out_valid in tile cycles"):
        play(rows, cols, [c + shift for c in range(done - rows, done)], done, clamped, data)


def test_monitor_fails_on_x_bits_of_a_one_bit_port():
    p = dut_params(2, 1)
    dut, mon = FakeTop(p), TopMonitor(None, p)
    mon.dut = dut
    mon.begin()
    dut.show(1, 1, 5, "X")
    with pytest.raises(AssertionError, match="out_clamped of row 1 lane 0 holds X/Z"):
        mon.sample(3)


def _result(records: list[dict], passed=("tiles",), failed=()) -> RunResult:
    design = Design("top_1x1", "dqt_top", (), Path("manifest.json"))
    return RunResult(design, "icarus", passed=list(passed), failed=list(failed), records=records)


@pytest.mark.parametrize("records", [[], [{"bench": "tile_outputs", "vectors": 0, "mismatches": 0}],
                                     [{"bench": "tile_outputs", "vectors": 9, "mismatches": 0},
                                      {"bench": "tile_cycles", "vectors": 0, "mismatches": 0}]])
def test_a_bench_that_compares_no_vectors_fails_the_suite(records):
    """A passing cocotb run with no records, or a record of 0 vectors, is a failure of make verify."""
    run = BenchRun("tiles_1x1", "top", "top_tiles", (1, 1), 4)
    why = run.verdict(_result(records))
    assert why is not None and "no vectors" in why


def test_a_bench_with_vectors_and_no_mismatches_passes():
    run = BenchRun("tiles_1x1", "top", "top_tiles", (1, 1), 4)
    assert run.verdict(_result([{"bench": "tile_outputs", "vectors": 9, "mismatches": 0}])) is None
    assert run.verdict(_result([{"bench": "t", "vectors": 9, "mismatches": 1}])) is not None
    assert run.verdict(_result([{"bench": "t", "vectors": 9, "mismatches": 0}], failed=["t"])) is not None
