"""The figures of a `sim` report, as render functions returning `{file name: bytes}` (PDF, SVG, PNG, or the
`formats` asked for; sim/figures.py style):

    cycles.*   per layer: compute (busy), readout and DRAM-stall cycles, horizontal stacked bars
    energy.*   per layer: energy by level (MAC, view units, SRAM, DRAM), horizontal stacked bars
    traffic.*  per layer: DRAM bytes by operand (weights, inputs, outputs, partial sums, residual)
    breakdown.* per image: energy by level, each bar split by operand

Per-layer figures are one column wide with one bar per layer (layer names read top to bottom). Networks of
more than MAX_BARS layers (a SCALE-Sim depthwise layer becomes one layer per channel, `<name>Channel_<i>`)
are drawn with the channels of each depthwise layer summed into one bar, and consecutive layers summed when
that is not enough (grouped_rows); the axis label says so.
"""
from __future__ import annotations

import re

import numpy as np

from .figures import COLUMN_WIDTH_IN, FORMATS, OKABE_ITO, per_layer_height, pyplot, render_figure, si_scale
from .memory import OPERANDS

MAX_BARS = 150
BAR_HALF = 0.4  # half a bar's height, in rows
CHANNEL_SUFFIX = re.compile(r"^(.*)Channel_\d+$")
LEVELS = ("mac", "view", "sram", "dram")
LEVEL_LABELS = {"mac": "MAC", "view": "view units", "sram": "SRAM", "dram": "DRAM"}
OPERAND_LABELS = {"weights": "weights", "inputs": "inputs", "outputs": "outputs", "psums": "partial sums",
                  "residual": "residual", "compute": "compute (MAC)"}
OPERAND_COLOURS = dict(zip(("weights", "inputs", "outputs", "psums", "residual", "compute"),
                           (OKABE_ITO[0], OKABE_ITO[1], OKABE_ITO[2], OKABE_ITO[3], OKABE_ITO[4], OKABE_ITO[7])))
LEVEL_COLOURS = dict(zip(LEVELS, (OKABE_ITO[0], OKABE_ITO[6], OKABE_ITO[2], OKABE_ITO[3])))


def _sum_into(target: dict, row: dict) -> None:
    for key, value in row.items():
        if key != "name" and isinstance(value, (int, float)) and not isinstance(value, bool):
            target[key] = target.get(key, 0) + value


def grouped_rows(rows: list[dict]) -> tuple[list[dict], str]:
    """`rows` unchanged when there are at most MAX_BARS, else consecutive `<name>Channel_<i>` rows summed into
    one row named `<name>` (numeric fields summed), and if still more than MAX_BARS, runs of g = ⌈rows / MAX_BARS⌉
    consecutive rows summed into one row named `<first>..` (so huge networks stay fast to draw); second value:
    what was grouped, for the axis label ("" when nothing was)."""
    if len(rows) <= MAX_BARS:
        return rows, ""
    out: list[dict] = []
    for row in rows:
        match = CHANNEL_SUFFIX.match(row["name"])
        base = match.group(1) if match else None
        if base is not None and out and out[-1].get("_group") == base:
            _sum_into(out[-1], row)
        else:
            out.append({**row, "_group": base, "name": base if base is not None else row["name"]})
    note = "depthwise channels summed" if len(out) < len(rows) else ""
    if len(out) > MAX_BARS:
        group = -(-len(out) // MAX_BARS)
        chunks = [out[i:i + group] for i in range(0, len(out), group)]
        out = []
        for chunk in chunks:
            merged = {**chunk[0], "name": f"{chunk[0]['name']}.."}
            for row in chunk[1:]:
                _sum_into(merged, row)
            out.append(merged)
        note = ", ".join(filter(None, (note, f"{group} consecutive layers per bar")))
    return out, note


def _stacked_barh(rows: list[dict], parts: dict[str, np.ndarray], colours: dict, unit: str, quantity: str,
                  title: str, grouped: str):
    """A one-column figure of horizontal stacked bars, one per row, first row on top; the values are
    non-negative, the x axis starts at 0 with 5 % room right of the longest bar. Each part is one
    PolyCollection of rectangles (a bar per Rectangle patch costs about a fifth more drawing time)."""
    from matplotlib.collections import PolyCollection

    plt = pyplot()
    names = [r["name"] for r in rows]
    divisor, prefix = si_scale(sum(parts.values()))
    fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, per_layer_height(len(rows))), layout="constrained")
    y = np.arange(len(rows), dtype=np.float64)
    left = np.zeros(len(rows))
    for key, values in parts.items():
        right = left + np.asarray(values, dtype=np.float64) / divisor
        corners = np.stack([np.stack([left, y - BAR_HALF], -1), np.stack([right, y - BAR_HALF], -1),
                            np.stack([right, y + BAR_HALF], -1), np.stack([left, y + BAR_HALF], -1)], axis=1)
        ax.add_collection(PolyCollection(corners, facecolors=colours[key], linewidths=0, label=key), autolim=False)
        left = right
    ax.set_xlim(0, 1.05 * (left.max(initial=0.0) or 1.0))
    ax.set_yticks(y, names, fontsize=6 if len(rows) <= 60 else 5)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(f"{quantity} ({prefix}{unit})" + (f" — {grouped}" if grouped else ""))
    ax.set_title(title)
    fig.legend(loc="outside lower center", ncol=3, frameon=False)
    return fig


def render_cycles(rows: list[dict], title: str, formats: tuple[str, ...] = FORMATS) -> dict[str, bytes]:
    """cycles.{pdf,svg,png}: per layer compute (busy = SCALE-Sim's compute cycles + 1), readout, exposed operand
    load + tile issue (sim.tile.os_layer_schedule), DRAM stall."""
    rows, grouped = grouped_rows([{**r, "busy_cycles": r["compute_cycles"] + 1} for r in rows])
    parts = {"compute": np.array([r["busy_cycles"] for r in rows]),
             "readout": np.array([r["readout_cycles"] for r in rows]),
             "load + issue": np.array([r["load_cycles"] for r in rows]),
             "stall (DRAM)": np.array([r["stall_cycles"] for r in rows])}
    colours = {"compute": OKABE_ITO[0], "readout": OKABE_ITO[5], "load + issue": OKABE_ITO[1],
               "stall (DRAM)": OKABE_ITO[3]}
    return render_figure(_stacked_barh(rows, parts, colours, "cycles", "cycles per image", title, grouped),
                         "cycles", formats)


def render_energy(rows: list[dict], title: str, formats: tuple[str, ...] = FORMATS) -> dict[str, bytes]:
    """energy.{pdf,svg,png}: per layer energy by level (µJ in the rows; the axis picks its SI prefix)."""
    rows, grouped = grouped_rows(rows)
    parts = {LEVEL_LABELS[lv]: np.array([r[f"energy_{lv}_uj"] * 1e-6 for r in rows]) for lv in LEVELS}
    colours = {LEVEL_LABELS[lv]: LEVEL_COLOURS[lv] for lv in LEVELS}
    return render_figure(_stacked_barh(rows, parts, colours, "J", "energy per image", title, grouped), "energy",
                         formats)


def render_traffic(rows: list[dict], title: str, formats: tuple[str, ...] = FORMATS) -> dict[str, bytes]:
    """traffic.{pdf,svg,png}: per layer DRAM bytes by operand."""
    rows, grouped = grouped_rows(rows)
    parts = {OPERAND_LABELS[op]: np.array([r[f"dram_{op}_bytes"] for r in rows], dtype=np.float64)
             for op in OPERANDS}
    colours = {OPERAND_LABELS[op]: OPERAND_COLOURS[op] for op in OPERANDS}
    return render_figure(_stacked_barh(rows, parts, colours, "B", "DRAM traffic per image", title, grouped),
                         "traffic", formats)


def render_breakdown(breakdown: dict, title: str, formats: tuple[str, ...] = FORMATS) -> dict[str, bytes]:
    """breakdown.{pdf,svg,png}: per image energy by level (bars), each split by operand (stacks);
    `breakdown` = summary.json's "energy_breakdown_uj" ({level: {operand: µJ}})."""
    plt = pyplot()
    operands = [op for op in ("compute", *OPERANDS) if any(op in breakdown[lv] for lv in LEVELS)]
    divisor, prefix = si_scale([sum(breakdown[lv].values()) * 1e-6 for lv in LEVELS])
    fig, ax = plt.subplots(figsize=(COLUMN_WIDTH_IN, 2.2))
    x = np.arange(len(LEVELS))
    bottom = np.zeros(len(LEVELS))
    for op in operands:
        values = np.array([breakdown[lv].get(op, 0.0) for lv in LEVELS]) * 1e-6 / divisor
        ax.bar(x, values, bottom=bottom, width=0.6, label=OPERAND_LABELS[op], color=OPERAND_COLOURS[op], linewidth=0)
        bottom += values
    ax.set_xticks(x, [LEVEL_LABELS[lv] for lv in LEVELS])
    ax.grid(axis="x", visible=False)
    ax.set_ylabel(f"energy per image ({prefix}J)")
    ax.set_title(title)
    ax.legend(loc="upper left", frameon=False)
    fig.tight_layout()
    return render_figure(fig, "breakdown", formats)
