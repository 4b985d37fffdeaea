"""Training results: the accuracy table (printed), results.json, results.csv and accuracy_vs_bitops.png."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from golden.atomic import atomic_path, atomic_write_bytes

from .evaluate import PointResult

CSV_FIELDS = ("mode", "fakequant_acc", "golden_acc", "bitops", "avg_bits", "controller_macs", "logits_equal",
              "emulation_equal")


def format_table(points: list[PointResult]) -> str:
    """Fixed-width table: accuracy (fake-quant float64 and golden integer), MBitOPs per image, mean width, and
    the share of images whose golden logits equal the fake-quant ("fq ==") and the int64 emulation ("emu ==")."""
    lines = [f"{'mode':<10} {'fake-quant %':>12} {'golden %':>9} {'MBitOPs/img':>12} {'avg bits':>9} "
             f"{'fq ==':>7} {'emu ==':>7} {'ctrl MACs':>10}"]
    for p in points:
        lines.append(f"{p.mode:<10} {p.fakequant_acc:>12.2f} {p.golden_acc:>9.2f} {p.bitops / 1e6:>12.3f} "
                     f"{p.avg_bits:>9.2f} {100 * p.logits_equal:>6.1f}% {100 * p.emulation_equal:>6.1f}% "
                     f"{p.controller_macs:>10}")
    return "\n".join(lines)


def plot_accuracy_vs_bitops(points: list[PointResult], title: str, path) -> None:
    """Static points joined by a line, the dynamic point as a star (golden accuracy vs MBitOPs per image)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    static = [p for p in points if p.mode.startswith("static:")]
    dynamic = [p for p in points if p.mode == "dynamic"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([p.bitops / 1e6 for p in static], [p.golden_acc for p in static], "o-", label="static width")
    for p in static:
        ax.annotate(p.mode.split(":")[1] + " bit", (p.bitops / 1e6, p.golden_acc), textcoords="offset points",
                    xytext=(4, -12), fontsize=8)
    for p in dynamic:
        ax.plot([p.bitops / 1e6], [p.golden_acc], "r*", markersize=14,
                label=f"dynamic (avg {p.avg_bits:.2f} bit)")
    ax.set_xlabel("BitOPs per image (M) = Σ MACs·b_w·b_a")
    ax.set_ylabel("test accuracy, golden integer model (%)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)


def write_results(points: list[PointResult], summary: dict, out_dir, title: str) -> list[Path]:
    """results.json (summary + points), results.csv, accuracy_vs_bitops.png in `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "results.json", out / "results.csv", out / "accuracy_vs_bitops.png"]
    body = {**summary, "points": [p.as_dict() for p in points]}
    atomic_write_bytes(paths[0], (json.dumps(body, indent=2) + "\n").encode())
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS)
    writer.writeheader()
    for p in points:
        writer.writerow(p.as_dict())
    atomic_write_bytes(paths[1], buf.getvalue().encode())
    plot_accuracy_vs_bitops(points, title, paths[2])
    return paths
