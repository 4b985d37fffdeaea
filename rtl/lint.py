"""Run the external checks on generated Verilog: Verilator -Wall lint (with the emitted waiver file) and an
Icarus Verilog (-g2012) compile. A missing tool raises RuntimeError: the checks never pass silently."""
from __future__ import annotations

import os
import subprocess

from .emit import TOP_NAME, VERILOG_FILE, WAIVER_FILE
from .toolchain import require_tool, tool_env


def verilator_lint(rtl_dir: str | os.PathLike) -> subprocess.CompletedProcess:
    """verilator --lint-only -Wall dqt_top.vlt dqt_top.v --top-module dqt_top, in `rtl_dir`."""
    env = tool_env()
    cmd = [require_tool("verilator", env), "--lint-only", "-Wall", WAIVER_FILE, VERILOG_FILE,
           "--top-module", TOP_NAME]
    return subprocess.run(cmd, cwd=rtl_dir, env=env, capture_output=True, text=True)


def iverilog_compile(rtl_dir: str | os.PathLike) -> subprocess.CompletedProcess:
    """iverilog -g2012 -s dqt_top -o dqt_top.vvp dqt_top.v, in `rtl_dir`."""
    env = tool_env()
    cmd = [require_tool("iverilog", env), "-g2012", "-s", TOP_NAME, "-o", f"{TOP_NAME}.vvp", VERILOG_FILE]
    return subprocess.run(cmd, cwd=rtl_dir, env=env, capture_output=True, text=True)
