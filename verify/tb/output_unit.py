"""OutputUnit driver and monitor (combinational: acc, align, bias, m, m_r, r, res_en, s, mode -> y, clamped)."""
from __future__ import annotations

from dataclasses import dataclass

from cocotb.triggers import Timer

from golden.primitives import align_shift

from ..manifest import DutParams


@dataclass(frozen=True)
class OutputVector:
    acc: int
    b_w: int
    b_a: int
    bias: int
    m: int
    s: int
    r: int
    m_r: int
    res_en: bool
    mode: str

    def inputs(self) -> dict:
        return dict(self.__dict__)


class OutputUnitDriver:
    def __init__(self, dut, params: DutParams):
        self.dut, self.p = dut, params

    async def apply(self, v: OutputVector) -> None:
        ports, dut = self.p.ports, self.dut
        for name in ("acc", "bias", "m", "s", "r", "m_r"):
            getattr(dut, name).value = ports[name].encode(getattr(v, name))
        dut.align.value = align_shift(v.b_w, v.b_a, self.p.spec)
        dut.res_en.value = int(v.res_en)
        dut.mode.value = self.p.out_modes[v.mode]
        await Timer(1, "ns")


class OutputUnitMonitor:
    def __init__(self, dut, params: DutParams):
        self.dut, self.p = dut, params

    def sample(self) -> tuple[int, int]:
        return self.dut.y.value.to_signed(), int(self.dut.clamped.value)
