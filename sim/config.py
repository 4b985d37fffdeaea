"""`ArrayConfig`: the frozen accelerator configuration shared by sim/ and rtl/.

The RTL generator reads rows/cols from here and widths from golden's NestedSpec; sim/ reads the rest.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from golden.spec import DEFAULT_SPEC, NestedSpec

DATAFLOWS = ("os", "ws", "is")
PE_MODES = ("fixed", "fused")
LAYOUTS = ("packed", "bitplane")
MAX_DIM = 1024  # largest R or C the simulator accepts (the RTL generator caps at 64)
CLOCK_MHZ_RANGE = (1e-3, 1e6)  # 1 kHz .. 1 THz: latencies stay finite and nonzero
MAX_SIZE = 1 << 30  # largest SRAM size (KiB: 1 TiB) or DRAM bandwidth (bytes/cycle); beyond, int64 counters overflow


def parse_pe(text: str) -> tuple[int, int]:
    """Parse an array shape "RxC" (e.g. "16x16") into (rows, cols); ValueError names the option."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", str(text))
    if not m:
        raise ValueError(f"--pe must look like RxC (e.g. 16x16), got {text!r}")
    rows, cols = int(m.group(1)), int(m.group(2))
    if rows < 1 or cols < 1:
        raise ValueError(f"--pe needs rows and cols >= 1, got {text!r}")
    return rows, cols


@dataclass(frozen=True)
class ArrayConfig:
    """An R×C PE array and its memory system.

    rows, cols           PE array shape R×C
    dataflow             "os" output-stationary (the RTL's), "ws" weight-, "is" input-stationary
                         (sim/dataflow.py: SCALE-Sim's mappings and per-fold cycles)
    pe_mode              "fixed": one product per PE per cycle at any width;
                         "fused": Bit Fusion style, (N/w_w)·(N/w_a) products per cycle, w = b rounded up to
                         a brick width N, N/2, ... >= 2 (N = 8: {2, 4, 8}; 6 bits run as 8; sim/precision.py)
    layout               "packed": a view fetches N-bit codes; "bitplane": a b-bit view fetches b+1 planes
    *_sram_kib           on-chip buffer sizes in KiB (weights, input activations, outputs), each double
                         buffered: half holds the working set while DRAM fills the other half (sim/memory.py)
    dram_bytes_per_cycle DRAM bandwidth
    clock_mhz            clock frequency
    spec                 the nested-integer widths (operand and accumulator widths derive from it)
    """

    rows: int = 16
    cols: int = 16
    dataflow: str = "os"
    pe_mode: str = "fixed"
    layout: str = "packed"
    weight_sram_kib: int = 64
    act_sram_kib: int = 64
    out_sram_kib: int = 64
    dram_bytes_per_cycle: int = 16
    clock_mhz: float = 500.0
    spec: NestedSpec = field(default=DEFAULT_SPEC)

    def __post_init__(self) -> None:
        for name in ("rows", "cols"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_DIM:
                raise ValueError(f"{name} must be an int in [1, {MAX_DIM}], got {v!r}")
        for name, allowed in (("dataflow", DATAFLOWS), ("pe_mode", PE_MODES), ("layout", LAYOUTS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        for name in ("weight_sram_kib", "act_sram_kib", "out_sram_kib", "dram_bytes_per_cycle"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_SIZE:
                raise ValueError(f"{name} must be an int in [1, {MAX_SIZE}], got {v!r}")
        if isinstance(self.clock_mhz, bool) or not isinstance(self.clock_mhz, (int, float)) \
                or not CLOCK_MHZ_RANGE[0] <= self.clock_mhz <= CLOCK_MHZ_RANGE[1]:
            raise ValueError(f"clock_mhz must be a number in [{CLOCK_MHZ_RANGE[0]:g}, {CLOCK_MHZ_RANGE[1]:g}], "
                             f"got {self.clock_mhz!r}")
        if not isinstance(self.spec, NestedSpec):
            raise TypeError(f"spec must be a NestedSpec, got {type(self.spec).__name__}")

    @classmethod
    def from_pe(cls, pe: str, **kw) -> "ArrayConfig":
        rows, cols = parse_pe(pe)
        return cls(rows=rows, cols=cols, **kw)

    @property
    def pe_label(self) -> str:
        return f"{self.rows}x{self.cols}"
