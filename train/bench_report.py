"""Outputs of the Pareto study (train/bench.py): results.csv (one row per operating point), results.json (also
the accuracy per severity level of every point), allocations.csv (dynamic points: share of test images at each
width per layer), and two figures, each as PDF, SVG and PNG: pareto (golden test accuracy with 95 % bootstrap
CI vs MBitOPs per image) and bits_vs_strength (mean width chosen per corruption severity level)."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from golden.atomic import atomic_path, atomic_write_bytes

FIGURE_FORMATS = ("pdf", "svg", "png")
CSV_FIELDS = ("name", "family", "target", "accuracy", "ci_low", "ci_high", "val_acc", "mbitops", "avg_bits",
              "distinct_allocations", "spearman_bitops_level",
              *(f"{mode}_{q}_{stat}" for mode in ("fixed", "fused")
                for q in ("total_cycles", "latency_ms", "energy_uj") for stat in ("mean", "std")),
              "model", "sim_args")


def point_row(p) -> dict:
    """The results.csv row of one `train.bench.Point`."""
    alloc = p.extra.get("allocation", {})
    row = {"name": p.name, "family": p.family, "target": p.target, "accuracy": round(p.accuracy, 3),
           "ci_low": round(p.ci[0], 3), "ci_high": round(p.ci[1], 3),
           "val_acc": None if p.val_acc is None else round(p.val_acc, 3), "mbitops": round(p.bitops / 1e6, 4),
           "avg_bits": round(p.avg_bits, 3), "distinct_allocations": alloc.get("distinct_allocations"),
           "spearman_bitops_level": alloc.get("spearman_bitops_level"), "model": str(p.model_path),
           "sim_args": "--dynamic" if p.plan is None else f"--plan {p.plan}"}
    for mode, quantities in p.hardware.items():
        for q, spread in quantities.items():
            for stat in ("mean", "std"):
                row[f"{mode}_{q}_{stat}"] = float(f"{spread[stat]:.6g}")
    return row


def _csv(fields, rows) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode()


def _save_figure(fig, stem: Path) -> list[Path]:
    paths = []
    for fmt in FIGURE_FORMATS:
        path = stem.with_suffix(f".{fmt}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150)
        paths.append(path)
    return paths


def plot_pareto(points, title: str, stem: Path) -> list[Path]:
    """Accuracy (CI bars) vs MBitOPs: uniform and greedy static plans as lines, dynamic points as stars."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    styles = {"uniform": ("o-", "C0", "static uniform"), "greedy": ("s--", "C2", "static greedy per-layer (val)"),
              "joint": ("D", "C1", "dynamic, joint DQT controller"),
              "dynamic": ("*", "C3", "dynamic, budgeted controller"),
              "level": ("P", "C4", "dynamic, severity-level imitation controller")}
    for family, (fmt, color, label) in styles.items():
        ps = sorted((p for p in points if p.family == family), key=lambda p: p.bitops)
        if not ps:
            continue
        x = [p.bitops / 1e6 for p in ps]
        y = [p.accuracy for p in ps]
        err = [[p.accuracy - p.ci[0] for p in ps], [p.ci[1] - p.accuracy for p in ps]]
        ax.errorbar(x, y, yerr=err, fmt=fmt, color=color, label=label, capsize=3,
                    markersize=11 if family in ("dynamic", "level") else 5, linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("BitOPs per image (M) = Σ MACs·b_w·b_a (log)")
    ax.set_ylabel("test accuracy, golden integer model (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    paths = _save_figure(fig, stem)
    plt.close(fig)
    return paths


def plot_bits_vs_strength(points, stem: Path) -> list[Path]:
    """Mean MAC-weighted width of the switchable layers per severity level, one line per dynamic point."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for p in points:
        per_level = p.extra.get("allocation", {}).get("per_level")
        if not per_level:
            continue
        levels = sorted(per_level, key=int)
        ax.plot([int(lv) for lv in levels], [per_level[lv]["mean_bits"] for lv in levels], "o-", label=p.name)
    ax.set_xlabel("corruption severity level (0 = clean)")
    ax.set_ylabel("mean width of switchable layers (bits, MAC-weighted)")
    ax.set_title("widths the controller picks vs corruption strength (test split)", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    paths = _save_figure(fig, stem)
    plt.close(fig)
    return paths


def write_bench_outputs(out: Path, body: dict, points) -> list[Path]:
    """Every file of the module docstring in `out`; `body` gains the points' rows and allocation statistics."""
    rows = [point_row(p) for p in points]
    body["points"] = rows
    body["allocations"] = {p.name: p.extra["allocation"] for p in points if "allocation" in p.extra}
    body["lambda"] = {p.name: p.extra["lambda"] for p in points if "lambda" in p.extra}
    body["controller_seeds"] = {p.name: p.extra["controller_seeds"] for p in points if "controller_seeds" in p.extra}
    body["level_plans"] = {p.name: p.extra["level_plans"] for p in points if "level_plans" in p.extra}
    body["accuracy_per_level"] = {p.name: p.extra["accuracy_per_level"] for p in points}
    paths = [out / "results.csv", out / "results.json", out / "allocations.csv"]
    atomic_write_bytes(paths[0], _csv(CSV_FIELDS, rows))
    atomic_write_bytes(paths[1], (json.dumps(body, indent=2, default=float) + "\n").encode())
    alloc_rows = [{"point": name, "layer": layer, "width": width, "share": share}
                  for name, stats in body["allocations"].items()
                  for layer, widths in stats["share_per_layer"].items() for width, share in widths.items()]
    atomic_write_bytes(paths[2], _csv(("point", "layer", "width", "share"), alloc_rows))
    title = (f"graded digits, graded16 ResNet, {body['test_images']} test images, 95 % bootstrap CI")
    paths += plot_pareto(points, title, out / "pareto")
    paths += plot_bits_vs_strength(points, out / "bits_vs_strength")
    return paths
