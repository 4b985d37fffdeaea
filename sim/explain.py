"""Notes that name the cause of a surprising number in a `sim` report (summary.json "notes", console).

Two effects of the memory model (sim/memory.py) dominate the numbers that look like bugs:

* Partial-sum spill (ws, is): the reduction K runs over F_k = ⌈K / R⌉ row folds; when one column fold's
  partial sums (ACC_BITS each) exceed half the output buffer, every row fold but the last writes them to
  DRAM and the next reads them back, 2·(F_k − 1)·M·N·ACC_BITS bits. In fused mode narrower widths put more
  outputs in a column fold (C·lanes_w filters, or C·lanes_a pixels), so they spill sooner: a 2-bit ws run can
  be slower than an 8-bit one.
* DRAM stalls: a layer whose DRAM transfer ⌈dram_bytes / bandwidth⌉ outlasts its busy + readout cycles
  stalls for the difference.

A note is written when the effect costs at least NOTE_SHARE of the network's DRAM traffic or cycles.
"""
from __future__ import annotations

NOTE_SHARE = 0.05
TOP_LAYERS = 3


def _share(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def spill_note(rows: list[dict], summary: dict, acc_bits: int) -> str | None:
    """The partial-sum spill note: layers, bytes, share of DRAM traffic and energy, the worst layers' F_k."""
    spilling = [r for r in rows if r.get("dram_psums_bytes", 0) > 0]
    psum_bytes = sum(r["dram_psums_bytes"] for r in spilling)
    if not spilling or _share(psum_bytes, summary["dram_bytes"]) < NOTE_SHARE:
        return None
    psum_energy = sum(r["energy_dram_psums_uj"] + r["energy_sram_psums_uj"] for r in rows)
    worst = sorted(spilling, key=lambda r: -r["dram_psums_bytes"])[:TOP_LAYERS]
    detail = "; ".join(f"{r['name']}: K = {r['K']:,.0f} over {r['reduction_folds']:,.0f} row folds, "
                       f"{r['dram_psums_bytes'] / 1e6:,.2f} MB" for r in worst)
    return (f"partial sums spill to DRAM in {len(spilling)} of {len(rows)} layers: {summary['dataflow']} splits "
            f"K over ⌈K/{summary['pe'].split('x')[0]}⌉ row folds and one column fold's {acc_bits}-bit partial "
            f"sums exceed half the {summary['out_sram_kib']} KiB output buffer, so they go to DRAM and back "
            f"between row folds (2·(F_k − 1)·M·N·{acc_bits} bits): {psum_bytes / 1e6:,.2f} MB = "
            f"{100 * _share(psum_bytes, summary['dram_bytes']):.0f} % of DRAM traffic, "
            f"{100 * _share(psum_energy, summary['energy_uj']):.0f} % of energy per image. Largest: {detail}. "
            f"A larger --out-sram-kib or the os dataflow removes it.")


def stall_note(rows: list[dict], summary: dict) -> str | None:
    """The DRAM-stall note: share of cycles, the bandwidth, the layers that stall most."""
    if _share(summary["stall_cycles"], summary["total_cycles"]) < NOTE_SHARE:
        return None
    worst = sorted((r for r in rows if r["stall_cycles"] > 0), key=lambda r: -r["stall_cycles"])[:TOP_LAYERS]
    detail = "; ".join(f"{r['name']}: {r['dram_bytes'] / 1e6:,.2f} MB for {r['compute_cycles'] + 1:,.0f} busy "
                       f"cycles" for r in worst)
    return (f"DRAM stalls are {100 * _share(summary['stall_cycles'], summary['total_cycles']):.0f} % of the "
            f"cycles: a layer whose DRAM transfer (bytes / {summary['dram_bytes_per_cycle']} B per cycle) outlasts "
            f"its compute waits for the difference. Largest: {detail}.")


def explain(rows: list[dict], summary: dict, acc_bits: int) -> list[str]:
    """Every note that applies (possibly none)."""
    return [note for note in (spill_note(rows, summary, acc_bits), stall_note(rows, summary)) if note]
