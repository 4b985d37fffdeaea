"""Hardware reports of a simulation: summary fields, layers.csv columns, table.tex / table.md, figures
(cycles, energy, traffic, breakdown; PDF + SVG + PNG, or the formats asked for) and a SCALE-Sim-layout
COMPUTE_REPORT.csv.

`hardware_report(sims)` takes one `NetworkSim` (static plan) or one per image (dynamic plan); with several
images the per-layer numbers are means over the images and the totals come with mean / min / max.
`report_files` builds the whole run's files in memory (golden fields and hardware fields together, rendered
figures as callables); the command publishes them at once (golden.run_folder).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from golden.report import csv_text, json_bytes

from .explain import explain
from .figures import FORMATS
from .memory import OPERANDS
from .report_figures import render_breakdown, render_cycles, render_energy, render_traffic
from .report_tables import render_table_md, render_table_tex
from .simulate import NetworkSim, summarize_images

BREAKDOWN_FIELDS = (*(f"energy_{level}_uj" for level in ("mac", "view", "sram", "dram")),
                    "energy_view_weights_uj", "energy_view_inputs_uj",
                    *(f"energy_{level}_{op}_uj" for level in ("sram", "dram") for op in OPERANDS),
                    *(f"{level}_{op}_bytes" for level in ("dram", "sram") for op in OPERANDS),
                    "reduction_folds", "psum_spill")
LAYER_FIELDS = ("cycles", "compute_cycles", "readout_cycles", "load_cycles", "stall_cycles", "utilization",
                "mapping_efficiency", "dram_bytes", "sram_bytes", "view_ops", "energy_uj", *BREAKDOWN_FIELDS)
SUMMARY_FIELDS = ("total_cycles", "compute_cycles", "readout_cycles", "load_cycles", "stall_cycles", "latency_ms",
                  "utilization", "dram_bytes", "sram_bytes", "energy_uj", "view_ops", "bitops", "macs", "transition_shifts")
GOLDEN_OWNED = ("bitops", "macs", "transition_shifts")  # kept as golden computed them in a golden run
COMPUTE_REPORT_HEADER = ("LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles, Overall Util %, "
                         "Mapping Efficiency %, Compute Util %,")


def _mean_rows(per_image: Sequence[list[dict]]) -> list[dict]:
    """Per-layer rows averaged over images (names kept; numbers as float means; one image: unchanged)."""
    if len(per_image) == 1:
        return per_image[0]
    out = []
    for rows in zip(*per_image):
        merged = {"name": rows[0]["name"]}
        for key in rows[0]:
            if key != "name":
                merged[key] = float(np.mean([r[key] for r in rows]))
        out.append(merged)
    return out


def hardware_report(sims: NetworkSim | Sequence[NetworkSim]) -> dict:
    """{"summary": the summary.json hardware fields, "layers": per-layer rows, "controller": rows or None}."""
    sims = [sims] if isinstance(sims, NetworkSim) else list(sims)
    if not sims:
        raise ValueError("hardware_report needs at least one simulation")
    config = sims[0].backbone.config
    totals = [s.totals() for s in sims]
    summary = {
        "pe": config.pe_label, "dataflow": config.dataflow, "pe_mode": config.pe_mode, "layout": config.layout,
        "clock_mhz": config.clock_mhz, "weight_sram_kib": config.weight_sram_kib, "act_sram_kib": config.act_sram_kib,
        "out_sram_kib": config.out_sram_kib, "dram_bytes_per_cycle": config.dram_bytes_per_cycle,
        "energy_table_pj": sims[0].backbone.energy_table.as_dict(), "images": len(sims),
    }
    for key in SUMMARY_FIELDS:
        values = [t[key] for t in totals]
        summary[key] = values[0] if len(sims) == 1 else float(np.mean(values))
    if len(sims) > 1:
        summary["per_image"] = summarize_images(sims)
    if sims[0].controller is not None:
        summary["controller_hardware"] = {k: float(np.mean([t["controller"][k] for t in totals]))
                                          for k in totals[0]["controller"]}
    summary.update(_mean_breakdown(sims))
    layers = _mean_rows([s.backbone.layer_rows() for s in sims])
    controller = _mean_rows([s.controller.layer_rows() for s in sims]) if sims[0].controller is not None else None
    summary["notes"] = explain(layers + (controller or []), summary, config.spec.acc_bits)
    return {"summary": summary, "layers": layers, "controller": controller}


def _mean_breakdown(sims: Sequence[NetworkSim]) -> dict:
    """NetworkSim.breakdown_totals per image (controller included), as means over the images:
    {"energy_breakdown_uj": {level: {operand: µJ}}, "dram_breakdown_bytes": {operand: B}, "sram_...": ...}."""
    images = [sim.breakdown_totals() for sim in sims]
    mean = (lambda values: values[0]) if len(images) == 1 else (lambda values: float(np.mean(values)))

    def merge(parts: list):
        if isinstance(parts[0], dict):
            return {key: merge([p[key] for p in parts]) for key in parts[0]}
        return mean(parts)
    merged = merge(images)
    return {"energy_breakdown_uj": merged["energy_uj"], "dram_breakdown_bytes": merged["dram_bytes"],
            "sram_breakdown_bytes": merged["sram_bytes"]}


def merge_summary(golden: dict | None, report: dict) -> dict:
    """summary.json of the run: the golden summary (if any) plus the hardware fields: top-level summary keys, and
    per layer (matched by name in the golden "layers" list, else the hardware rows) the LAYER_FIELDS;
    "controller_layers" too. Golden's macs / bitops / transition_shifts stay as computed (they exclude the
    controller; the hardware totals of a dynamic run include it, and "controller_hardware" lists its share)."""
    summary = dict(golden or {})
    summary.update({k: v for k, v in report["summary"].items() if not (k in GOLDEN_OWNED and k in summary)})
    if golden is None:
        summary["layers"] = report["layers"]
    else:
        hw_layers = {row["name"]: row for row in report["layers"]}
        summary["layers"] = [{**entry, **{k: hw_layers[entry["name"]][k] for k in LAYER_FIELDS}}
                             for entry in golden["layers"]]
    if report["controller"] is not None:
        summary["controller_layers"] = report["controller"]
    return summary


def layers_csv(golden_rows: list[dict] | None, report: dict) -> str:
    """layers.csv of the run: the golden columns (if any) followed by the hardware LAYER_FIELDS, matched by layer
    name; without a golden run, every simulator column."""
    if golden_rows is None:
        rows = report["layers"]
        return csv_text(list(rows[0].keys()), rows)
    hw = {row["name"]: row for row in report["layers"]}
    columns = list(golden_rows[0].keys())
    columns += [k for k in LAYER_FIELDS if k not in columns]
    return csv_text(columns, [{**row, **{k: hw[row["name"]][k] for k in LAYER_FIELDS}} for row in golden_rows])


def render_compute_report(sims: NetworkSim | Sequence[NetworkSim]) -> str:
    """COMPUTE_REPORT.csv in SCALE-Sim 3.0.0's column layout (the first image's simulation):
    Total Cycles (incl. prefetch) = cycles (busy + readout + load + stall), Total Cycles = compute_cycles
    (SCALE-Sim's folds·per-fold − 1), Stall Cycles, Overall Util % = MACs / (cycles · peak),
    Mapping Efficiency %, Compute Util % = MACs / (busy cycles · peak); each row ends with a comma."""
    sim = sims if isinstance(sims, NetworkSim) else sims[0]
    b = sim.backbone
    lines = [COMPUTE_REPORT_HEADER]
    compute_util = b.workload.macs / (b.folds.busy_cycles * b.peak_products)
    for i in range(len(b.workload)):
        lines.append(f"{i}, {int(b.cycles[i])}, {int(b.compute_cycles[i])}, {int(b.traffic.stall_cycles[i])}, "
                     f"{float(b.utilization[i] * 100)!r}, {float(b.folds.mapping_efficiency[i] * 100)!r}, {float(compute_util[i] * 100)!r},")
    return "\n".join(lines) + "\n"


def _table_rows(report: dict) -> list[dict]:
    """Backbone layers, then the controller's (named controller.<layer>) when the run had one."""
    controller = [{**r, "name": f"controller.{r['name']}"} for r in report["controller"] or []]
    return report["layers"] + controller


def format_layer_table(report: dict) -> str:
    """The per-layer console table: cycles, stall, utilization, BitOPs, energy; the totals; the notes."""
    lines = [f"{'layer':<22} {'b_w/b_a':>7} {'cycles':>12} {'stall':>10} {'util%':>6} {'BitOPs':>10} {'µJ':>9}"]
    for r in _table_rows(report):
        lines.append(f"{r['name']:<22} {r['b_w']:>3g}/{r['b_a']:<3g} {r['cycles']:>12,.0f} {r['stall_cycles']:>10,.0f} "
                     f"{100 * r['utilization']:>6.1f} {r['bitops']:>10.3g} {r['energy_uj']:>9.2f}")
    s = report["summary"]
    lines.append(f"{'total':<22} {'':>7} {s['total_cycles']:>12,.0f} {s['stall_cycles']:>10,.0f} "
                 f"{100 * s['utilization']:>6.1f} {s['bitops']:>10.3g} {s['energy_uj']:>9.2f}")
    lines.append(f"{s['pe']} {s['dataflow']} {s['pe_mode']} {s['layout']} @ {s['clock_mhz']:g} MHz: "
                 f"{s['latency_ms']:.3f} ms/image, DRAM {s['dram_bytes'] / 1e6:.2f} MB, "
                 f"SRAM {s['sram_bytes'] / 1e6:.2f} MB, energy {s['energy_uj']:.1f} µJ/image")
    lines += [f"note: {note}" for note in s["notes"]]
    return "\n".join(lines)


def report_files(sims: NetworkSim | Sequence[NetworkSim], network: str, golden: dict | None = None,
                 extra_summary: dict | None = None, formats: tuple[str, ...] = FORMATS) -> tuple[dict, dict]:
    """(hardware report, {file name: bytes or a callable rendering them}) of one run. `golden` is the golden run's
    files (golden.report.report_files) and summary / layer rows, as {"files", "summary", "layers"}, or None for a
    topology CSV run; summary.json and layers.csv hold golden and hardware fields together; `extra_summary` keys
    (e.g. the topology file and plan of a CSV run) go into summary.json too. `network` names the run in
    captions and titles (no folder paths). Figures: sim/report_figures.py, in `formats` (sim.figures.FORMATS,
    or fewer: sim.figures.FIGURE_CHOICES; none when empty)."""
    report = hardware_report(sims)
    report["summary"].update(extra_summary or {})
    summary = merge_summary(None if golden is None else golden["summary"], report)
    rows = _table_rows(report)
    title = f"{network}, {summary.get('plan', 'uniform:N')}, {summary['pe']} {summary['dataflow']} {summary['pe_mode']}"
    files = dict(golden["files"]) if golden is not None else {}
    files.update({
        "summary.json": json_bytes(summary),
        "layers.csv": layers_csv(None if golden is None else golden["layers"], report).encode(),
        "table.tex": render_table_tex(rows, summary, network).encode(),
        "table.md": render_table_md(rows, summary, network).encode(),
        "COMPUTE_REPORT.csv": render_compute_report(sims).encode(),
    })
    if formats:
        for render in (render_cycles, render_energy, render_traffic):
            files.update(render(rows, title, formats))
        files.update(render_breakdown(summary["energy_breakdown_uj"], title, formats))
    return report, files
