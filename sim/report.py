"""Hardware reports of a simulation: summary fields, layers.csv columns, table.tex, cycles.png and a
SCALE-Sim-layout COMPUTE_REPORT.csv. `report_files` builds the whole run's files in memory (golden fields and
hardware fields together); the command publishes them at once (golden.run_folder).

`hardware_report(sims)` takes one `NetworkSim` (static plan) or one per image (dynamic plan); with several
images the per-layer numbers are means over the images and the totals come with mean / min / max.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import numpy as np

from golden.report import json_bytes

from .simulate import NetworkSim, summarize_images

LAYER_FIELDS = ("cycles", "compute_cycles", "readout_cycles", "stall_cycles", "utilization", "mapping_efficiency",
                "dram_bytes", "sram_bytes", "view_ops", "energy_uj")
SUMMARY_FIELDS = ("total_cycles", "compute_cycles", "readout_cycles", "stall_cycles", "latency_ms", "utilization",
                  "dram_bytes", "sram_bytes", "energy_uj", "view_ops", "bitops", "macs", "transition_shifts")
GOLDEN_OWNED = ("bitops", "macs", "transition_shifts")  # kept as golden computed them in a golden run
PLOT_MAX_BARS = 128  # cycles.png groups consecutive layers into at most this many bars
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
    layers = _mean_rows([s.backbone.layer_rows() for s in sims])
    controller = _mean_rows([s.controller.layer_rows() for s in sims]) if sims[0].controller is not None else None
    return {"summary": summary, "layers": layers, "controller": controller}


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


def layers_csv(golden_rows: list[dict] | None, report: dict) -> bytes:
    """layers.csv of the run: the golden columns (if any) followed by the hardware LAYER_FIELDS, matched by layer
    name; without a golden run, every simulator column."""
    if golden_rows is None:
        rows = report["layers"]
        return _csv_bytes(list(rows[0].keys()), rows)
    hw = {row["name"]: row for row in report["layers"]}
    columns = list(golden_rows[0].keys())
    columns += [k for k in LAYER_FIELDS if k not in columns]
    return _csv_bytes(columns, [{**row, **{k: hw[row["name"]][k] for k in LAYER_FIELDS}} for row in golden_rows])


def _csv_bytes(columns: list[str], rows: list[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode()


def compute_report(sims: NetworkSim | Sequence[NetworkSim]) -> bytes:
    """COMPUTE_REPORT.csv in SCALE-Sim 3.0.0's column layout (the first image's simulation):
    Total Cycles (incl. prefetch) = cycles (busy + readout + stall), Total Cycles = compute_cycles
    (SCALE-Sim's folds·per-fold − 1), Stall Cycles, Overall Util % = MACs / (cycles · peak),
    Mapping Efficiency %, Compute Util % = MACs / (busy cycles · peak); each row ends with a comma."""
    sim = sims if isinstance(sims, NetworkSim) else sims[0]
    b = sim.backbone
    lines = [COMPUTE_REPORT_HEADER]
    compute_util = b.workload.macs / (b.folds.busy_cycles * b.peak_products)
    for i in range(len(b.workload)):
        lines.append(f"{i}, {int(b.cycles[i])}, {int(b.compute_cycles[i])}, {int(b.traffic.stall_cycles[i])}, "
                     f"{float(b.utilization[i] * 100)!r}, {float(b.folds.mapping_efficiency[i] * 100)!r}, {float(compute_util[i] * 100)!r},")
    return ("\n".join(lines) + "\n").encode()


TEX_SPECIALS = {"\\": r"\textbackslash{}", "_": r"\_", "&": r"\&", "%": r"\%", "#": r"\#", "$": r"\$",
                "{": r"\{", "}": r"\}", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}"}


def _tex_escape(text: str) -> str:
    """Every LaTeX special character of `text` (layer names of topology CSVs are free text) made literal."""
    return "".join(TEX_SPECIALS.get(ch, ch) for ch in text)


def _table_rows(report: dict) -> list[dict]:
    """Backbone layers, then the controller's (named controller.<layer>) when the run had one."""
    controller = [{**r, "name": f"controller.{r['name']}"} for r in report["controller"] or []]
    return report["layers"] + controller


def table_tex(report: dict) -> bytes:
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
    return ("\n".join((caption, *head, *body, *tail)) + "\n").encode()


def cycles_png(report: dict, title: str) -> bytes:
    """Per-layer stacked bars: compute (busy), readout and stall cycles (matplotlib, Agg backend). Above
    PLOT_MAX_BARS layers, each bar sums a group of consecutive layers (the title says so) so huge networks
    stay fast to draw."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["layers"]
    names = [r["name"] for r in rows]
    compute = np.array([r["compute_cycles"] + 1 for r in rows])  # busy = SCALE-Sim's report + 1
    readout = np.array([r["readout_cycles"] for r in rows])
    stall = np.array([r["stall_cycles"] for r in rows])
    group = -(-len(rows) // PLOT_MAX_BARS)
    if group > 1:
        starts = np.arange(0, len(rows), group)
        compute, readout, stall = (np.add.reduceat(v, starts) for v in (compute, readout, stall))
        names = [f"{names[i]}.." for i in starts]
        title = f"{title} ({len(rows)} layers, {group} per bar)"
    x = np.arange(len(compute))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.32 * len(x) + 2), 4.5))
    ax.bar(x, compute, label="compute", color="tab:blue")
    ax.bar(x, readout, bottom=compute, label="readout", color="tab:green")
    ax.bar(x, stall, bottom=compute + readout, label="stall (DRAM)", color="tab:red")
    ax.set_xticks(x, names, rotation=90, fontsize=7)
    ax.set_ylabel("cycles")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


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


def report_files(sims: NetworkSim | Sequence[NetworkSim], title: str, golden: dict | None = None) -> tuple[dict, dict]:
    """(hardware report, {file name: bytes or a callable rendering them}) of one run. `golden` is the golden
    run's files (golden.report.report_files) and summary / layer rows, as {"files", "summary", "layers"}, or
    None for a topology CSV run; summary.json and layers.csv hold golden and hardware fields together."""
    report = hardware_report(sims)
    files = dict(golden["files"]) if golden is not None else {}
    files["summary.json"] = json_bytes(merge_summary(None if golden is None else golden["summary"], report))
    files["layers.csv"] = layers_csv(None if golden is None else golden["layers"], report)
    files["table.tex"] = table_tex(report)
    files["cycles.png"] = lambda: cycles_png(report, title)
    files["COMPUTE_REPORT.csv"] = compute_report(sims)
    return report, files
