"""Compile the streaming testbench (harness.cpp) around a generated top with Verilator (--exe --build).

The executable lands in <build root>/stream/<design key>[-t<threads>]/Vdqt_top (toolchain.build_root(), default
build/verify), compiled with CXX_OPT. The design's widths (R, C, N, ACC, OUT lane bits) come from its manifest as
-D defines (fixed or fused PEs: DQT_LANES, DQT_FUSED). A stamp file holds the sha256 of the sources, the flags and the Verilator version: an unchanged design
is not rebuilt, and the C++ compile goes through ccache (toolchain.setup_env: OBJCACHE=ccache) when it is rebuilt.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from golden.atomic import atomic_write_bytes

from .. import toolchain
from ..runner import VERILATOR_ARGS, Design, verilator_controls

HARNESS = Path(__file__).with_name("harness.cpp")
EXECUTABLE = "Vdqt_top"
# 1.75x fewer CPU seconds per simulated cycle than -O2 on the 16x16 top (0.23 s vs 0.40 s for 160,320 cycles);
# -march=native: the model is built and run on the same machine (the stamp and ccache see these flags).
CXX_OPT = "-O3 -march=native"


def harness_defines(manifest: dict) -> dict[str, int]:
    """The compile-time constants of harness.cpp from a top manifest (its header comment says what each means)."""
    cfg = manifest["config"]
    if cfg["pe_mode"] not in ("fixed", "fused"):
        raise ValueError(f"the streaming harness drives fixed or fused PEs, got pe_mode {cfg['pe_mode']!r}")
    return {"DQT_R": cfg["rows"], "DQT_C": cfg["cols"], "DQT_CODE_BITS": cfg["n_bits"],
            "DQT_WIDE_BITS": cfg["acc_bits"], "DQT_OUT_BITS": cfg["out_bits"], "DQT_LANES": cfg["max_lanes"],
            "DQT_FUSED": int(cfg["pe_mode"] == "fused")}


def build_harness(design: Design, threads: int = 1) -> Path:
    """Path of the streaming executable for `design` (a top from verify.designs.generate), built if needed.

    threads > 1 builds a Verilator --threads model (the design's evaluation split over that many threads)."""
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    toolchain.require("verilator")
    manifest = json.loads(design.manifest_path.read_text())
    defines = harness_defines(manifest)
    out = toolchain.build_root() / "stream" / (design.key + (f"-t{threads}" if threads > 1 else ""))
    exe = out / EXECUTABLE
    out.mkdir(parents=True, exist_ok=True)
    sources = [src for src in design.sources if src.suffix != ".vlt"] + verilator_controls(design, out)
    cflags = " ".join(f"-D{k}={v}" for k, v in defines.items()) + " " + CXX_OPT
    args = ["verilator", "--cc", "--exe", "--build", "-j", "2", *VERILATOR_ARGS, "--x-assign", "fast",
            "--x-initial", "fast", "--top-module", design.toplevel, "--Mdir", str(out), "-o", EXECUTABLE,
            "-CFLAGS", cflags, *(["--threads", str(threads)] if threads > 1 else []),
            *map(str, sources), str(HARNESS)]
    env = toolchain.setup_env(dict(os.environ))
    version = subprocess.run(["verilator", "--version"], env=env, capture_output=True, text=True, check=True).stdout
    digest = hashlib.sha256("\0".join([*args[:-len(sources) - 1], version]).encode())
    for src in (*sources, HARNESS):
        digest.update(src.read_bytes())
    stamp = out / "stamp.sha256"
    if exe.exists() and stamp.exists() and stamp.read_text() == digest.hexdigest():
        return exe
    log = out / "build.log"
    with open(log, "w") as f:
        done = subprocess.run(args, env=env, stdout=f, stderr=subprocess.STDOUT, cwd=out)
    if done.returncode != 0 or not exe.exists():
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"building the streaming harness for {design.key} failed (see {log}):\n{tail}")
    atomic_write_bytes(stamp, digest.hexdigest().encode())
    return exe
