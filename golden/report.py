"""Reports of a golden run (schema: docs/reports.md, "Golden fields"): summary.json, layers.csv, logits.npy,
layers.png, and the per-layer table printed by the `sim` command. `report_files` builds them in memory; the
command publishes them with the rest of its run (golden.run_folder)."""
from __future__ import annotations

import csv
import io
import json

import numpy as np

from .session import GoldenRun

LAYER_FIELDS = ("name", "kind", "macs", "b_w", "b_a", "bitops", "transition_shifts", "clamp_frac")


def printable(text: str) -> str:
    """`text` with undecodable bytes of a path (surrogate escapes) written as \\xNN, so JSON, plots and
    terminals can show it."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _num(v):
    """A float that holds an integer is written as an int (exact in JSON and CSV)."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


def layer_rows(run: GoldenRun) -> list[dict]:
    return [{f: _num(getattr(s, f)) for f in LAYER_FIELDS} for s in run.result.layers]


def summary(run: GoldenRun) -> dict:
    """The summary.json object (per-image figures are means over the batch)."""
    r, batch = run.result, len(run.images)
    return {
        "model": printable(run.model_name),
        "topology": run.model.network.name,
        "plan": run.plan,
        "dynamic": run.dynamic,
        "batch": batch,
        "seed": run.seed,
        "backend": run.backend,
        "spec": {"n_bits": run.model.spec.n_bits, "acc_bits": run.model.spec.acc_bits,
                 "m_bits": run.model.spec.m_bits, "logit_bits": run.model.spec.logit_bits,
                 "candidates": list(run.model.spec.candidates)},
        "macs": r.macs,
        "bitops": _num(r.bitops),
        "avg_bits": r.avg_bits,
        "transition_shifts": _num(r.transition_shifts),
        "transition_float_ops": _num(r.transition_float_ops),
        "controller": {"macs": r.controller_macs, "bitops": r.controller_bitops},
        "predictions": [int(p) for p in r.predictions],
        "widths": [{name: list(w) for name, w in image.items()} for image in r.widths],
        "seconds": run.seconds,
        "seconds_per_image": run.seconds / batch,
        "layers": layer_rows(run),
    }


def csv_text(columns, rows) -> str:
    """CSV text with a header row of `columns` and one line per row dict ("\n" line ends): the one CSV writer of
    every report (golden, sim, sweep, eval)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def _png_bytes(run: GoldenRun) -> bytes:
    """BitOPs per layer (bars) and clamp fraction per layer (line, right axis)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = run.result.layers
    fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(rows)), 4.0))
    x = np.arange(len(rows))
    ax.bar(x, [s.bitops / 1e9 for s in rows], color="tab:blue")
    ax.set_ylabel("GBitOPs per image")
    ax.set_xticks(x, [s.name for s in rows], rotation=90, fontsize=7)
    ax2 = ax.twinx()
    ax2.plot(x, [100 * s.clamp_frac for s in rows], "o-", color="tab:red", markersize=3)
    ax2.set_ylabel("outputs clamped (%)", color="tab:red")
    ax.set_title(f"{printable(run.model_name)} {run.plan}: {run.result.bitops / 1e9:.3f} GBitOPs, "
                 f"{run.result.macs / 1e6:.1f} M MACs per image, avg {run.result.avg_bits:.2f} bits")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    return buf.getvalue()


def report_files(run: GoldenRun, figure: bool = True) -> dict:
    """{file name: bytes, or a callable rendering them}: summary.json, layers.csv, logits.npy, and layers.png
    when `figure`."""
    files = {
        "summary.json": json_bytes(summary(run)),
        "layers.csv": csv_text(LAYER_FIELDS, layer_rows(run)).encode(),
        "logits.npy": _npy_bytes(run.result.logits),
    }
    if figure:
        files["layers.png"] = lambda: _png_bytes(run)
    return files


def json_bytes(obj) -> bytes:
    """Indented JSON with a final newline; NaN / infinity refused (they are not JSON)."""
    return (json.dumps(obj, indent=2, allow_nan=False) + "\n").encode()


def format_table(run: GoldenRun) -> str:
    """Readable per-layer table with totals."""
    r = run.result
    lines = [f"{'layer':<26} {'kind':<6} {'MACs':>12} {'b_w':>5} {'b_a':>5} {'BitOPs':>15} {'shifts':>10} "
             f"{'clamp%':>7}"]
    for s in r.layers:
        lines.append(f"{s.name:<26} {s.kind:<6} {s.macs:>12,} {s.b_w:>5.2g} {s.b_a:>5.2g} {s.bitops:>15,.0f} "
                     f"{s.transition_shifts:>10,.0f} {100 * s.clamp_frac:>7.3f}")
    lines.append(f"{'total per image':<26} {'':<6} {r.macs:>12,} {'':>5} {'':>5} {r.bitops:>15,.0f} "
                 f"{r.transition_shifts:>10,.0f}")
    lines.append(f"avg bits {r.avg_bits:.3f}; transition: {r.transition_shifts:,.0f} shifts vs "
                 f"{r.transition_float_ops:,.0f} float multiply-adds for dequantize+requantize")
    if run.dynamic:
        lines.append(f"controller per image: {r.controller_macs:,} MACs, {r.controller_bitops:,} BitOPs")
    lines.append(f"predictions: {' '.join(map(str, r.predictions))}   "
                 f"({run.seconds:.2f} s, {run.seconds / len(run.images):.2f} s/image, backend {run.backend})")
    return "\n".join(lines)
