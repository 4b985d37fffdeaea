"""Energy model: a documented default table (pJ), overridable by a JSON file.

Per layer (pJ):
    mac    = MACs · (mult_pj_8x8 · (w_w · w_a) / mac_ref_bits² + add_pj)
    sram   = sram_bytes · sram_pj_per_byte
    dram   = dram_bytes · dram_pj_per_byte
    view   = view_ops · view_shift_pj
where w_w, w_a are the widths the multiplier works at: the view widths (b_w, b_a) in fixed mode (a
narrower operand toggles fewer partial-product bits of the full multiplier), the fused brick widths in
fused mode (sim/precision.py: 6 bits runs, and costs, as 8).

Defaults: Horowitz, "Computing's energy problem", ISSCC 2014, 45 nm, 0.9 V figures:
    8-bit integer multiply 0.2 pJ        -> mult_pj_8x8 (reference width mac_ref_bits = 8),
                                            scaled by the product of the operand widths (array multiplier)
    32-bit integer add 0.1 pJ            -> add_pj (the ACC_BITS = 32 accumulate of every MAC)
    32 KB SRAM, 64-bit read 20 pJ        -> sram_pj_per_byte = 20 / 8 = 2.5
    DRAM, 64-bit access 1.3–2.6 nJ       -> dram_pj_per_byte = 1300 / 8 = 162.5 (the low end)
    8-bit integer add 0.03 pJ            -> view_shift_pj (shift + round-bit add + saturate of one code)
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

PJ_PER_UJ = 1e6


@dataclass(frozen=True)
class EnergyTable:
    """Energy per event in pJ (see the module docstring for the formulas and sources)."""

    mult_pj_8x8: float = 0.2
    mac_ref_bits: int = 8
    add_pj: float = 0.1
    sram_pj_per_byte: float = 2.5
    dram_pj_per_byte: float = 162.5
    view_shift_pj: float = 0.03

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise TypeError(f"energy table: {f.name} must be a finite number, got {value!r}")
            if value < 0:
                raise ValueError(f"energy table: {f.name} must be >= 0, got {value!r}")
        if isinstance(self.mac_ref_bits, float) or self.mac_ref_bits < 1:
            raise ValueError(f"energy table: mac_ref_bits must be an int >= 1, got {self.mac_ref_bits!r}")

    def mac_pj(self, width_w, width_a) -> np.ndarray:
        """Energy of one MAC at multiplier widths (w_w, w_a): mult_pj_8x8·w_w·w_a/ref² + add_pj."""
        scale = np.asarray(width_w, dtype=np.float64) * np.asarray(width_a, dtype=np.float64)
        return self.mult_pj_8x8 * scale / self.mac_ref_bits ** 2 + self.add_pj

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULT_ENERGY = EnergyTable()


def energy_from_mapping(mapping, source: str = "energy table") -> EnergyTable:
    """Defaults overridden by `mapping`'s keys; an unknown key or a bad value raises naming the key."""
    if not isinstance(mapping, dict):
        raise TypeError(f"{source}: must be a JSON object of {{key: number}}, got {type(mapping).__name__}")
    known = {f.name for f in fields(EnergyTable)}
    for key in mapping:
        if key not in known:
            raise ValueError(f"{source}: unknown key {key!r}; known keys: {', '.join(sorted(known))}")
    try:
        return EnergyTable(**{**DEFAULT_ENERGY.as_dict(), **mapping})
    except (TypeError, ValueError) as e:
        raise type(e)(f"{source}: {e}") from e


def load_energy(path) -> EnergyTable:
    """Read a JSON energy table (any subset of EnergyTable's keys); errors name the file and the key."""
    path = Path(path)
    try:
        mapping = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise ValueError(f"energy file {path}: no such file") from e
    except json.JSONDecodeError as e:
        raise ValueError(f"energy file {path}: invalid JSON: {e}") from e
    return energy_from_mapping(mapping, f"energy file {path}")
