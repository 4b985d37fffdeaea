"""Hardware reports of a simulation: summary fields, layers.csv columns, table.tex, cycles.png and a
SCALE-Sim-layout COMPUTE_REPORT.csv. Files are written to a temp file, then os.replace'd into place.

`hardware_report(sims)` takes one `NetworkSim` (static plan) or one per image (dynamic plan); with several
images the per-layer numbers are means over the images and the totals come with mean / min / max.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from golden.atomic import atomic_write_bytes

from .simulate import NetworkSim, summarize_images

LAYER_FIELDS = ("cycles", "compute_cycles", "readout_cycles", "load_cycles", "stall_cycles", "utilization", "mapping_efficiency",
                "dram_bytes", "sram_bytes", "view_ops", "energy_uj")
SUMMARY_FIELDS = ("total_cycles", "compute_cycles", "readout_cycles", "load_cycles", "stall_cycles", "latency_ms", "utilization",
                  "dram_bytes", "sram_bytes", "energy_uj", "view_ops", "bitops", "macs", "transition_shifts")
GOLDEN_OWNED = ("bitops", "macs", "transition_shifts")  # kept as golden wrote them when summary.json has them
COMPUTE_REPORT_HEADER = ("LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles, Overall Util %, "
                         "Mapping Efficiency %, Compute Util %,")


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write text or bytes atomically (golden.atomic: temp file, then os.replace), creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data.encode() if isinstance(data, str) else data)


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
    layers = _mean_rows([s.backbone.layer_rows() for s in sims])
    controller = _mean_rows([s.controller.layer_rows() for s in sims]) if sims[0].controller is not None else None
    return {"summary": summary, "layers": layers, "controller": controller}


def merge_summary(path: Path, report: dict) -> dict:
    """Add the hardware fields to summary.json (creating it if absent): top-level summary keys, and per layer
    (matched by name in an existing "layers" list, else a new list) the LAYER_FIELDS; "controller_layers" too.
    Golden's macs / bitops / transition_shifts stay as written (they exclude the controller; the hardware
    totals of a dynamic run include it, and "controller_hardware" lists its share)."""
    path = Path(path)
    summary = json.loads(path.read_text()) if path.is_file() else {}
    summary.update({k: v for k, v in report["summary"].items() if not (k in GOLDEN_OWNED and k in summary)})
    hw_layers = {row["name"]: row for row in report["layers"]}
    layers = summary.get("layers")
    if isinstance(layers, list) and layers and all(isinstance(e, dict) and "name" in e for e in layers):
        for entry in layers:
            row = hw_layers.get(entry["name"])
            if row is not None:
                entry.update({k: row[k] for k in LAYER_FIELDS})
    else:
        summary["layers"] = report["layers"]
    if report["controller"] is not None:
        summary["controller_layers"] = report["controller"]
    atomic_write(path, json.dumps(summary, indent=2) + "\n")
    return summary


def merge_layers_csv(path: Path, report: dict) -> None:
    """Add the hardware columns (LAYER_FIELDS, and bitops when missing) to layers.csv, matched by the "name"
    column; without an existing file, write one with every simulator column."""
    path = Path(path)
    hw = {row["name"]: row for row in report["layers"]}
    if path.is_file():
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        if rows and "name" in rows[0]:
            columns = list(rows[0].keys())
            added = [k for k in (*LAYER_FIELDS, "bitops") if k not in columns]
            for row in rows:
                source = hw.get(row["name"], {})
                for key in LAYER_FIELDS:
                    if key in source:
                        row[key] = source[key]
                for key in added:
                    row.setdefault(key, source.get(key, ""))
            _write_csv(path, columns + added, rows)
            return
    rows = report["layers"]
    _write_csv(path, list(rows[0].keys()), rows)


def _write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path, buf.getvalue())


def write_compute_report(path: Path, sims: NetworkSim | Sequence[NetworkSim]) -> None:
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
    atomic_write(path, "\n".join(lines) + "\n")


def _tex_escape(text: str) -> str:
    return text.replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("&", r"\&").replace("%", r"\%")


def _table_rows(report: dict) -> list[dict]:
    """Backbone layers, then the controller's (named controller.<layer>) when the run had one."""
    controller = [{**r, "name": f"controller.{r['name']}"} for r in report["controller"] or []]
    return report["layers"] + controller


def write_table_tex(path: Path, report: dict) -> None:
    """A booktabs table: layer, GEMM shape, widths, cycles, stalls, utilization, BitOPs, energy; a total row."""
    s = report["summary"]
    head = (r"\begin{tabular}{lrrrrrrrrr}", r"\toprule",
            r"Layer & $M$ & $K$ & $N$ & $b_w/b_a$ & Cycles & Stall & Util.\ (\%) & BitOPs & Energy ($\mu$J) \\",
            r"\midrule")
    body = []
    for r in _table_rows(report):
        body.append(f"{_tex_escape(r['name'])} & {r['M']:.0f} & {r['K']:.0f} & {r['N']:.0f} & "
                    f"{r['b_w']:g}/{r['b_a']:g} & {r['cycles']:,.0f} & {r['stall_cycles']:,.0f} & "
                    f"{100 * r['utilization']:.1f} & {r['bitops']:.3g} & {r['energy_uj']:.2f} \\\\")
    tail = (r"\midrule",
            f"Total & & & & & {s['total_cycles']:,.0f} & {s['stall_cycles']:,.0f} & {100 * s['utilization']:.1f} & "
            f"{s['bitops']:.3g} & {s['energy_uj']:.2f} \\\\",
            r"\bottomrule", r"\end{tabular}")
    caption = (f"% {s['pe']} array, {s['dataflow']} dataflow, {s['pe_mode']} PEs, {s['layout']} layout, "
               f"{s['clock_mhz']:g} MHz: {s['latency_ms']:.3f} ms per image")
    atomic_write(path, "\n".join((caption, *head, *body, *tail)) + "\n")


def write_cycles_png(path: Path, report: dict, title: str) -> None:
    """Per-layer stacked bars: compute (busy), readout, load and stall cycles (matplotlib, Agg backend)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["layers"]
    names = [r["name"] for r in rows]
    compute = np.array([r["compute_cycles"] + 1 for r in rows])  # busy = SCALE-Sim's report + 1
    readout = np.array([r["readout_cycles"] for r in rows])
    load = np.array([r["load_cycles"] for r in rows])
    stall = np.array([r["stall_cycles"] for r in rows])
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.32 * len(rows) + 2), 4.5))
    ax.bar(x, compute, label="compute", color="tab:blue")
    ax.bar(x, readout, bottom=compute, label="readout", color="tab:green")
    ax.bar(x, load, bottom=compute + readout, label="load + issue", color="tab:orange")
    ax.bar(x, stall, bottom=compute + readout + load, label="stall (DRAM)", color="tab:red")
    ax.set_xticks(x, names, rotation=90, fontsize=7)
    ax.set_ylabel("cycles")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    atomic_write(path, buf.getvalue())


def format_layer_table(report: dict) -> str:
    """The per-layer console table: cycles, stall, utilization, BitOPs, energy; then the totals."""
    lines = [f"{'layer':<22} {'b_w/b_a':>7} {'cycles':>12} {'stall':>10} {'util%':>6} {'BitOPs':>10} {'uJ':>9}"]
    for r in _table_rows(report):
        lines.append(f"{r['name']:<22} {r['b_w']:>3g}/{r['b_a']:<3g} {r['cycles']:>12,.0f} {r['stall_cycles']:>10,.0f} "
                     f"{100 * r['utilization']:>6.1f} {r['bitops']:>10.3g} {r['energy_uj']:>9.2f}")
    s = report["summary"]
    lines.append(f"{'total':<22} {'':>7} {s['total_cycles']:>12,.0f} {s['stall_cycles']:>10,.0f} "
                 f"{100 * s['utilization']:>6.1f} {s['bitops']:>10.3g} {s['energy_uj']:>9.2f}")
    lines.append(f"{s['pe']} {s['dataflow']} {s['pe_mode']} {s['layout']} @ {s['clock_mhz']:g} MHz: "
                 f"{s['latency_ms']:.3f} ms/image, DRAM {s['dram_bytes'] / 1e6:.2f} MB, "
                 f"SRAM {s['sram_bytes'] / 1e6:.2f} MB, energy {s['energy_uj']:.1f} uJ/image")
    return "\n".join(lines)


def write_hardware_reports(out: Path, sims: NetworkSim | Sequence[NetworkSim], title: str) -> dict:
    """Write/merge summary.json and layers.csv, and write table.tex, cycles.png, COMPUTE_REPORT.csv in `out`."""
    out = Path(out)
    report = hardware_report(sims)
    merge_summary(out / "summary.json", report)
    merge_layers_csv(out / "layers.csv", report)
    write_table_tex(out / "table.tex", report)
    write_cycles_png(out / "cycles.png", report, title)
    write_compute_report(out / "COMPUTE_REPORT.csv", sims)
    return report
