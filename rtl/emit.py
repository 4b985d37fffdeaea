"""Verilog emission with a manifest (configuration, top name, ports, files with sha256): DqtTop (`write_rtl`,
the `gen-rtl` path) and each unit on its own (`write_unit_rtl`: view unit, PE, output unit, for unit benches).

dqt_top.v holds the top and its array, one module per unit kind (rtl/units.py: dqt_pe, dqt_view_unit,
dqt_output_unit) instantiated where it is used, and the buffer bank RAM_MODULE (rtl/buffer.py). A unit's own file
holds the very module text the top instantiates (same component, configuration and name), so the unit benches
simulate the top's PE / view unit / output unit."""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import amaranth
from amaranth.hdl import Shape
from amaranth.back import verilog
from amaranth.lib.wiring import In

from golden.atomic import atomic_write_bytes
from sim.tile import os_readout_cycles, os_tile_cycles

from .buffer import RAM_VERILOG
from .params import RtlConfig
from .top import PORT_DOCS, DqtTop, top_signature
from .units import UNIT_MODULES, unit_class, unit_component, unit_module_name

GENERATOR_VERSION = "1.0.0"
TOP_NAME = "dqt_top"
VERILOG_FILE = f"{TOP_NAME}.v"
WAIVER_FILE = f"{TOP_NAME}.vlt"
MANIFEST_FILE = "manifest.json"

# Verilator -Wall rules waived on the generated file only; docs/rtl.md ("Lint") explains each one.
LINT_WAIVERS = {
    "DECLFILENAME": "one file holds every module (dqt_top, dqt_top.array, the unit modules, dqt_ram)",
    "PROCASSINIT": "Amaranth declares registers with their reset value as the power-on initial value",
    "UNUSEDSIGNAL": "Amaranth keeps every named signal as a debug wire even where its netlist merged it into "
                    "another net (e.g. a submodule port fed from a packed memory word), plus back-end temporaries",
    "WIDTHEXPAND": "the back end relies on Verilog's implicit extension in expressions it emits",
    "WIDTHTRUNC": "the back end writes `!x` for x == 0 on multi-bit x",
    "CASEINCOMPLETE": "the back end emits FSM/switch case statements without a default (the signal keeps its "
                      "assigned default)",
}


_TIME0_TRIGGER = re.compile(r"^(\s*)reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+) += 0;$", re.M)


def time0_trigger_as_initial(text: str) -> str:
    """Rewrite Yosys' time-0 trigger `reg T = 0;` as `reg T; initial T = 1'h0;`.

    Yosys' write_verilog makes every `always @*` block read a dummy reg T declared `= 0`, so that simulators run
    the block once at time 0. Under SystemVerilog semantics (iverilog -g2012) a declaration initializer raises no
    event, so a block whose inputs are registers that never change (e.g. the FSM decode of `idle` while
    fsm_state stays 0 through reset) would stay X. An `initial` assignment is the same thing in Verilog-2005 and
    for synthesis, and raises the time-0 event in both language modes.
    """
    return _TIME0_TRIGGER.sub(lambda m: f"{m.group(1)}reg {m.group(2)} ;\n{m.group(1)}initial {m.group(2)}  = 1'h0;", text)


def _convert(component, name: str) -> str:
    """Verilog text of `component` as module `name` (one module per Amaranth submodule instance)."""
    return time0_trigger_as_initial(verilog.convert(component, name=name, emit_src=False))


def unit_verilog(kind: str, cfg: RtlConfig) -> str:
    """Verilog text of the one module of unit `kind` (rtl/units.py) for `cfg`."""
    return _convert(unit_component(kind, cfg), unit_module_name(kind))


def generate_verilog(cfg: RtlConfig) -> str:
    """Verilog text of the whole design: the top and its array, each unit kind's module once (unit_verilog), and
    RAM_MODULE for the operand-buffer banks (rtl/buffer.py)."""
    return "".join([_convert(DqtTop(cfg, macros=True), TOP_NAME), *(unit_verilog(kind, cfg) for kind in UNIT_MODULES),
                    RAM_VERILOG])


def member_ports(members) -> list[dict]:
    """Ports of a component's signature members (name -> Member), in order: name, direction, width, signedness."""
    ports = []
    for name, member in members.items():
        shape = Shape.cast(member.shape)
        ports.append({"name": name, "direction": "input" if member.flow == In else "output",
                      "width": shape.width, "signed": shape.signed})
    return ports


def port_table(cfg: RtlConfig) -> list[dict]:
    """Top-level ports: name, direction, width, signedness, one-line doc (clk and rst first)."""
    clock = [{"name": name, "direction": "input", "width": 1, "signed": False} for name in ("clk", "rst")]
    return [{**port, "doc": PORT_DOCS[port["name"]]} for port in clock + member_ports(top_signature(cfg))]


def _file_entries(files: dict[str, bytes]) -> list[dict]:
    return [{"path": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            for name, data in files.items()]


def _generator_fields() -> dict:
    return {"generator": "dqt-hw rtl", "generator_version": GENERATOR_VERSION, "amaranth_version": amaranth.__version__}


def lint_waivers() -> str:
    """Verilator configuration file (pass it before dqt_top.v) holding the waivers of LINT_WAIVERS."""
    lines = ["`verilator_config", "// dqt-hw rtl: -Wall waivers for Amaranth-generated code (docs/rtl.md, Lint)"]
    for rule, why in LINT_WAIVERS.items():
        lines += [f"// {rule}: {why}", f'lint_off -rule {rule} -file "*{VERILOG_FILE}"']
    return "\n".join(lines) + "\n"


def write_rtl(cfg: RtlConfig, out_dir: str | os.PathLike) -> dict:
    """Write dqt_top.v and manifest.json into `out_dir` (created if needed); returns the manifest."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = generate_verilog(cfg).encode()
    atomic_write_bytes(out / VERILOG_FILE, text)
    waivers = lint_waivers().encode()
    atomic_write_bytes(out / WAIVER_FILE, waivers)
    r, c = cfg.rows, cfg.cols
    manifest = {
        **_generator_fields(), "top": TOP_NAME, "config": cfg.to_dict(),
        "tile_cycles": {"formula": "os_fold_cycles(R, C, K) + os_readout_cycles(R, C)  (sim/tile.py)",
                        "readout_cycles": os_readout_cycles(r, c), "at_k_max": os_tile_cycles(r, c, cfg.k_max)},
        "clock": "clk, rising edge; rst synchronous, active high",
        "ports": port_table(cfg),
        "files": _file_entries({VERILOG_FILE: text, WAIVER_FILE: waivers}),
        "lint": f"verilator --lint-only -Wall {WAIVER_FILE} {VERILOG_FILE} --top-module {TOP_NAME}",
    }
    atomic_write_bytes(out / MANIFEST_FILE, (json.dumps(manifest, indent=2) + "\n").encode())
    return manifest


def write_unit_rtl(unit: str, cfg: RtlConfig, out_dir: str | os.PathLike) -> dict:
    """Write `<unit>.v` (module unit_module_name(unit), the text dqt_top.v holds) and manifest.json for one unit
    kind of rtl/units.py into `out_dir`.

    The manifest has the top's layout without the top-only fields: generator, top (= unit), config, ports (the
    unit's signature only; clk / rst, where the unit is clocked, are not listed), files with sha256. Returns the
    manifest.
    """
    ports = unit_class(unit, cfg).ports(cfg)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    file_name = f"{unit}.v"
    text = unit_verilog(unit, cfg).encode()
    atomic_write_bytes(out / file_name, text)
    manifest = {**_generator_fields(), "top": unit_module_name(unit), "config": cfg.to_dict(),
                "ports": member_ports(ports), "files": _file_entries({file_name: text})}
    atomic_write_bytes(out / MANIFEST_FILE, (json.dumps(manifest, indent=2) + "\n").encode())
    return manifest
