"""The parameters of the design under test, read back from its manifest.json and checked against the DUT.

Benches never restate widths: `DutParams.load()` reads the manifest the runner names in VERIFY_MANIFEST,
rebuilds the `NestedSpec` from it, and `check_ports(dut)` asserts each port's width in the simulator equals
the manifest's (so a stale manifest cannot silently mis-drive a design).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from golden.spec import NestedSpec


@dataclass(frozen=True)
class Port:
    name: str
    direction: str
    width: int
    signed: bool

    @property
    def mask(self) -> int:
        return (1 << self.width) - 1

    def encode(self, value: int) -> int:
        """Two's complement bits of `value` in this port's width; ValueError if it does not fit."""
        value = int(value)
        lo, hi = NestedSpec.int_range(self.width, True) if self.signed else (0, self.mask)
        if not self.signed and value < 0:
            lo = -(1 << (self.width - 1))  # a negative value on an unsigned port is written as its bits
        if not lo <= value <= hi:
            raise ValueError(f"port {self.name}: value {value} does not fit {self.width} bits")
        return value & self.mask


@dataclass(frozen=True)
class DutParams:
    """Manifest of one generated design: config dict, the NestedSpec it was built from, its ports."""

    config: dict
    spec: NestedSpec
    ports: dict
    top: str

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "DutParams":
        path = path or os.environ.get("VERIFY_MANIFEST")
        if not path:
            raise ValueError("VERIFY_MANIFEST is not set: run benches through verify.runner.run_bench")
        man = json.loads(Path(path).read_text())
        c = man["config"]
        spec = NestedSpec(n_bits=c["n_bits"], acc_bits=c["acc_bits"], m_bits=c["m_bits"], logit_bits=c["logit_bits"],
                          candidates=tuple(c["candidates"]))
        ports = {p["name"]: Port(p["name"], p["direction"], p["width"], p["signed"]) for p in man["ports"]}
        return cls(config=c, spec=spec, ports=ports, top=man["top"])

    def check_ports(self, dut) -> None:
        """AssertionError naming the port when the simulated DUT's width differs from the manifest's."""
        for p in self.ports.values():
            got = len(getattr(dut, p.name))
            if got != p.width:
                raise AssertionError(f"port {p.name}: manifest says {p.width} bits, the DUT has {got}")

    def width(self, port: str) -> int:
        return self.ports[port].width

    @property
    def rows(self) -> int:
        return self.config["rows"]

    @property
    def cols(self) -> int:
        return self.config["cols"]

    @property
    def k_max(self) -> int:
        return self.config["k_max"]

    @property
    def out_modes(self) -> dict:
        """Output mode name -> cfg_mode code (relu, signed, logits, wide), from the manifest's mode table."""
        return {name: mode["code"] for name, mode in self.config["out_modes"].items()}

    def out_range(self, mode: str) -> tuple[int, int] | None:
        """Clamp range [lo, hi] of output mode `mode` from the manifest's mode table; None for mode wide."""
        if mode not in self.config["out_modes"]:
            raise ValueError(f"mode must be one of {', '.join(self.config['out_modes'])}, got {mode!r}")
        rng = self.config["out_modes"][mode]["range"]
        return None if rng is None else (int(rng[0]), int(rng[1]))

    @property
    def pe_mode(self) -> str:
        return self.config["pe_mode"]

    @property
    def fusion_widths(self) -> tuple[int, ...]:
        """Widths the design's PEs run at, ascending ((N,) for a fixed PE)."""
        return tuple(self.config["fusion_widths"])

    @property
    def max_lanes(self) -> int:
        return self.config["max_lanes"]

    @property
    def widths(self) -> range:
        """Every legal view width b, 2 <= b <= N."""
        return range(2, self.spec.n_bits + 1)
