"""Generated designs under test: Verilog + manifest.json for each unit, written under build/verify/rtl/.

The top comes from rtl.emit.write_rtl (the same code path as `gen-rtl`); the units (ViewUnit, PE,
OutputUnit) are emitted from the same `RtlConfig` with the same manifest layout (config + ports), so every
bench reads its widths from the manifest and never restates them.
"""
from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from amaranth.back import verilog
from amaranth.hdl import Shape
from amaranth.lib.wiring import In

from rtl.emit import write_rtl
from rtl.output_unit import OutputUnit
from rtl.params import RtlConfig
from rtl.pe import PE
from rtl.view_unit import ViewUnit
from sim.config import ArrayConfig

from .runner import Design
from .toolchain import BUILD_ROOT

UNITS = {"view_unit": ViewUnit, "pe": PE, "output_unit": OutputUnit}
DESIGNS = (*UNITS, "top")


def rtl_config(rows: int = 16, cols: int = 16, k_max: int | None = None, fault: str | None = None) -> RtlConfig:
    """RtlConfig of an R×C array (default widths from DEFAULT_SPEC); k_max None keeps the generator default."""
    cfg = RtlConfig(array=ArrayConfig(rows=rows, cols=cols), fault=fault)
    return cfg if k_max is None else replace(cfg, k_max=k_max)


def design_key(unit: str, cfg: RtlConfig) -> str:
    """Build-directory name of a design: unit, shape (top only), k_max (top only), fault."""
    if unit not in DESIGNS:
        raise ValueError(f"unit must be one of {', '.join(DESIGNS)}, got {unit!r}")
    key = unit if unit != "top" else f"top_{cfg.rows}x{cfg.cols}_k{cfg.k_max}"
    return key + (f"_fault-{cfg.fault}" if cfg.fault else "")


def _write_if_changed(path: Path, text: str) -> None:
    """Rewrite `path` only when its text changes (keeps mtimes, so incremental builds stay incremental)."""
    if path.exists() and path.read_text() == text:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _unit_manifest(unit: str, cfg: RtlConfig, component) -> dict:
    ports = [{"name": name, "direction": "input" if member.flow == In else "output",
              "width": Shape.cast(member.shape).width, "signed": Shape.cast(member.shape).signed}
             for name, member in component.signature.members.items()]
    return {"top": unit, "config": cfg.to_dict(), "ports": ports, "files": [{"path": f"{unit}.v"}]}


def generate(unit: str, cfg: RtlConfig) -> Design:
    """Emit `unit` ("view_unit" | "pe" | "output_unit" | "top") for `cfg`; returns the Design to build."""
    key = design_key(unit, cfg)
    out = BUILD_ROOT / "rtl" / key
    out.mkdir(parents=True, exist_ok=True)
    if unit == "top":
        staging = out / "staging"
        manifest = write_rtl(cfg, staging)
        for f in manifest["files"]:
            _write_if_changed(out / f["path"], (staging / f["path"]).read_text())
        _write_if_changed(out / "manifest.json", (staging / "manifest.json").read_text())
    else:
        component = UNITS[unit](cfg)
        manifest = _unit_manifest(unit, cfg, component)
        _write_if_changed(out / f"{unit}.v", verilog.convert(component, name=unit, emit_src=False))
        _write_if_changed(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    sources = tuple((out / f["path"]).resolve() for f in manifest["files"])
    return Design(key=key, toplevel=manifest["top"], sources=sources, manifest_path=(out / "manifest.json").resolve())

