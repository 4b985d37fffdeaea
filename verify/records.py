"""Bench result records: each cocotb bench appends one JSON line per scoreboard; runners read them back.

A record: bench, design, sim, vectors, mismatches, first (the first mismatches as text), seconds, and
bench-specific extras (e.g. tiles and cycles). The file is named by the VERIFY_RECORDS environment
variable, which the runner sets for each simulation.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .scoreboard import Scoreboard

RECORDS_ENV = "VERIFY_RECORDS"


def write_record(board: Scoreboard, seconds: float, **extra) -> dict:
    """Append `board`'s figures to the file named by VERIFY_RECORDS (no-op when it is unset)."""
    rec = {
        "bench": board.bench,
        "design": os.environ.get("VERIFY_DESIGN", "?"),
        "sim": os.environ.get("VERIFY_SIM", "?"),
        "vectors": board.vectors,
        "mismatches": board.mismatches,
        "first": [str(m) for m in board.first],
        "seconds": round(seconds, 3),
        **extra,
    }
    path = os.environ.get(RECORDS_ENV)
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(rec) + "\n")
    return rec


def read_records(path: Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def format_summary(records: list[dict], title: str = "verification summary") -> str:
    """A fixed-width table: bench, design, simulator, vectors, mismatches, seconds, and a totals line."""
    head = f"{'bench':<34} {'design':<38} {'sim':<10} {'vectors':>10} {'mismatches':>10} {'time s':>8}"
    lines = [title, head, "-" * len(head)]
    for r in records:
        lines.append(f"{r['bench']:<34} {r['design']:<38} {r['sim']:<10} {r['vectors']:>10} "
                     f"{r['mismatches']:>10} {r['seconds']:>8.1f}")
    lines.append("-" * len(head))
    lines.append(f"{'total':<34} {str(len(records)) + ' records':<38} {'':<10} {sum(r['vectors'] for r in records):>10} "
                 f"{sum(r['mismatches'] for r in records):>10} {sum(r['seconds'] for r in records):>8.1f}")
    return "\n".join(lines)
