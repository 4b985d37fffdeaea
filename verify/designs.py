"""Generated designs under test: Verilog + manifest.json for each unit, written under <build root>/rtl/ (toolchain.build_root(), default build/verify).

The top comes from rtl.emit.write_rtl (the same code path as `gen-rtl`), the units (ViewUnit, PE, OutputUnit)
from rtl.emit.write_unit_rtl with the same `RtlConfig` and manifest layout (config + ports), so every bench reads
its widths from the manifest and never restates them.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

from golden.atomic import atomic_write_bytes
from rtl.emit import MANIFEST_FILE, write_rtl, write_unit_rtl
from rtl.lint import verilator_lint
from rtl.params import RtlConfig
from rtl.units import UNIT_MODULES
from sim.config import ArrayConfig

from .runner import Design
from .toolchain import build_root

DESIGNS = (*UNIT_MODULES, "top")


def rtl_config(rows: int = 16, cols: int = 16, k_max: int | None = None, fault: str | None = None,
               pe_mode: str = "fixed") -> RtlConfig:
    """RtlConfig of an R×C array (default widths from DEFAULT_SPEC); k_max None keeps the generator default."""
    cfg = RtlConfig(array=ArrayConfig(rows=rows, cols=cols, pe_mode=pe_mode), fault=fault)
    return cfg if k_max is None else replace(cfg, k_max=k_max)


def design_key(unit: str, cfg: RtlConfig) -> str:
    """Build-directory name of a design: unit, shape (top only), k_max (top only), fault."""
    if unit not in DESIGNS:
        raise ValueError(f"unit must be one of {', '.join(DESIGNS)}, got {unit!r}")
    key = unit if unit != "top" else f"top_{cfg.rows}x{cfg.cols}_k{cfg.k_max}" + ("_fused" if cfg.pe_mode == "fused" else "")
    return key + (f"_fault-{cfg.fault}" if cfg.fault else "")


def _write_if_changed(path: Path, text: str) -> None:
    """Rewrite `path` only when its text changes (keeps mtimes, so incremental builds stay incremental)."""
    if path.exists() and path.read_text() == text:
        return
    atomic_write_bytes(path, text.encode())


def generator_digest(unit: str, cfg: RtlConfig) -> str:
    """sha256 of everything the emitted files depend on: the generator's sources (rtl/, and golden/ and sim/ whose
    modules it imports), the Amaranth version, the unit and the configuration."""
    import amaranth

    digest = hashlib.sha256(f"{unit}\0{cfg!r}\0{amaranth.__version__}".encode())
    root = Path(__file__).resolve().parent.parent
    for path in sorted(p for package in ("rtl", "golden", "sim") for p in (root / package).rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def generate(unit: str, cfg: RtlConfig) -> Design:
    """Emit `unit` ("view_unit" | "pe" | "output_unit" | "top") for `cfg`; returns the Design to build.

    The folder keeps a stamp of generator_digest: when it matches and the files are there, the design is reused
    without elaborating it again (the 16x16 top takes 8 s and more)."""
    key = design_key(unit, cfg)
    out = build_root() / "rtl" / key
    out.mkdir(parents=True, exist_ok=True)
    stamp, digest = out / "generator.sha256", generator_digest(unit, cfg)
    if stamp.exists() and stamp.read_text() == digest and (out / MANIFEST_FILE).exists():
        manifest = json.loads((out / MANIFEST_FILE).read_text())
        if all((out / f["path"]).exists() for f in manifest["files"]):
            return _design(key, out, manifest)
    staging = out / "staging"
    manifest = write_rtl(cfg, staging) if unit == "top" else write_unit_rtl(unit, cfg, staging)
    for name in (*(f["path"] for f in manifest["files"]), MANIFEST_FILE):
        _write_if_changed(out / name, (staging / name).read_text())
    atomic_write_bytes(stamp, digest.encode())
    return _design(key, out, manifest)


def _design(key: str, out: Path, manifest: dict) -> Design:
    sources = tuple((out / f["path"]).resolve() for f in manifest["files"])
    return Design(key=key, toplevel=manifest["top"], sources=sources, manifest_path=(out / MANIFEST_FILE).resolve())



_LINTED: dict[Path, str | None] = {}


def lint_top(design: Design) -> str | None:
    """`verilator --lint-only -Wall` of a generated top with its waiver file (rtl/lint.py), once per process and
    design folder: None when clean, else the first lines of the report."""
    folder = design.manifest_path.parent
    if folder not in _LINTED:
        lint = verilator_lint(folder)
        report = lint.stdout + lint.stderr
        clean = lint.returncode == 0 and "%Warning" not in report and "[-1:0]" not in design.sources[0].read_text()
        _LINTED[folder] = None if clean else f"verilator -Wall lint of {design.key}:\n" + "\n".join(report.splitlines()[:20])
    return _LINTED[folder]
