"""Build a generated design once per simulator per process and run cocotb bench modules against it.

`Design` is a set of Verilog sources + toplevel + manifest (see verify/designs.py). `build(design, sim)`
compiles it into <build root>/<sim>/<design.key>/ (build root: toolchain.build_root(), default build/verify;
Verilator through ccache) and memoises the result per build folder, so a pytest session or a suite run compiles
each design once. `run_bench(...)` runs one cocotb test module
(optionally a subset of its tests) in one simulator process and returns pass/fail per test and the
scoreboard records the benches wrote.
"""
from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import toolchain
from .records import RECORDS_ENV, read_records

TIMESCALE = ("1ns", "1ps")
VERILATOR_ARGS = ("-Wno-fatal", "-Wno-lint", "-Wno-style", "-O3")
# Icarus in cocotb's default -g2012 mode applies `reg x = 0;` initialisers without an event, so Yosys's
# `always @*` blocks (which wait on such a dummy reg to run once at time 0) start as X until an input changes;
# Verilog-2005 semantics (a later -g wins) run them at time 0 as Yosys intends.
ICARUS_ARGS = ("-g2005",)
ICARUS_DUMP = "verify_waves_dump"
# Verilator inlines every instance of a small module. Up to a 16x16 top that is what makes its model fast (the stream
# harness simulates 16x16 at ~720k cycles/s inlined, ~280k with the PE a class); a 64x64 top inlined is one flat model
# of 4,096 PEs whose C++ takes longer to compile than all of make verify runs. Above INLINE_MAX_PES the PE module
# stays one C++ class (verilator_inline_control).
INLINE_MAX_PES = 256
INLINE_CONTROL = "no_inline_pe.vlt"


@dataclass(frozen=True)
class Design:
    """Verilog sources of one generated DUT, its toplevel module name and its manifest file."""

    key: str               # unique build name, e.g. "top_16x16" or "top_16x16_fault-drop_round_bit"
    toplevel: str
    sources: tuple[Path, ...]
    manifest_path: Path


@dataclass
class Built:
    design: Design
    sim: str
    runner: object
    build_dir: Path
    build_seconds: float


@dataclass
class RunResult:
    """One simulator process: which cocotb tests passed/failed and the scoreboard records written."""

    design: Design
    sim: str
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)
    log: Path | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed and bool(self.passed)

    def log_tail(self, lines: int = 60) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


_BUILT: dict[tuple[str, str, Path], Built] = {}


def build(design: Design, sim: str) -> Built:
    """Compile `design` for `sim` into toolchain.build_root()/<sim>/<design.key> once per process and build
    folder (memoised); raises SimulatorMissing if `sim` is absent."""
    build_dir = toolchain.build_root() / sim / design.key
    key = (design.key, sim, build_dir)
    if key in _BUILT:
        return _BUILT[key]
    toolchain.require(sim)
    from cocotb_tools.runner import get_runner

    build_dir.mkdir(parents=True, exist_ok=True)
    runner = get_runner(sim)
    sources, args = _sources_for(design, sim, build_dir), list(VERILATOR_ARGS if sim == "verilator" else ICARUS_ARGS)
    if sim == "icarus" and toolchain.waves_enabled():
        sources.append(_icarus_dump_module(design, build_dir))
        args += ["-s", ICARUS_DUMP]
    t0 = time.perf_counter()
    with _cocotb_waves(sim):
        runner.build(
            sources=sources,
            hdl_toplevel=design.toplevel,
            build_dir=str(build_dir),
            build_args=args,
            timescale=TIMESCALE,
            waves=toolchain.waves_enabled() and sim == "verilator",
            always=True,
            log_file=str(build_dir / "build.log"),
        )
    built = Built(design, sim, runner, build_dir, time.perf_counter() - t0)
    _BUILT[key] = built
    return built


@contextmanager
def _cocotb_waves(sim: str):
    """Hide WAVES from cocotb's Icarus build (it would compile its SystemVerilog dumper, which -g2005 rejects;
    _icarus_dump_module replaces it); Verilator keeps cocotb's own --trace."""
    saved = os.environ.pop("WAVES", None) if sim == "icarus" else None
    try:
        yield
    finally:
        if saved is not None:
            os.environ["WAVES"] = saved


def _icarus_dump_module(design: Design, build_dir: Path) -> str:
    """A Verilog-2005 dumper for WAVES=1 on Icarus (cocotb's own uses SystemVerilog `string`, which
    ICARUS_ARGS' -g2005 rejects); the waveform lands in the run directory as waves.fst."""
    path = build_dir / f"{ICARUS_DUMP}.v"
    path.write_text(f"module {ICARUS_DUMP}();\ninitial begin\n  $dumpfile(\"waves.fst\");\n"
                    f"  $dumpvars(0, {design.toplevel});\nend\nendmodule\n")
    return str(path)


def verilator_controls(design: Design, build_dir: Path) -> list[Path]:
    """The design's Verilator control files (.vlt): its own (the lint waivers), plus INLINE_CONTROL written into
    `build_dir` for a top of more than INLINE_MAX_PES PEs (`no_inline` on the PE module, rtl/units.py)."""
    from rtl.emit import TOP_NAME
    from rtl.units import unit_module_name

    controls = [src for src in design.sources if src.suffix == ".vlt"]
    if design.toplevel == TOP_NAME:
        cfg = json.loads(design.manifest_path.read_text())["config"]
        if cfg["rows"] * cfg["cols"] > INLINE_MAX_PES:
            control = build_dir / INLINE_CONTROL
            text = f'`verilator_config\nno_inline -module "{unit_module_name("pe")}"\n'
            if not control.exists() or control.read_text() != text:
                control.write_text(text)
            controls.append(control)
    return controls


def _sources_for(design: Design, sim: str, build_dir: Path) -> list:
    """Verilog sources for both simulators; Verilator control files (verilator_controls) only for Verilator, tagged."""
    from cocotb_tools.runner import VerilatorControlFile

    verilog = [str(src) for src in design.sources if src.suffix != ".vlt"]
    control = [VerilatorControlFile(str(src)) for src in verilator_controls(design, build_dir)]
    return verilog + (control if sim == "verilator" else [])


def run_bench(built: Built, test_module: str, testcases: list[str] | None = None, env: dict | None = None,
              tag: str = "run", log: bool = True) -> RunResult:
    """Run cocotb module `test_module` (tests `testcases`, default all) in one simulator process.

    `env` holds bench parameters (VERIFY_VECTORS, ...); log=False streams the simulator output to the terminal
    instead of sim.log (long runs show their progress lines). A failing cocotb test is reported in
    RunResult.failed; it never raises here, so callers decide (pytest asserts, the suite counts).
    """
    if str(toolchain.REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(toolchain.REPO_ROOT))
    test_dir = built.build_dir / f"run-{tag}"
    test_dir.mkdir(parents=True, exist_ok=True)
    records = test_dir / "records.jsonl"
    records.unlink(missing_ok=True)
    results_xml = test_dir / "results.xml"
    results_xml.unlink(missing_ok=True)
    log_path = test_dir / "sim.log"
    full_env = {
        RECORDS_ENV: str(records),
        "VERIFY_SIM": built.sim,
        "VERIFY_DESIGN": built.design.key,
        "VERIFY_MANIFEST": str(built.design.manifest_path),
        **{k: str(v) for k, v in (env or {}).items()},
    }
    t0 = time.perf_counter()
    try:
        built.runner.test(
            test_module=test_module,
            hdl_toplevel=built.design.toplevel,
            hdl_toplevel_lang="verilog",
            testcase=testcases,
            build_dir=str(built.build_dir),
            test_dir=str(test_dir),
            results_xml=str(results_xml),
            extra_env=full_env,
            waves=toolchain.waves_enabled(),  # Icarus: vvp -fst; our dumper (built in) writes waves.fst
            timescale=TIMESCALE if built.sim == "icarus" else None,
            log_file=str(log_path) if log else None,
        )
    except SystemExit:
        pass  # cocotb's runner exits on failing tests under pytest; results.xml says which
    result = RunResult(built.design, built.sim, log=log_path if log else None, seconds=time.perf_counter() - t0)
    result.records = read_records(records)
    if results_xml.exists():
        result.passed, result.failed = _parse_results(results_xml)
    else:
        result.failed = [f"{test_module}: simulator produced no results.xml"]
    return result


def _parse_results(path: Path) -> tuple[list[str], list[str]]:
    import xml.etree.ElementTree as ET

    passed, failed = [], []
    for case in ET.parse(path).getroot().iter("testcase"):
        name = case.get("name", "?")
        bad = any(child.tag in ("failure", "error", "skipped") for child in case)  # a skip is a failure
        (failed if bad else passed).append(name)
    return passed, failed


def bench_env(**kw) -> dict:
    """Bench parameters as environment strings (VERIFY_<NAME>), e.g. bench_env(vectors=2000)."""
    return {f"VERIFY_{k.upper()}": str(v) for k, v in kw.items()}


def env_int(name: str, default: int) -> int:
    """Read an integer bench parameter VERIFY_<NAME> inside a cocotb test; ValueError names it."""
    text = os.environ.get(f"VERIFY_{name.upper()}", "")
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"VERIFY_{name.upper()} must be an integer, got {text!r}") from None
