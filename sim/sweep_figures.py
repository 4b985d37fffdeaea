"""The figures of a sweep, as render functions returning `{file name: bytes}` (PDF, SVG, PNG; sim/figures.py):

    pareto.*  latency vs energy per image, one point per configuration, log-log; colour = dataflow,
              marker = PE mode; the Pareto front (no other configuration of the same network is both faster
              and cheaper) joined by a line and its points labelled; one panel per network
    axes.*    small multiples: one row per swept axis (every axis with more than one value), latency and
              energy of every configuration against that axis's values (jittered, colour = dataflow), the
              best configuration per value marked

Both scale to hundreds of configurations (one marker each, no bar per configuration).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .config import DATAFLOWS, PE_MODES
from .figures import COLUMN_WIDTH_IN, FULL_WIDTH_IN, MARKERS, OKABE_ITO, pyplot, render_figure, si_scale

DATAFLOW_COLOURS = dict(zip(DATAFLOWS, OKABE_ITO))
MODE_MARKERS = dict(zip(PE_MODES, MARKERS))
AXIS_LABELS = {"model": "network", "pe": "array (R×C)", "dataflow": "dataflow", "plan": "plan", "pe_mode": "PE mode",
               "layout": "layout", "weight_sram_kib": "weight SRAM (KiB)", "act_sram_kib": "activation SRAM (KiB)",
               "out_sram_kib": "output SRAM (KiB)", "dram_bytes_per_cycle": "DRAM (B/cycle)",
               "clock_mhz": "clock (MHz)"}
FRONT_LABELS = 8


def pareto_front(latency: Sequence[float], energy: Sequence[float]) -> np.ndarray:
    """Indices of the Pareto-optimal points (minimise both), ordered by latency: a point is on the front
    when no other point has latency ≤ and energy ≤ with one of them strictly smaller."""
    order = np.lexsort((np.asarray(energy), np.asarray(latency)))
    front, best = [], math.inf
    for i in order:
        if energy[i] < best:
            front.append(i)
            best = energy[i]
    return np.array(front, dtype=np.int64)


def _plain_log_ticks(ax) -> None:
    """Log axes labelled with plain numbers (0.5, 1, 2, 10) instead of powers of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def _legend_handles(rows: Sequence[dict], pareto: bool):
    """Dataflow colours; then PE-mode markers and the front (pareto) or the best-per-value mark (axes)."""
    from matplotlib.lines import Line2D
    dataflows = [d for d in DATAFLOWS if any(r["dataflow"] == d for r in rows)]
    handles = [Line2D([], [], ls="", marker="o", color=DATAFLOW_COLOURS[d], label=d) for d in dataflows]
    if not pareto:
        return handles + [Line2D([], [], ls="", marker="_", color="k", markersize=10, label="best per value")]
    modes = [m for m in PE_MODES if any(r["pe_mode"] == m for r in rows)]
    handles += [Line2D([], [], ls="", marker=MODE_MARKERS[m], color="0.4", label=f"{m} PEs") for m in modes]
    return handles + [Line2D([], [], color="k", marker="o", mfc="none", label="Pareto front")]


def render_pareto(rows: Sequence[dict], title: str) -> dict[str, bytes]:
    """pareto.{pdf,svg,png} (module docstring)."""
    plt = pyplot()
    models = list(dict.fromkeys(r["model"] for r in rows))
    latency_s = np.array([r["latency_ms"] * 1e-3 for r in rows])
    energy_j = np.array([r["energy_uj"] * 1e-6 for r in rows])
    x_div, x_prefix = si_scale(latency_s)
    y_div, y_prefix = si_scale(energy_j)
    cols = min(len(models), 2)
    panel_rows = math.ceil(len(models) / cols)
    width = COLUMN_WIDTH_IN if cols == 1 else FULL_WIDTH_IN
    fig, axes = plt.subplots(panel_rows, cols, figsize=(width, 2.8 * panel_rows), squeeze=False)
    for ax, model in zip(axes.ravel(), models):
        idx = np.array([i for i, r in enumerate(rows) if r["model"] == model])
        x, y = latency_s[idx] / x_div, energy_j[idx] / y_div
        for mode in PE_MODES:
            for dataflow in DATAFLOWS:
                sel = [k for k, i in enumerate(idx) if rows[i]["pe_mode"] == mode and rows[i]["dataflow"] == dataflow]
                if sel:
                    ax.scatter(x[sel], y[sel], s=9, marker=MODE_MARKERS[mode], color=DATAFLOW_COLOURS[dataflow],
                               alpha=0.55, linewidths=0)
        front = pareto_front(x, y)
        ax.plot(x[front], y[front], color="k", lw=0.8, zorder=3)
        ax.scatter(x[front], y[front], s=16, facecolors="none", edgecolors="k", linewidths=0.7, zorder=4)
        for k in front[:FRONT_LABELS]:
            r = rows[idx[k]]
            ax.annotate(f"{r['pe']} {r['dataflow']} {r['pe_mode']} {r['plan']}", (x[k], y[k]), fontsize=4.5,
                        xytext=(3, 2), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_yscale("log")
        _plain_log_ticks(ax)
        ax.set_xlabel(f"latency per image ({x_prefix}s)")
        ax.set_ylabel(f"energy per image ({y_prefix}J)")
        ax.set_title(f"{model}: {len(idx)} configurations, {len(front)} on the front")
    for ax in axes.ravel()[len(models):]:
        ax.set_visible(False)
    axes[0, 0].legend(handles=_legend_handles(rows, pareto=True), loc="upper left", ncol=2, fontsize=5,
                      framealpha=0.8, edgecolor="none")
    if len(models) > 1:
        fig.suptitle(title)
    fig.tight_layout()
    return render_figure(fig, "pareto")


def swept_axes(rows: Sequence[dict]) -> list[str]:
    """The axes (AXIS_LABELS order) that take more than one value in `rows`."""
    return [axis for axis in AXIS_LABELS if len({r[axis] for r in rows}) > 1]


def render_axes(rows: Sequence[dict], title: str) -> dict[str, bytes]:
    """axes.{pdf,svg,png} (module docstring); a single configuration gives one row for the dataflow axis."""
    from matplotlib.ticker import FuncFormatter
    plt = pyplot()
    axes_names = swept_axes(rows) or ["dataflow"]
    metrics = (("latency_ms", 1e-3, "s", "latency per image"), ("energy_uj", 1e-6, "J", "energy per image"))
    rng = np.random.default_rng(0)
    fig, grid = plt.subplots(len(axes_names), 2, figsize=(FULL_WIDTH_IN, 1.55 * len(axes_names) + 0.5),
                             squeeze=False)
    jitter = rng.uniform(-0.25, 0.25, len(rows))
    colours = [DATAFLOW_COLOURS[r["dataflow"]] for r in rows]
    for axis, row_axes in zip(axes_names, grid):
        values = list(dict.fromkeys(r[axis] for r in rows))
        position = np.array([values.index(r[axis]) for r in rows], dtype=np.float64)
        for ax, (key, scale, unit, label) in zip(row_axes, metrics):
            data = np.array([r[key] * scale for r in rows])
            divisor, prefix = si_scale(data)
            data = data / divisor
            ax.scatter(position + jitter, data, s=5, c=colours, alpha=0.5, linewidths=0)
            best = [data[position == i].min() for i in range(len(values))]
            ax.scatter(range(len(values)), best, marker="_", s=120, color="k", linewidths=1.2, zorder=3)
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.set_xticks(range(len(values)), [f"{v:g}" if isinstance(v, float) else str(v) for v in values],
                          rotation=30 if len(values) > 6 else 0, ha="right" if len(values) > 6 else "center")
            ax.grid(axis="x", visible=False)
            ax.set_xlabel(AXIS_LABELS[axis])
            ax.set_ylabel(f"{label} ({prefix}{unit})")
    fig.legend(handles=_legend_handles(rows, pareto=False), loc="lower center", ncol=5, frameon=False,
               bbox_to_anchor=(0.5, 1.0))
    fig.suptitle(title, y=1.03)
    fig.tight_layout()
    return render_figure(fig, "axes")
