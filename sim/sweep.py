"""Design-space sweeps: the cross product of array shapes, dataflows and static plans, simulated in parallel
worker processes, written as one CSV and one PNG (cycles and energy per configuration).

Static plans need no golden inference: widths come from golden.plan.parse_plan over the model's Network.
"""
from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from golden.plan import parse_plan

from .energy import EnergyTable
from .report import atomic_write
from .session import check_plan_option, make_config, simulate_static, static_network

SWEEP_COLUMNS = ("pe", "dataflow", "plan", "pe_mode", "layout", "total_cycles", "compute_cycles", "readout_cycles",
                 "load_cycles", "stall_cycles", "latency_ms", "utilization", "dram_bytes", "sram_bytes", "energy_uj", "bitops", "macs")


def split_list(text: str, option: str) -> list[str]:
    """'a,b,c' -> ['a', 'b', 'c'] (blanks dropped); ValueError naming the option when empty."""
    items = [item.strip() for item in str(text).split(",") if item.strip()]
    if not items:
        raise ValueError(f"{option}: empty list")
    return items


def _run_point(model: str, pe: str, dataflow: str, plan: str, config_kw: dict, energy: EnergyTable | None) -> dict:
    config = make_config(pe=pe, dataflow=dataflow, **config_kw)
    totals = simulate_static(model, plan, config, energy).totals()
    return {"pe": config.pe_label, "dataflow": dataflow, "plan": plan, "pe_mode": config.pe_mode,
            "layout": config.layout, **{k: totals[k] for k in SWEEP_COLUMNS[5:]}}


def run_sweep(model: str, pes: Sequence[str], dataflows: Sequence[str], plans: Sequence[str], *, workers: int = 2,
              energy: EnergyTable | None = None, progress: Callable[[str], None] | None = None,
              **config_kw) -> list[dict]:
    """Simulate every (pe, dataflow, plan) in `workers` processes; rows in cross-product order.
    Every option value is validated here first, so a bad one fails before any worker starts."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"--workers must be an int >= 1, got {workers!r}")
    network = static_network(model)
    points = list(itertools.product(pes, dataflows, plans))
    for pe, dataflow, plan in points:
        config = make_config(pe=pe, dataflow=dataflow, **config_kw)
        check_plan_option(plan, config.spec)
        parse_plan(plan, network, config.spec)
    rows: dict[tuple, dict] = {}
    with ProcessPoolExecutor(max_workers=min(workers, len(points))) as pool:
        futures = {pool.submit(_run_point, model, pe, df, plan, config_kw, energy): (pe, df, plan)
                   for pe, df, plan in points}
        for done, future in enumerate(as_completed(futures), start=1):
            row = future.result()
            rows[futures[future]] = row
            if progress:
                progress(f"[{done}/{len(points)}] {row['pe']} {row['dataflow']} {row['plan']}: "
                         f"{row['total_cycles']:,} cycles, {row['energy_uj']:.1f} uJ")
    return [rows[p] for p in points]


def write_sweep(out: Path, rows: list[dict], title: str) -> list[Path]:
    """OUT/sweep.csv (SWEEP_COLUMNS) and OUT/sweep.png (total / stall cycles and energy per configuration)."""
    out = Path(out)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SWEEP_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(out / "sweep.csv", buf.getvalue())

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['pe']} {r['dataflow']}\n{r['plan']}" for r in rows]
    x = np.arange(len(rows))
    cycles = np.array([r["total_cycles"] for r in rows], dtype=float)
    stall = np.array([r["stall_cycles"] for r in rows], dtype=float)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(7.0, 0.55 * len(rows) + 2), 7), sharex=True)
    ax1.bar(x, cycles - stall, label="compute + readout + load", color="tab:blue")
    ax1.bar(x, stall, bottom=cycles - stall, label="stall (DRAM)", color="tab:red")
    ax1.set_ylabel("cycles per image")
    ax1.legend(fontsize=8)
    ax1.set_title(title, fontsize=9)
    ax2.bar(x, [r["energy_uj"] for r in rows], color="tab:orange")
    ax2.set_yscale("log")
    ax2.set_ylabel("energy per image (uJ)")
    ax2.set_xticks(x, labels, rotation=90, fontsize=7)
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110)
    plt.close(fig)
    atomic_write(out / "sweep.png", png.getvalue())
    return [out / "sweep.csv", out / "sweep.png"]
